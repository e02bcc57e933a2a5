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

/** Decodes a hex frame and returns the masked description, or a typed error's safe message. */
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
    lines.push(d.describe(d.unpack(body)));
    return { ok: true, text: lines.join('\n') };
  } catch (e) {
    if (e instanceof Iso8583Error) return { ok: false, text: e.message };
    throw e;
  }
}

export function dialectNames(): string[] {
  return listDialects();
}
