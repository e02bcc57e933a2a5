/**
 * Message authentication codes used on POS links. All pad with ISO/IEC 9797-1 padding method 1 (zero
 * bytes up to a multiple of 8, nothing when already aligned).
 *
 * - `cupEcbMac`: the UnionPay POS "ECB" MAC (terminal code calls it CalMAC). XOR all 8-byte blocks of
 *   the padded data -> R; H = 16 uppercase ASCII hex characters of R; E1 = Enc(MAK, H[0..8]);
 *   E2 = Enc(MAK, E1 XOR H[8..16]); the MAC is the first 8 uppercase ASCII hex characters of E2, and
 *   those 8 ASCII bytes are field 64. The two encryptions are CBC over H, which is how it is computed.
 *   Data = the message from the MTI through the end of field 63. An 8-byte MAK is single DES, a
 *   16-byte MAK two-key 3DES.
 * - `x99Mac`: ANSI X9.9 = ISO 9797-1 MAC algorithm 1 with single DES (8-byte key).
 * - `x919Mac`: ANSI X9.19 retail MAC = ISO 9797-1 MAC algorithm 3: CBC single DES with K over all
 *   blocks, then decrypt with K' and encrypt with K (16-byte key K|K').
 * - `tdesCbcMac`: ISO 9797-1 algorithm 1 with 3DES as the block cipher (16- or 24-byte key), the
 *   variant some acquirers loosely call "X9.19"; it differs from algorithm 3 for multi-block data.
 * - `iso9797Alg1Mac`: algorithm 1 with whatever key length is given (X9.9 for 8 bytes, 3DES CBC-MAC
 *   for 16/24 bytes).
 */
import { hexAscii, xorInto } from './bytes.js';
import { DES_BLOCK, DesKey, type KeyInput } from './des-key.js';
import { CryptoError } from './errors.js';
import { padIso9797Method1 } from './padding.js';

/**
 * MAC algorithms a security module can be configured with:
 * - `cup-ecb`: UnionPay POS ECB MAC, 8 ASCII hex bytes (MAK 8 or 16 bytes).
 * - `x9.19`: ISO 9797-1 algorithm 3, 8 binary bytes (MAK must be 16 bytes).
 * - `x9.9`: ISO 9797-1 algorithm 1, 8 binary bytes; with an 8-byte MAK this is ANSI X9.9 proper, with
 *   a 16-byte MAK it is the 3DES CBC-MAC.
 */
export type MacAlgorithm = 'cup-ecb' | 'x9.19' | 'x9.9';

export const MAC_ALGORITHMS: readonly MacAlgorithm[] = ['cup-ecb', 'x9.19', 'x9.9'];

export function isMacAlgorithm(value: unknown): value is MacAlgorithm {
  return typeof value === 'string' && (MAC_ALGORITHMS as readonly string[]).includes(value);
}

/** UnionPay POS ECB MAC: the 8 ASCII bytes that go into field 64. */
export function cupEcbMac(mak: KeyInput, data: Uint8Array): Buffer {
  const key = DesKey.from(mak, 'mak');
  requireLength(key, [8, 16], 'cup-ecb');
  const h = hexAscii(xorBlocks(data));
  return hexAscii(key.cbcMac(h), 4);
}

/** Every intermediate value of `cupEcbMac`, computed step by step (for tests and acquirer debugging). */
export interface CupEcbMacTrace {
  xorBlock: Buffer;
  hexAscii: Buffer;
  e1: Buffer;
  e1XorSecondHalf: Buffer;
  e2: Buffer;
  /** The field 64 bytes (8 ASCII hex characters). */
  mac: Buffer;
}

export function cupEcbMacTrace(mak: KeyInput, data: Uint8Array): CupEcbMacTrace {
  const key = DesKey.from(mak, 'mak');
  requireLength(key, [8, 16], 'cup-ecb');
  const xorBlock = xorBlocks(data);
  const h = hexAscii(xorBlock);
  const e1 = key.encryptEcb(h.subarray(0, 8));
  const e1XorSecondHalf = Buffer.from(e1);
  xorInto(e1XorSecondHalf, h, 8, 0, 8);
  const e2 = key.encryptEcb(e1XorSecondHalf);
  return { xorBlock, hexAscii: h, e1, e1XorSecondHalf, e2, mac: hexAscii(e2, 4) };
}

/** ANSI X9.9 (ISO 9797-1 algorithm 1, single DES): 8 bytes. */
export function x99Mac(key: KeyInput, data: Uint8Array): Buffer {
  const k = DesKey.from(key, 'mak');
  requireLength(k, [8], 'x9.9 (single DES)');
  return k.cbcMac(padIso9797Method1(data));
}

/** ISO 9797-1 algorithm 1 with the key as given (8, 16 or 24 bytes): 8 bytes. */
export function iso9797Alg1Mac(key: KeyInput, data: Uint8Array): Buffer {
  return DesKey.from(key, 'mak').cbcMac(padIso9797Method1(data));
}

/** 3DES CBC-MAC (ISO 9797-1 algorithm 1 with two- or three-key 3DES): 8 bytes. */
export function tdesCbcMac(key: KeyInput, data: Uint8Array): Buffer {
  const k = DesKey.from(key, 'mak');
  requireLength(k, [16, 24], '3DES CBC-MAC');
  return k.cbcMac(padIso9797Method1(data));
}

/** ANSI X9.19 retail MAC (ISO 9797-1 algorithm 3) with a 16-byte key K|K': 8 bytes. */
export function x919Mac(key: KeyInput, data: Uint8Array): Buffer {
  const k = DesKey.from(key, 'mak');
  requireLength(k, [16], 'x9.19');
  const padded = padIso9797Method1(data);
  const n = padded.length;
  const last = Buffer.from(padded.subarray(n - DES_BLOCK));
  if (n > DES_BLOCK) xorInto(last, k.leftHalf().cbcMac(padded.subarray(0, n - DES_BLOCK)));
  // Final block: E_K(D_K'(E_K(x))) is one 3DES-EDE encryption under K|K'|K.
  return k.encryptEcb(last);
}

/** Computes the MAC `algorithm` prescribes. */
export function computeMac(algorithm: MacAlgorithm, key: KeyInput, data: Uint8Array): Buffer {
  switch (algorithm) {
    case 'cup-ecb':
      return cupEcbMac(key, data);
    case 'x9.19':
      return x919Mac(key, data);
    case 'x9.9':
      return iso9797Alg1Mac(key, data);
    default:
      throw new CryptoError('bad_algorithm', 'unknown MAC algorithm', {
        expected: MAC_ALGORITHMS.join(', '),
        actual: String(algorithm as unknown),
      });
  }
}

/** MAK lengths each algorithm accepts. */
export function macKeyLengths(algorithm: MacAlgorithm): readonly number[] {
  switch (algorithm) {
    case 'cup-ecb':
      return [8, 16];
    case 'x9.19':
      return [16];
    case 'x9.9':
      return [8, 16, 24];
    default:
      throw new CryptoError('bad_algorithm', 'unknown MAC algorithm', {
        actual: String(algorithm as unknown),
      });
  }
}

/** XOR of all 8-byte blocks of `data` zero-padded to a multiple of 8 (padding zeros change nothing). */
function xorBlocks(data: Uint8Array): Buffer {
  const r = Buffer.alloc(DES_BLOCK);
  const n = data.length;
  let i = 0;
  for (; i + DES_BLOCK <= n; i += DES_BLOCK) {
    r[0] = (r[0] as number) ^ (data[i] as number);
    r[1] = (r[1] as number) ^ (data[i + 1] as number);
    r[2] = (r[2] as number) ^ (data[i + 2] as number);
    r[3] = (r[3] as number) ^ (data[i + 3] as number);
    r[4] = (r[4] as number) ^ (data[i + 4] as number);
    r[5] = (r[5] as number) ^ (data[i + 5] as number);
    r[6] = (r[6] as number) ^ (data[i + 6] as number);
    r[7] = (r[7] as number) ^ (data[i + 7] as number);
  }
  for (let j = 0; i < n; i++, j++) r[j] = (r[j] as number) ^ (data[i] as number);
  return r;
}

function requireLength(key: DesKey, allowed: readonly number[], what: string): void {
  if (!allowed.includes(key.length)) {
    throw new CryptoError('bad_key_length', `${what} needs a ${allowed.join(' or ')}-byte key`, {
      key: key.role,
      expected: allowed.join(' or '),
      actual: key.length,
    });
  }
}
