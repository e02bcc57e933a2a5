/**
 * One-shot DES/3DES helpers over whole 8-byte blocks (padding off). Key length picks the cipher:
 * 8 bytes single DES, 16 bytes two-key 3DES (K1|K2|K1), 24 bytes three-key 3DES. For repeated use,
 * prepare the key once with `DesKey.from()` and call its methods instead.
 */
import { DesKey, type KeyInput } from './des-key.js';

export function desEcbEncrypt(key: KeyInput, data: Uint8Array): Buffer {
  return DesKey.from(key).encryptEcb(data);
}

export function desEcbDecrypt(key: KeyInput, data: Uint8Array): Buffer {
  return DesKey.from(key).decryptEcb(data);
}

/** CBC with IV zero unless `iv` is given. */
export function desCbcEncrypt(key: KeyInput, data: Uint8Array, iv?: Uint8Array): Buffer {
  return DesKey.from(key).encryptCbc(data, iv);
}

/** CBC with IV zero unless `iv` is given. */
export function desCbcDecrypt(key: KeyInput, data: Uint8Array, iv?: Uint8Array): Buffer {
  return DesKey.from(key).decryptCbc(data, iv);
}
