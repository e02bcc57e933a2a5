/**
 * The cardholder's signature as the CRM sends it (`payment.signature {svg | png}`): checked, measured
 * and kept as received. At most 128 KiB as sent (the SVG text's UTF-8 bytes, the PNG's base64 text):
 * well below the 256 KiB frame limit.
 */
import { createHash } from 'node:crypto';
import { encodeTlv, tlv } from '../../emv/index.js';
import { encodeText } from '../../iso8583/index.js';
import { EngineError } from '../errors.js';
import { localDateTime } from './receipt.js';
import { MAX_PNG_PIXELS, MAX_PNG_SIDE, pngHeader } from './signature-image.js';

export const MAX_SIGNATURE_BYTES = 128 * 1024;

export interface SignatureInput {
  svg?: string | undefined;
  /** Base64, optionally as a `data:image/png;base64,` URI. */
  png?: string | undefined;
}

export interface ParsedSignature {
  format: 'svg' | 'png';
  /** The SVG as UTF-8, or the PNG's bytes. */
  image: Buffer;
  sha256: string;
}

/** Things an SVG used as a signature has no business containing (it is shown only as an `<img>` anyway). */
const SVG_FORBIDDEN: readonly RegExp[] = [
  /<script/i,
  /<foreignObject/i,
  /<iframe/i,
  /<!ENTITY/i,
  /<!DOCTYPE/i,
  /\son[a-z]+\s*=/i,
  /javascript:/i,
  /href\s*=\s*["']\s*(?!#)/i,
];

const invalid = (path: string, message: string): EngineError =>
  new EngineError('signature_invalid', message, { path });

/** Checks a signature and returns it as kept; throws `signature_too_large` or `signature_invalid`. */
export function parseSignature(input: SignatureInput): ParsedSignature {
  const given = [input.svg, input.png].filter((v) => v !== undefined).length;
  if (given !== 1) throw new EngineError('invalid_request', 'give exactly one of svg, png', { path: 'svg' });
  if (input.svg !== undefined) {
    const image = Buffer.from(input.svg, 'utf8');
    if (image.length > MAX_SIGNATURE_BYTES)
      throw new EngineError(
        'signature_too_large',
        `the signature is ${image.length} bytes; at most ${MAX_SIGNATURE_BYTES} are kept`,
        { path: 'svg' },
      );
    if (!/<svg[\s>]/i.test(input.svg)) throw invalid('svg', 'not an SVG document');
    if (SVG_FORBIDDEN.some((re) => re.test(input.svg!)))
      throw invalid('svg', 'an SVG signature may hold drawing elements only (no scripts, handlers or links)');
    return { format: 'svg', image, sha256: sha256(image) };
  }
  const text = input.png!;
  if (text.length > MAX_SIGNATURE_BYTES)
    throw new EngineError(
      'signature_too_large',
      `the signature is ${text.length} bytes of base64; at most ${MAX_SIGNATURE_BYTES} are kept`,
      { path: 'png' },
    );
  const b64 = text.replace(/^data:image\/png;base64,/i, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw invalid('png', 'not base64');
  const image = Buffer.from(b64, 'base64');
  const h = pngHeader(image);
  if (!h) throw invalid('png', 'not a PNG image');
  if (h.width > MAX_PNG_SIDE || h.height > MAX_PNG_SIDE || h.width * h.height > MAX_PNG_PIXELS)
    throw invalid('png', `at most ${MAX_PNG_SIDE} x ${MAX_PNG_SIDE} pixels`);
  return { format: 'png', image, sha256: sha256(image) };
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** GBK bytes of `text`, whole characters only, at most `max` bytes (characters GBK lacks are left out). */
function gbk(text: string, max: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  for (const ch of text) {
    const b = encodeText(ch, 'gbk');
    if (!b) continue;
    if (n + b.length > max) break;
    parts.push(b);
    n += b.length;
  }
  return Buffer.concat(parts);
}

/** `YYYYMMDDhhmmss` in the receipt's time zone, as 7 BCD bytes. */
function bcdDateTime(at: Date, timeZone: string | undefined): Buffer {
  const { date, time } = localDateTime(at, timeZone);
  return Buffer.from(`${date}${time}`.replace(/\D/g, ''), 'hex');
}

/**
 * The e-signature TLV (cup-pos field 55 of the 0920): UnionPay's private two-byte tags, read back with
 * `parseTlv(bytes, { privateTags: 'primitive' })`: FF00 the merchant name (GBK, at most 40 bytes), FF01
 * the transaction name (GBK, e.g. 消费), FF06 the transaction's local date and time (BCD
 * YYYYMMDDhhmmss).
 */
export function esignTlv(facts: {
  merchantName?: string | undefined;
  transactionName: string;
  at: Date;
  timeZone?: string | undefined;
}): Buffer {
  const items = [];
  const name = facts.merchantName ? gbk(facts.merchantName, 40) : Buffer.alloc(0);
  if (name.length) items.push(tlv('FF00', name));
  items.push(tlv('FF01', gbk(facts.transactionName, 20)));
  items.push(tlv('FF06', bcdDateTime(facts.at, facts.timeZone)));
  return encodeTlv(items);
}
