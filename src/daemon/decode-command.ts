import { describeTlv, tryParseTlv } from '../emv/index.js';
import {
  Iso8583Error,
  dialectFraming,
  listDialects,
  loadDialect,
  unframe,
  type Framing,
} from '../iso8583/index.js';

export interface DecodeOptions {
  dialect: string;
  /** Override the dialect's length header ("none" when the hex has no length header). */
  lengthHeader?: Framing['lengthHeader'];
  /** "none" when the hex starts at the MTI. */
  tpdu?: string | null;
  header?: string | null;
}

export const LENGTH_HEADERS = ['none', '2-byte-binary', '2-byte-bcd', '4-byte-ascii'] as const;

/**
 * A BER-TLV field (55) tag by tag, through the EMV layer's masking (describeTlv: sensitive tags such as
 * 5A, 57, 5F24 and opaque containers show only their length) with the explainers (TVR, TSI, CID, CVM
 * results, terminal capabilities) under their values.
 */
export function renderBerTlv(bytes: Buffer): string {
  const parsed = tryParseTlv(bytes);
  if (!parsed.ok) return `<${bytes.length} bytes, not BER-TLV: ${parsed.error.message}>`;
  const tags = describeTlv(parsed.elements, { explain: true })
    .split('\n')
    .map((l) => `        ${l}`)
    .join('\n');
  return `${bytes.length} bytes BER-TLV, ${parsed.elements.length} tag${parsed.elements.length === 1 ? '' : 's'}:\n${tags}`;
}

/** Which option may fit a rejected frame (the message says what was wrong; this, what to try). */
function hintFor(e: Iso8583Error, options: DecodeOptions): string | undefined {
  const noLengthHeader = options.lengthHeader === 'none';
  switch (e.code) {
    case 'length_header_mismatch':
    case 'frame_too_large':
      return noLengthHeader
        ? undefined
        : 'if the hex has no length header (it starts at the TPDU), add --length-header none';
    case 'frame_too_short':
      return 'is the hex complete? with no length header, TPDU or header, add --length-header none --no-tpdu --no-header';
    case 'bad_mti':
    case 'bad_bitmap':
    case 'field_data_short':
    case 'trailing_bytes':
      return noLengthHeader && options.tpdu === null && options.header === null
        ? `is it a ${options.dialect} message? posbridge dialects lists the others (--dialect <name>)`
        : 'the framing may not fit: --length-header none, --no-tpdu, --no-header (or --header <hex>) set where the message starts';
    case 'unknown_dialect':
      return `posbridge dialects lists them (${listDialects().join(', ')})`;
    default:
      return undefined;
  }
}

/** Decodes a hex frame and returns the masked description, or a typed error's safe message and a hint. */
export function decodeHex(hex: string, options: DecodeOptions): { ok: boolean; text: string } {
  const clean = hex.replace(/\s+/g, '');
  if (!/^([0-9A-Fa-f]{2})+$/.test(clean))
    return { ok: false, text: 'input is not an even number of hex digits' };
  try {
    const d = loadDialect(options.dialect);
    const framing = dialectFraming(d, {
      ...(options.lengthHeader ? { lengthHeader: options.lengthHeader } : {}),
      ...(options.tpdu !== undefined ? { tpdu: options.tpdu } : {}),
      ...(options.header !== undefined ? { header: options.header } : {}),
    });
    const { body, tpdu, header } = unframe(Buffer.from(clean, 'hex'), framing);
    const lines: string[] = [];
    if (tpdu) lines.push(`TPDU id ${tpdu.id} destination ${tpdu.destination} source ${tpdu.source}`);
    if (header)
      lines.push(
        `Header ${header.raw.toString('hex').toUpperCase()}${header.flags.length ? ` flags: ${header.flags.join(', ')}` : ''}`,
      );
    lines.push(d.describe(d.unpack(body), { renderContent: { 'ber-tlv': renderBerTlv } }));
    return { ok: true, text: lines.join('\n') };
  } catch (e) {
    if (e instanceof Iso8583Error) {
      const hint = hintFor(e, options);
      return { ok: false, text: hint ? `${e.message}: ${hint}` : e.message };
    }
    throw e;
  }
}

export function dialectNames(): string[] {
  return listDialects();
}
