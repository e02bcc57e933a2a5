/**
 * Packed BCD as ZVT uses it (spec15 §13): two digits per byte, high nibble first. Card numbers also use
 * the nibbles E (masked digit), D (separator) and F (padding), so the generic helpers work on nibble
 * strings; the strict ones accept 0–9 only.
 */
import { ZvtError, type ZvtErrorDetails } from './errors.js';

/** Upper-case nibbles of `bytes` (`09 78` → `0978`). */
export function nibbles(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** Packs a string of hex nibbles (even length) into bytes. */
export function packNibbles(s: string, where: ZvtErrorDetails = {}): Buffer {
  if (!/^(?:[0-9A-Fa-f]{2})*$/.test(s))
    throw new ZvtError('bad_bcd', 'nibble string of odd length or not hex', where);
  return Buffer.from(s, 'hex');
}

/** Decimal digits packed right-aligned into `bytes` bytes, left-padded with zeros. */
export function encodeBcd(digits: string | number, bytes: number, where: ZvtErrorDetails = {}): Buffer {
  const s = typeof digits === 'number' ? String(digits) : digits;
  if (!/^[0-9]*$/.test(s)) throw new ZvtError('bad_bcd', 'BCD value must be decimal digits', where);
  if (s.length > bytes * 2) throw new ZvtError('bad_bcd', `more than ${bytes * 2} digits`, where);
  return Buffer.from(s.padStart(bytes * 2, '0'), 'hex');
}

/** The decimal digits of a packed BCD value; throws if a nibble is not 0–9. */
export function decodeBcd(bytes: Uint8Array, where: ZvtErrorDetails = {}): string {
  const s = nibbles(bytes);
  if (!/^[0-9]*$/.test(s)) throw new ZvtError('bad_bcd', 'BCD value holds a nibble above 9', where);
  return s;
}

export function isBcd(bytes: Uint8Array): boolean {
  return /^[0-9]*$/.test(nibbles(bytes));
}

/** Amount BMP 04: 12 digits, minor units. */
export function encodeAmount(minor: number): Buffer {
  if (!Number.isSafeInteger(minor) || minor < 0 || minor > 999_999_999_999)
    throw new ZvtError('bad_value', 'amount must be an integer 0..999999999999 (minor units)', { bmp: '04' });
  return encodeBcd(minor, 6, { bmp: '04' });
}

export function decodeAmount(bytes: Uint8Array): number {
  return Number(decodeBcd(bytes, { bmp: '04' }));
}

/** The 6-digit password as 3 BCD bytes (spec15 §1.2: 123456 → 12 34 56). */
export function encodePassword(password: string): Buffer {
  if (!/^[0-9]{6}$/.test(password))
    throw new ZvtError('bad_config', 'the ZVT password must be exactly 6 digits', { path: 'password' });
  return encodeBcd(password, 3);
}

/** ISO 4217 numeric currency (`978`) as BMP 49's 2 BCD bytes (`09 78`). */
export function encodeCurrency(numeric: string): Buffer {
  if (!/^[0-9]{1,4}$/.test(numeric))
    throw new ZvtError('bad_value', 'currency must be an ISO 4217 numeric code', { bmp: '49' });
  return encodeBcd(numeric, 2, { bmp: '49' });
}

/** BMP 49 back to the 3-digit ISO code (`09 78` → `978`). */
export function decodeCurrency(bytes: Uint8Array): string {
  return decodeBcd(bytes, { bmp: '49' }).replace(/^0(?=\d{3}$)/, '');
}

/** The LL / LLL prefix: each length digit as F0–F9 (spec16 §5.2.8: F1 F2 = 12 bytes). */
export function encodeVarLength(length: number, digits: 2 | 3, where: ZvtErrorDetails = {}): Buffer {
  const max = digits === 2 ? 99 : 999;
  if (!Number.isInteger(length) || length < 0 || length > max)
    throw new ZvtError('bad_length', `variable length ${length} above ${max}`, where);
  return Buffer.from([...String(length).padStart(digits, '0')].map((d) => 0xf0 | Number(d)));
}

/** Reads an LL / LLL prefix at `offset`; undefined if the bytes are not F0–F9 digits. */
export function decodeVarLength(buf: Uint8Array, offset: number, digits: 2 | 3): number | undefined {
  if (offset + digits > buf.length) return undefined;
  let n = 0;
  for (let i = 0; i < digits; i++) {
    const b = buf[offset + i]!;
    if (b < 0xf0 || b > 0xf9) return undefined;
    n = n * 10 + (b & 0x0f);
  }
  return n;
}
