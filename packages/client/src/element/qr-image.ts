/**
 * A QR code as one SVG path (the dark modules as unit squares), drawn from the `qrcode` package's
 * matrix (`create`, synchronous, no canvas): the element renders scan-to-pay QRs itself, so a CRM page
 * needs no image service. Bundled into dist/browser/posbridge-pay.js like lit.
 */
import { create } from 'qrcode';

export interface QrImage {
  /** Modules per side, without the quiet zone. */
  size: number;
  /** SVG path data: `M x y h1v1h-1z` per dark module, offset by the quiet zone. */
  path: string;
  /** Modules per side with the quiet zone: the viewBox. */
  extent: number;
}

/** Error correction M (15 %): the level payment QRs (Alipay, WeChat Pay code URLs) are usually shown at. */
export function qrImage(content: string, quietZone = 2): QrImage {
  const { modules } = create(content, { errorCorrectionLevel: 'M' });
  const size = modules.size;
  let path = '';
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      if (modules.get(y, x)) path += `M${x + quietZone} ${y + quietZone}h1v1h-1z`;
  return { size, path, extent: size + 2 * quietZone };
}
