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
