/**
 * EMV application cryptogram MAC and the issuer's answer to it (EMV 4.3 Book 2 A1.2 and 8.2):
 *
 * - Application cryptogram (ARQC, TC, AAC): ISO/IEC 9797-1 MAC algorithm 3 (single-DES CBC with SK's
 *   left half, last block 3DES with SK) over the data padded with ISO 9797-1 method 2 (80 00..., EMV
 *   and PBOC) or method 1 (zeros, only when not aligned: Visa CVN 10): 8 bytes.
 * - ARPC method 1 (A1.2.1 / 8.2.1): ARPC = 3DES_SK(ARQC XOR (ARC || 00 × 6)); the ARC is two binary
 *   bytes (a host usually sends its response code's two ASCII characters). Tag 91 = ARPC (8) || ARC (2).
 * - ARPC method 2 (A1.2.2 / 8.2.2): ARPC = the leftmost 4 bytes of MAC algorithm 3 (method 2 padding)
 *   over ARQC (8) || CSU (4) || proprietary authentication data (0-8). Tag 91 = ARPC (4) || CSU (4) ||
 *   proprietary data.
 *
 * Verification compares in constant time and never throws: an altered tag 91 (wrong length, any
 * flipped bit) is simply `false`, so a card sets "issuer authentication failed" instead of crashing.
 */
import { constantTimeEqual } from './bytes.js';
import { DES_BLOCK, type KeyInput } from './des-key.js';
import { CryptoError } from './errors.js';
import { x919Mac } from './mac.js';

/** ISO/IEC 9797-1 padding of the cryptogram input: method 2 (EMV, PBOC) or method 1 (Visa CVN 10). */
export type AcPadding = 'method-1' | 'method-2';
export type ArpcMethod = 1 | 2;

export const ARQC_LENGTH = 8;
export const CSU_LENGTH = 4;
export const MAX_PROPRIETARY_AUTH_DATA = 8;

function padMethod2(data: Uint8Array): Buffer {
  const out = Buffer.alloc((Math.floor(data.length / DES_BLOCK) + 1) * DES_BLOCK);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

/** ISO 9797-1 algorithm 3 with the session key over the padded data: the 8-byte cryptogram. */
export function applicationCryptogram(
  sessionKey: KeyInput,
  data: Uint8Array,
  padding: AcPadding = 'method-2',
): Buffer {
  // x919Mac pads with method 1 itself; method-2-padded data is already block-aligned.
  return x919Mac(sessionKey, padding === 'method-2' ? padMethod2(data) : data);
}

function checkLength(value: Uint8Array, length: number, what: string): void {
  if (value.length !== length)
    throw new CryptoError('bad_data', `the ${what} is ${length} bytes`, {
      expected: length,
      actual: value.length,
      reason: what,
    });
}

/** ARPC method 1 over a binary ARC (2 bytes): 8 bytes. */
export function arpcMethod1(sessionKey: KeyInput, arqc: Uint8Array, arc: Uint8Array): Buffer {
  checkLength(arqc, ARQC_LENGTH, 'ARQC');
  checkLength(arc, 2, 'ARC');
  const y = Buffer.from(arqc);
  y[0] = y[0]! ^ arc[0]!;
  y[1] = y[1]! ^ arc[1]!;
  return x919Mac(sessionKey, y);
}

/** ARPC method 2: 4 bytes over ARQC || CSU || proprietary authentication data (0-8 bytes). */
export function arpcMethod2(
  sessionKey: KeyInput,
  arqc: Uint8Array,
  csu: Uint8Array,
  proprietary: Uint8Array = Buffer.alloc(0),
): Buffer {
  checkLength(arqc, ARQC_LENGTH, 'ARQC');
  checkLength(csu, CSU_LENGTH, 'CSU');
  if (proprietary.length > MAX_PROPRIETARY_AUTH_DATA)
    throw new CryptoError('bad_data', 'proprietary authentication data is at most 8 bytes', {
      expected: `0-${MAX_PROPRIETARY_AUTH_DATA}`,
      actual: proprietary.length,
      reason: 'proprietary',
    });
  return applicationCryptogram(sessionKey, Buffer.concat([arqc, csu, proprietary])).subarray(0, 4);
}

/** What the issuer answers with: the ARC (method 1) or the CSU and proprietary data (method 2). */
export type IssuerAuthenticationInput =
  { method: 1; arc: Uint8Array } | { method: 2; csu: Uint8Array; proprietary?: Uint8Array };

/** The value of tag 91 for an ARQC. Throws `CryptoError` (bad_data) for wrong lengths. */
export function issuerAuthenticationData(
  sessionKey: KeyInput,
  arqc: Uint8Array,
  input: IssuerAuthenticationInput,
): Buffer {
  if (input.method === 1) return Buffer.concat([arpcMethod1(sessionKey, arqc, input.arc), input.arc]);
  const proprietary = input.proprietary ?? Buffer.alloc(0);
  return Buffer.concat([arpcMethod2(sessionKey, arqc, input.csu, proprietary), input.csu, proprietary]);
}

/**
 * Card side: does tag 91 authenticate the issuer for this ARQC under `method`? False, never a throw,
 * for any value that is not exactly what the issuer computes (wrong length, other ARC/CSU/ARPC bytes).
 */
export function verifyIssuerAuthenticationData(
  method: ArpcMethod,
  sessionKey: KeyInput,
  arqc: Uint8Array,
  iad: Uint8Array,
): boolean {
  if (arqc.length !== ARQC_LENGTH) return false;
  try {
    if (method === 1) {
      if (iad.length !== 10) return false;
      return constantTimeEqual(arpcMethod1(sessionKey, arqc, iad.subarray(8, 10)), iad.subarray(0, 8));
    }
    if (iad.length < 8 || iad.length > 8 + MAX_PROPRIETARY_AUTH_DATA) return false;
    const expected = arpcMethod2(sessionKey, arqc, iad.subarray(4, 8), iad.subarray(8));
    return constantTimeEqual(expected, iad.subarray(0, 4));
  } catch (err) {
    // A bad session key is the caller's error, not an altered 91: let it through.
    if (err instanceof CryptoError && err.code === 'bad_data') return false;
    throw err;
  }
}
