/**
 * ANSI X9.24-1:2009 TDES DUKPT, host (receiving SCD) side. Single DES and two-key 3DES run on
 * `DesKey` (des-ede3 with K1|K1|K1 or K1|K2|K1), so this file uses node:crypto only.
 *
 *  - KSN: 10 bytes (80 bits). The rightmost 21 bits are the encryption counter; the rest is the
 *    initial KSN (key set ID, TRSM ID).
 *  - IPEK (initial PIN encryption key, "initial key"): with the counter cleared, take the leftmost
 *    8 bytes of the KSN; left half = 3DES_BDK(that), right half = 3DES_(BDK XOR C0C0C0C000000000
 *    C0C0C0C000000000)(that).
 *  - Transaction key for a KSN: start from the IPEK and, for each set bit of the counter from the
 *    highest to the lowest, OR the bit into the shift register (the rightmost 8 bytes of the KSN,
 *    counter cleared) and run the non-reversible key generation process on it.
 *  - Working keys: the transaction key XOR a variant constant; the data variants (request and
 *    response) are then 3DES-ECB-encrypted under themselves (the X9.24-1:2009 data key step).
 *
 * A counter with more than 10 one-bits is never used by an originating device (X9.24-1 skips such
 * values), so it is rejected here. Keys are returned as fresh Buffers; callers own and wipe them.
 */
import { clearCopy, xorInto, type BytesInput } from './bytes.js';
import { DesKey } from './des-key.js';
import { CryptoError } from './errors.js';

export const DUKPT_KSN_LENGTH = 10;
export const DUKPT_BDK_LENGTH = 16;
/** Mask of the 21-bit encryption counter in the rightmost 3 bytes of the KSN. */
export const DUKPT_COUNTER_MASK = 0x1fffff;
/** An originating device never uses a counter with more than 10 one-bits. */
export const DUKPT_MAX_COUNTER_ONE_BITS = 10;

/** The working keys a transaction key yields. */
export type DukptKeyUsage = 'pin' | 'mac-request' | 'mac-response' | 'data-request' | 'data-response';

export const DUKPT_KEY_USAGES: readonly DukptKeyUsage[] = [
  'pin',
  'mac-request',
  'mac-response',
  'data-request',
  'data-response',
];

/** Variant constants of X9.24-1:2009 (each applied to both halves of the transaction key). */
const VARIANTS: Record<DukptKeyUsage, string> = {
  pin: '00000000000000FF00000000000000FF',
  'mac-request': '000000000000FF00000000000000FF00',
  'mac-response': '00000000FF00000000000000FF000000',
  'data-request': '0000000000FF00000000000000FF0000',
  'data-response': '000000FF00000000000000FF00000000',
};

const KEY_MASK = Buffer.from('C0C0C0C000000000C0C0C0C000000000', 'hex');

export interface DukptOptions {
  /**
   * Derive for a counter with more than 10 one-bits too (an originating device never uses one, so by
   * default it is rejected with `bad_data`/`ksn_counter_bits`). Counter zero is always rejected.
   */
  allowAnyCounter?: boolean;
}

export interface ParsedKsn {
  /** The 21-bit encryption counter. */
  counter: number;
  /** The KSN with the counter cleared (10 bytes). */
  initialKsn: Buffer;
}

/** Splits a KSN into counter and initial KSN. Throws `bad_data` unless it is 10 bytes. */
export function parseKsn(ksn: Uint8Array): ParsedKsn {
  if (!(ksn instanceof Uint8Array) || ksn.length !== DUKPT_KSN_LENGTH) {
    throw new CryptoError('bad_data', 'KSN must be 10 bytes', {
      expected: DUKPT_KSN_LENGTH,
      actual: ksn instanceof Uint8Array ? ksn.length : typeof ksn,
      reason: 'bad_ksn',
    });
  }
  const initialKsn = Buffer.from(ksn);
  const counter =
    (((initialKsn[7] as number) << 16) | ((initialKsn[8] as number) << 8) | (initialKsn[9] as number)) &
    DUKPT_COUNTER_MASK;
  initialKsn[7] = (initialKsn[7] as number) & 0xe0;
  initialKsn[8] = 0;
  initialKsn[9] = 0;
  return { counter, initialKsn };
}

/** Number of one-bits in a counter (TDES 21-bit or AES 32-bit). */
export function counterOneBits(counter: number): number {
  let n = 0;
  for (let v = counter >>> 0; v; v >>>= 1) n += v & 1;
  return n;
}

/**
 * Throws `bad_data` unless the counter is an integer in 1..0x1FFFFF with at most 10 one-bits.
 */
export function checkDukptCounter(counter: number): number {
  if (!Number.isInteger(counter) || counter < 0 || counter > DUKPT_COUNTER_MASK) {
    throw new CryptoError('bad_data', 'KSN counter must be a 21-bit value', {
      expected: '1..0x1FFFFF',
      actual: Number.isFinite(counter) ? counter : String(counter),
      reason: 'ksn_counter_range',
    });
  }
  if (counter === 0) {
    throw new CryptoError('bad_data', 'KSN counter must not be zero', {
      expected: '1..0x1FFFFF',
      actual: 0,
      reason: 'ksn_counter_zero',
    });
  }
  const ones = counterOneBits(counter);
  if (ones > DUKPT_MAX_COUNTER_ONE_BITS) {
    throw new CryptoError('bad_data', 'KSN counter has more than 10 one-bits', {
      expected: `at most ${DUKPT_MAX_COUNTER_ONE_BITS} one-bits`,
      actual: ones,
      reason: 'ksn_counter_bits',
    });
  }
  return counter;
}

/** KSN with a given counter (replaces the rightmost 21 bits). Validates both. */
export function ksnWithCounter(ksn: Uint8Array, counter: number): Buffer {
  const { initialKsn } = parseKsn(ksn);
  checkDukptCounter(counter);
  initialKsn[7] = (initialKsn[7] as number) | ((counter >>> 16) & 0x1f);
  initialKsn[8] = (counter >>> 8) & 0xff;
  initialKsn[9] = counter & 0xff;
  return initialKsn;
}

function requireDoubleLength(key: Buffer, what: string): void {
  if (key.length !== DUKPT_BDK_LENGTH) {
    key.fill(0);
    throw new CryptoError('bad_key_length', `${what} must be 16 bytes (double-length TDES)`, {
      key: 'key',
      expected: DUKPT_BDK_LENGTH,
      actual: key.length,
    });
  }
}

function xor16(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.from(a.subarray(0, 16));
  xorInto(out, b, 16);
  return out;
}

function tdesEncrypt(key: Buffer, block: Buffer): Buffer {
  const k = DesKey.from(key);
  try {
    return k.encryptEcb(block);
  } finally {
    k.destroy();
  }
}

/**
 * Derives the IPEK from a 16-byte BDK and a KSN (its counter is ignored: the KSN is masked with
 * FFFFFFFFFFFFFFE00000 first, so an initial KSN or any later KSN of the device gives the same IPEK).
 */
export function deriveDukptIpek(bdk: BytesInput, ksn: Uint8Array): Buffer {
  const { initialKsn } = parseKsn(ksn);
  const key = clearCopy(bdk);
  let masked: Buffer | undefined;
  try {
    requireDoubleLength(key, 'BDK');
    const data = initialKsn.subarray(0, 8);
    const left = tdesEncrypt(key, data);
    masked = xor16(key, KEY_MASK);
    const right = tdesEncrypt(masked, data);
    const out = Buffer.concat([left, right]);
    left.fill(0);
    right.fill(0);
    return out;
  } finally {
    key.fill(0);
    masked?.fill(0);
  }
}

/**
 * The non-reversible key generation process of X9.24-1 (A.2), on a 16-byte key and 8-byte data
 * (crypto register 1). Returns the new 16-byte key.
 */
export function dukptNonReversibleKeyGen(key: Buffer, data: Buffer): Buffer {
  const keyLeft = key.subarray(0, 8);
  const keyRight = key.subarray(8, 16);
  const right = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) right[i] = (data[i] as number) ^ (keyRight[i] as number);
  const r = tdesEncrypt(Buffer.from(keyLeft), right);
  for (let i = 0; i < 8; i++) r[i] = (r[i] as number) ^ (keyRight[i] as number);

  const masked = xor16(key, KEY_MASK);
  const left = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) left[i] = (data[i] as number) ^ (masked[8 + i] as number);
  const l = tdesEncrypt(Buffer.from(masked.subarray(0, 8)), left);
  for (let i = 0; i < 8; i++) l[i] = (l[i] as number) ^ (masked[8 + i] as number);

  const out = Buffer.concat([l, r]);
  right.fill(0);
  left.fill(0);
  masked.fill(0);
  l.fill(0);
  r.fill(0);
  return out;
}

/**
 * The current transaction key for a KSN, from the device's IPEK. Throws `bad_data` for a bad KSN or a
 * counter that is zero or has more than 10 one-bits, `bad_key_length` unless the IPEK is 16 bytes.
 */
export function deriveDukptTransactionKey(
  ipek: BytesInput,
  ksn: Uint8Array,
  options: DukptOptions = {},
): Buffer {
  const { counter, initialKsn } = parseKsn(ksn);
  if (options.allowAnyCounter) {
    if (counter === 0) checkDukptCounter(counter);
  } else {
    checkDukptCounter(counter);
  }
  let key = clearCopy(ipek);
  requireDoubleLength(key, 'IPEK');
  const register = initialKsn.subarray(2, 10);
  for (let bit = 0x100000; bit > 0; bit >>>= 1) {
    if ((counter & bit) === 0) continue;
    register[5] = (register[5] as number) | ((bit >>> 16) & 0xff);
    register[6] = (register[6] as number) | ((bit >>> 8) & 0xff);
    register[7] = (register[7] as number) | (bit & 0xff);
    const next = dukptNonReversibleKeyGen(key, Buffer.from(register));
    key.fill(0);
    key = next;
  }
  return key;
}

/**
 * A working key from a transaction key: transaction key XOR the usage's variant; for the data
 * variants, that key then 3DES-ECB-encrypted under itself (X9.24-1:2009).
 */
export function dukptWorkingKey(transactionKey: BytesInput, usage: DukptKeyUsage): Buffer {
  const variantHex = VARIANTS[usage] as string | undefined;
  if (variantHex === undefined) {
    throw new CryptoError('bad_algorithm', 'unknown DUKPT key usage', {
      expected: DUKPT_KEY_USAGES.join(', '),
      actual: String(usage),
    });
  }
  const key = clearCopy(transactionKey);
  try {
    requireDoubleLength(key, 'transaction key');
    const variant = xor16(key, Buffer.from(variantHex, 'hex'));
    if (usage !== 'data-request' && usage !== 'data-response') return variant;
    try {
      return tdesEncrypt(variant, variant);
    } finally {
      variant.fill(0);
    }
  } finally {
    key.fill(0);
  }
}

/** BDK + KSN -> working key for `usage` (IPEK and transaction key are wiped on the way). */
export function deriveDukptKey(
  bdk: BytesInput,
  ksn: Uint8Array,
  usage: DukptKeyUsage,
  options: DukptOptions = {},
): Buffer {
  const ipek = deriveDukptIpek(bdk, ksn);
  try {
    const tk = deriveDukptTransactionKey(ipek, ksn, options);
    try {
      return dukptWorkingKey(tk, usage);
    } finally {
      tk.fill(0);
    }
  } finally {
    ipek.fill(0);
  }
}
