/**
 * ANSI X9.24-3:2017 AES DUKPT, host (receiving) side, for an AES-128 BDK and AES-128 derived keys.
 * node:crypto (aes-128-ecb) only.
 *
 *  - KSN: 12 bytes = initial key ID (8 bytes: BDK ID 4 | derivation ID 4) | transaction counter
 *    (32 bits, big endian). A counter is valid when it is non-zero and has at most 16 one-bits.
 *  - Derivation data (16 bytes, one AES block for a 128-bit key):
 *      version 01 | key block counter 01 | key usage (2) | algorithm (2) | length in bits (2) | 8 bytes
 *    where the last 8 bytes are the initial key ID for the initial key, otherwise the rightmost 4
 *    bytes of the initial key ID followed by the 4-byte counter. Derived key = AES-ECB(key, data).
 *  - Initial key: usage 8001 from the BDK with the initial key ID.
 *  - Transaction (intermediate derivation) key: from the initial key, for each set bit of the counter
 *    from the highest to the lowest, OR it into a working counter and derive with usage 8000.
 *  - Working key: from the transaction key with the usage (PIN 1000, MAC 2000/2001/2002, data
 *    3000/3001/3002, key encryption 0002) and the full counter.
 */
import { createCipheriv } from 'node:crypto';
import { clearCopy, type BytesInput } from './bytes.js';
import { counterOneBits } from './dukpt.js';
import { CryptoError } from './errors.js';

export const AES_DUKPT_KSN_LENGTH = 12;
export const AES_DUKPT_INITIAL_KEY_ID_LENGTH = 8;
export const AES_DUKPT_KEY_LENGTH = 16;
/** A transaction counter with more than 16 one-bits is never used (X9.24-3). */
export const AES_DUKPT_MAX_COUNTER_ONE_BITS = 16;

export type AesDukptKeyUsage =
  | 'key-encryption'
  | 'pin'
  | 'mac-generation'
  | 'mac-verification'
  | 'mac-both'
  | 'data-encrypt'
  | 'data-decrypt'
  | 'data-both';

const USAGE_CODES: Record<AesDukptKeyUsage, number> = {
  'key-encryption': 0x0002,
  pin: 0x1000,
  'mac-generation': 0x2000,
  'mac-verification': 0x2001,
  'mac-both': 0x2002,
  'data-encrypt': 0x3000,
  'data-decrypt': 0x3001,
  'data-both': 0x3002,
};

export const AES_DUKPT_KEY_USAGES = Object.keys(USAGE_CODES) as readonly AesDukptKeyUsage[];

const USAGE_DERIVATION = 0x8000;
const USAGE_INITIAL_KEY = 0x8001;
const ALGORITHM_AES128 = 0x0002;
const LENGTH_AES128 = 0x0080;

export interface ParsedAesKsn {
  initialKeyId: Buffer;
  counter: number;
}

/** Splits a 12-byte AES DUKPT KSN. Throws `bad_data` (reason `bad_ksn`) for another length. */
export function parseAesKsn(ksn: Uint8Array): ParsedAesKsn {
  if (!(ksn instanceof Uint8Array) || ksn.length !== AES_DUKPT_KSN_LENGTH) {
    throw new CryptoError('bad_data', 'AES DUKPT KSN must be 12 bytes', {
      expected: AES_DUKPT_KSN_LENGTH,
      actual: ksn instanceof Uint8Array ? ksn.length : typeof ksn,
      reason: 'bad_ksn',
    });
  }
  const b = Buffer.from(ksn);
  return { initialKeyId: b.subarray(0, 8), counter: b.readUInt32BE(8) };
}

/** Throws `bad_data` unless the counter is a 32-bit value, non-zero, with at most 16 one-bits. */
export function checkAesDukptCounter(counter: number): number {
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffffffff) {
    throw new CryptoError('bad_data', 'AES DUKPT counter must be a 32-bit value', {
      expected: '1..0xFFFFFFFF',
      actual: Number.isFinite(counter) ? counter : String(counter),
      reason: 'ksn_counter_range',
    });
  }
  if (counter === 0) {
    throw new CryptoError('bad_data', 'AES DUKPT counter must not be zero', {
      expected: '1..0xFFFFFFFF',
      actual: 0,
      reason: 'ksn_counter_zero',
    });
  }
  const ones = counterOneBits(counter);
  if (ones > AES_DUKPT_MAX_COUNTER_ONE_BITS) {
    throw new CryptoError('bad_data', 'AES DUKPT counter has more than 16 one-bits', {
      expected: `at most ${AES_DUKPT_MAX_COUNTER_ONE_BITS} one-bits`,
      actual: ones,
      reason: 'ksn_counter_bits',
    });
  }
  return counter;
}

/** The 16-byte derivation data block of X9.24-3 for an AES-128 derived key. */
export function aesDukptDerivationData(usage: number, initialKeyId: Uint8Array, counter?: number): Buffer {
  const d = Buffer.alloc(16);
  d[0] = 0x01;
  d[1] = 0x01;
  d.writeUInt16BE(usage, 2);
  d.writeUInt16BE(ALGORITHM_AES128, 4);
  d.writeUInt16BE(LENGTH_AES128, 6);
  if (usage === USAGE_INITIAL_KEY) {
    Buffer.from(initialKeyId).copy(d, 8, 0, 8);
  } else {
    Buffer.from(initialKeyId).copy(d, 8, 4, 8);
    d.writeUInt32BE((counter ?? 0) >>> 0, 12);
  }
  return d;
}

function requireAesKey(key: Buffer, what: string): void {
  if (key.length !== AES_DUKPT_KEY_LENGTH) {
    key.fill(0);
    throw new CryptoError('bad_key_length', `${what} must be 16 bytes (AES-128)`, {
      key: 'key',
      expected: AES_DUKPT_KEY_LENGTH,
      actual: key.length,
    });
  }
}

function aesEncryptBlock(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  const out = c.update(block);
  c.final();
  return out;
}

/** Initial key (IK) from an AES-128 BDK and the 8-byte initial key ID. */
export function deriveAesDukptInitialKey(bdk: BytesInput, initialKeyId: Uint8Array): Buffer {
  if (!(initialKeyId instanceof Uint8Array) || initialKeyId.length !== AES_DUKPT_INITIAL_KEY_ID_LENGTH) {
    throw new CryptoError('bad_data', 'AES DUKPT initial key ID must be 8 bytes', {
      expected: AES_DUKPT_INITIAL_KEY_ID_LENGTH,
      actual: initialKeyId instanceof Uint8Array ? initialKeyId.length : typeof initialKeyId,
      reason: 'bad_initial_key_id',
    });
  }
  const key = clearCopy(bdk);
  try {
    requireAesKey(key, 'BDK');
    return aesEncryptBlock(key, aesDukptDerivationData(USAGE_INITIAL_KEY, initialKeyId));
  } finally {
    key.fill(0);
  }
}

/** Transaction (intermediate derivation) key for a 12-byte KSN from the device's initial key. */
export function deriveAesDukptTransactionKey(initialKey: BytesInput, ksn: Uint8Array): Buffer {
  const { initialKeyId, counter } = parseAesKsn(ksn);
  checkAesDukptCounter(counter);
  let key = clearCopy(initialKey);
  requireAesKey(key, 'initial key');
  let working = 0;
  for (let mask = 0x80000000; mask >= 1; mask = Math.floor(mask / 2)) {
    if ((counter & mask) === 0) continue;
    working = (working | mask) >>> 0;
    const next = aesEncryptBlock(key, aesDukptDerivationData(USAGE_DERIVATION, initialKeyId, working));
    key.fill(0);
    key = next;
  }
  return key;
}

/** An AES-128 working key of `usage` from a transaction key and the KSN it belongs to. */
export function aesDukptWorkingKey(
  transactionKey: BytesInput,
  ksn: Uint8Array,
  usage: AesDukptKeyUsage,
): Buffer {
  const code = USAGE_CODES[usage] as number | undefined;
  if (code === undefined) {
    throw new CryptoError('bad_algorithm', 'unknown AES DUKPT key usage', {
      expected: AES_DUKPT_KEY_USAGES.join(', '),
      actual: String(usage),
    });
  }
  const { initialKeyId, counter } = parseAesKsn(ksn);
  checkAesDukptCounter(counter);
  const key = clearCopy(transactionKey);
  try {
    requireAesKey(key, 'transaction key');
    return aesEncryptBlock(key, aesDukptDerivationData(code, initialKeyId, counter));
  } finally {
    key.fill(0);
  }
}

/** BDK + KSN -> AES-128 working key (initial and transaction keys wiped on the way). */
export function deriveAesDukptKey(bdk: BytesInput, ksn: Uint8Array, usage: AesDukptKeyUsage): Buffer {
  const { initialKeyId } = parseAesKsn(ksn);
  const ik = deriveAesDukptInitialKey(bdk, initialKeyId);
  try {
    const tk = deriveAesDukptTransactionKey(ik, ksn);
    try {
      return aesDukptWorkingKey(tk, ksn, usage);
    } finally {
      tk.fill(0);
    }
  } finally {
    ik.fill(0);
  }
}
