/**
 * UnionPay magnetic-track encryption with the track data key (TDK), for the reader and host
 * simulators. The track is taken as its nibble string (digits, `D` separator; `=` is read as `D`),
 * packed two nibbles a byte (an odd count gets an `F` pad nibble). The track data block (TDB) is the
 * 8 bytes that end just before the last byte; only the TDB is encrypted (ECB under the TDK) and
 * written back, so the leading PAN digits and the final byte stay clear. This matches the swipe sample
 * in test/vectors/cup-pos.json (cup-jiso-0200-swipe-sale-req): for F35 and F36 the only A-F nibbles
 * sit in bytes [n-9, n-1).
 *
 * Input and output are `SensitiveBytes` holding the ASCII nibble characters (uppercase on output),
 * the form the ISO 8583 codec carries for z fields. Tracks shorter than 9 bytes (17 nibbles) are
 * rejected with `bad_track`.
 */
import { SensitiveBytes } from '../card/index.js';
import { clearCopy, type BytesInput } from './bytes.js';
import { DesKey, type KeyInput } from './des-key.js';
import { CryptoError } from './errors.js';

const HEX = '0123456789ABCDEF';

export function encryptTrackData(tdk: KeyInput, track: BytesInput): SensitiveBytes {
  return transform(DesKey.from(tdk, 'tdk'), track, true);
}

export function decryptTrackData(tdk: KeyInput, track: BytesInput): SensitiveBytes {
  return transform(DesKey.from(tdk, 'tdk'), track, false);
}

function transform(key: DesKey, track: BytesInput, encrypt: boolean): SensitiveBytes {
  const chars = clearCopy(track);
  const n = chars.length;
  const byteLen = (n + 1) >> 1;
  const packed = Buffer.alloc(byteLen, 0xff);
  const out = Buffer.alloc(n);
  try {
    if (byteLen < 9) {
      throw new CryptoError('bad_track', 'track data must be at least 17 nibbles', {
        expected: '>= 17',
        actual: n,
      });
    }
    for (let i = 0; i < n; i++) {
      const nib = nibbleOf(chars[i] as number);
      const at = i >> 1;
      packed[at] = i % 2 === 0 ? (nib << 4) | 0x0f : ((packed[at] as number) & 0xf0) | nib;
    }
    const tdb = packed.subarray(byteLen - 9, byteLen - 1);
    const done = encrypt ? key.encryptEcb(tdb) : key.decryptEcb(tdb);
    done.copy(packed, byteLen - 9);
    done.fill(0);
    for (let i = 0; i < n; i++) {
      const byte = packed[i >> 1] as number;
      out[i] = HEX.charCodeAt(i % 2 === 0 ? byte >> 4 : byte & 0x0f);
    }
    return SensitiveBytes.from(out, 'track');
  } finally {
    chars.fill(0);
    packed.fill(0);
    out.fill(0);
  }
}

function nibbleOf(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c === 0x3d) return 0x0d; // '=' separator
  throw new CryptoError('bad_track', 'track data must be hex nibble characters (digits, D or = separator)');
}
