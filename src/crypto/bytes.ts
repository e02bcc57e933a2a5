/** Small byte helpers shared inside src/crypto (not part of the public API). */
import { timingSafeEqual } from 'node:crypto';
import { SensitiveBytes } from '../card/index.js';

/** Key or data bytes as callers hold them: plain bytes, or `SensitiveBytes` for anything secret. */
export type BytesInput = Uint8Array | SensitiveBytes;

/** A fresh Buffer with the clear bytes of `input`; the caller owns it and should wipe it after use. */
export function clearCopy(input: BytesInput): Buffer {
  return SensitiveBytes.isSensitive(input) ? input.reveal() : Buffer.from(input);
}

/** The clear bytes of `input` without copying when it is already a Buffer (read-only use). */
export function viewOf(input: BytesInput): { bytes: Buffer; owned: boolean } {
  if (SensitiveBytes.isSensitive(input)) return { bytes: input.reveal(), owned: true };
  if (Buffer.isBuffer(input)) return { bytes: input, owned: false };
  return { bytes: Buffer.from(input.buffer, input.byteOffset, input.byteLength), owned: false };
}

/** target[tOff + i] ^= src[sOff + i] for i in 0..len. */
export function xorInto(target: Buffer, src: Uint8Array, len = 8, tOff = 0, sOff = 0): void {
  for (let i = 0; i < len; i++) target[tOff + i] = (target[tOff + i] as number) ^ (src[sOff + i] as number);
}

const HEX_UPPER = Buffer.from('0123456789ABCDEF', 'latin1');

/** Uppercase ASCII hex of `bytes` as bytes (two ASCII characters per byte). */
export function hexAscii(bytes: Uint8Array, count = bytes.length): Buffer {
  const out = Buffer.allocUnsafe(count * 2);
  for (let i = 0; i < count; i++) {
    const b = bytes[i] as number;
    out[2 * i] = HEX_UPPER[b >> 4] as number;
    out[2 * i + 1] = HEX_UPPER[b & 15] as number;
  }
  return out;
}

/** Constant-time equality for equal lengths; different lengths compare unequal (lengths are public). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
