/**
 * ISO/IEC 9797-1 padding method 1: append zero bytes up to a multiple of 8. Nothing is added when the
 * length already is a (positive) multiple of 8; empty data becomes one block of zeros.
 * Returns `data` itself when no padding is needed, else a new Buffer.
 */
export function padIso9797Method1(data: Uint8Array, block = 8): Buffer {
  const rem = data.length % block;
  if (data.length > 0 && rem === 0) {
    return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  const out = Buffer.alloc(data.length + (data.length === 0 ? block : block - rem));
  out.set(data, 0);
  return out;
}
