/**
 * Check bytes for reader frames. Both are computed over the same span (see docs/reader-protocol.md):
 * - `lrc`: XOR of every byte, one byte;
 * - `crc16`: CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR), two bytes
 *   big-endian. Check value of ASCII "123456789": 0x29B1.
 */
export type CheckKind = 'none' | 'lrc' | 'crc16';

export const CHECK_KINDS: readonly CheckKind[] = ['none', 'lrc', 'crc16'];

export function checkLength(kind: CheckKind): 0 | 1 | 2 {
  return kind === 'crc16' ? 2 : kind === 'lrc' ? 1 : 0;
}

export function lrc(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let x = 0;
  for (let i = start; i < end; i++) x ^= bytes[i]!;
  return x;
}

const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** Writes the check of `buf[start, end)` at `buf[end]` (and `buf[end + 1]` for crc16). */
export function writeCheck(kind: CheckKind, buf: Buffer, start: number, end: number): void {
  if (kind === 'lrc') buf[end] = lrc(buf, start, end);
  else if (kind === 'crc16') buf.writeUInt16BE(crc16(buf, start, end), end);
}

/** True when the check at `buf[end]` matches `buf[start, end)`. */
export function verifyCheck(kind: CheckKind, buf: Uint8Array, start: number, end: number): boolean {
  if (kind === 'lrc') return buf[end] === lrc(buf, start, end);
  if (kind === 'crc16') return ((buf[end]! << 8) | buf[end + 1]!) === crc16(buf, start, end);
  return true;
}
