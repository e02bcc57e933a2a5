/**
 * The ZVT serial CRC (spec16 §3.3): CRC-16 with the reflected polynomial 0x8408 (x^16+x^12+x^5+1),
 * init 0x0000, no final XOR, i.e. CRC-16/KERMIT. It runs over the un-doubled APDU followed by ETX and
 * goes on the wire low byte first. The spec calls it "CRC-XModem"; a non-reflected XMODEM CRC matches
 * none of the captured frames (protocols/zvt/NOTES.md).
 */
const TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-16/KERMIT of `bytes`, continuing from `crc` (default 0). Check value of "123456789": 0x2189. */
export function crc16(bytes: Uint8Array, crc = 0): number {
  let c = crc & 0xffff;
  for (const b of bytes) c = (c >>> 8) ^ TABLE[(c ^ b) & 0xff]!;
  return c;
}

/** The two CRC bytes of a frame (low byte first) for an APDU: CRC over APDU + ETX. */
export function frameCrc(apdu: Uint8Array): Buffer {
  const c = crc16(Uint8Array.of(0x03), crc16(apdu));
  return Buffer.from([c & 0xff, c >>> 8]);
}
