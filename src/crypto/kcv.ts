/**
 * Key check values: ECB encryption of eight zero bytes under the key, leftmost 3 or 4 bytes
 * (UnionPay sign-on field 62 carries 4 bytes; many HSMs display 3). Works for single, double and
 * triple length keys. A check value identifies a key without revealing it.
 */
import { DesKey, type KeyInput } from './des-key.js';

export type KcvLength = 3 | 4;

export function keyCheckValue(key: KeyInput, bytes: number = 4): Buffer {
  return DesKey.from(key).checkValue(bytes);
}

/** Uppercase hex of the check value, e.g. "D5D44FF7". */
export function keyCheckValueHex(key: KeyInput, bytes: number = 4): string {
  return keyCheckValue(key, bytes).toString('hex').toUpperCase();
}

/**
 * Check values as logs show them: the first 4 hex digits of each. Enough for an operator to match a key
 * against its HSM print-out; a full check value is a known-plaintext pair for the key, so it stays out of
 * logs (PCI DSS 4.0 3.6).
 */
export function kcvForLog(kcv: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(kcv)) if (typeof v === 'string' && v) out[k] = `${v.slice(0, 4)}…`;
  return out;
}
