/**
 * DUKPT MAC keys and MACs, for both schemes, on top of dukpt.ts (ANSI X9.24-1:2009 TDES) and
 * dukpt-aes.ts (X9.24-3:2017 AES). Pure functions; node:crypto only.
 *
 * Directions are named from the originating device (the reader): the reader MACs its *request* and
 * the host verifies it; the host MACs its *response* and the reader verifies it.
 *
 *  - TDES DUKPT (10-byte KSN): request key = transaction key XOR 000000000000FF00 000000000000FF00,
 *    response key = transaction key XOR 00000000FF000000 00000000FF000000 (X9.24-1:2009 Table A-1,
 *    as checked against the published MACs in test/vectors/dukpt/tdes-x9.24-1-2009.json); the MAC is
 *    ANSI X9.19 (ISO 9797-1 algorithm 3, zero padding) with that key, 8 bytes. There is no "both
 *    ways" key in TDES DUKPT.
 *  - AES DUKPT (12-byte KSN): the working key is derived from the transaction key with key usage
 *    2000 "MAC generation" (request), 2001 "MAC verification" (response) or 2002 "MAC both ways",
 *    and the key type of the derivation data: AES-128 (algorithm 0002, 128 bits), AES-192 (0003,
 *    192), AES-256 (0004, 256), 2TDEA (0000, 128) or 3TDEA (0001, 192). A key longer than one AES
 *    block is the concatenation of the blocks with key block counter 01, 02, ... A working key is
 *    never stronger than the BDK (X9.24-3 6.1.3): AES-256 needs an AES-256 BDK. The MAC is CMAC (NIST
 *    SP 800-38B): AES-CMAC (16 bytes) for AES keys, TDES-CMAC (8 bytes) for 2TDEA/3TDEA keys.
 *
 * dukpt-aes.ts derives for an AES-128 BDK only; this file carries the general X9.24-3 derivation
 * (AES-128, AES-192 and AES-256 BDKs: the initial and intermediate keys have the BDK's type) so the
 * AES-256 supplement vectors can be checked. For an AES-128 BDK both give the same keys (tested).
 *
 * The reader side starts from its initial key (TDES IPEK or AES initial key, as injected); the host
 * side from the BDK. Keys are returned as fresh Buffers and wiped on the way; callers wipe theirs.
 * MACs may be truncated (leftmost bytes) with `macLength`; verification is constant time.
 */
import { createCipheriv } from 'node:crypto';
import { clearCopy, constantTimeEqual, type BytesInput } from './bytes.js';
import { deriveDukptIpek, deriveDukptTransactionKey, dukptWorkingKey, type DukptOptions } from './dukpt.js';
import { checkAesDukptCounter, parseAesKsn } from './dukpt-aes.js';
import { dukptSchemeOfKsn, type DukptScheme } from './dukpt-scheme.js';
import { CryptoError } from './errors.js';
import { x919Mac } from './mac.js';

/** Who MACs: the reader's request (host verifies), the host's response (reader verifies), or one key for both. */
export type DukptMacDirection = 'request' | 'response' | 'both';

export const DUKPT_MAC_DIRECTIONS: readonly DukptMacDirection[] = ['request', 'response', 'both'];

/** The key types of X9.24-3 derivation data that a MAC key can have. */
export type AesDukptMacKeyType = 'aes128' | 'aes192' | 'aes256' | 'tdes2' | 'tdes3';

export const AES_DUKPT_MAC_KEY_TYPES: readonly AesDukptMacKeyType[] = [
  'aes128',
  'aes192',
  'aes256',
  'tdes2',
  'tdes3',
];

/** X9.24-3:2017 key usage indicators of the MAC working keys. */
export const AES_DUKPT_MAC_USAGE: Readonly<Record<DukptMacDirection, number>> = {
  request: 0x2000,
  response: 0x2001,
  both: 0x2002,
};

/** X9.24-3:2017 algorithm indicator and key length (bits) of each key type. */
export const AES_DUKPT_KEY_TYPE_FIELDS: Readonly<
  Record<AesDukptMacKeyType, { algorithm: number; bits: number }>
> = {
  tdes2: { algorithm: 0x0000, bits: 128 },
  tdes3: { algorithm: 0x0001, bits: 192 },
  aes128: { algorithm: 0x0002, bits: 128 },
  aes192: { algorithm: 0x0003, bits: 192 },
  aes256: { algorithm: 0x0004, bits: 256 },
};

const USAGE_DERIVATION = 0x8000;
const USAGE_INITIAL_KEY = 0x8001;
const AES_BLOCK = 16;
const DES_BLOCK = 8;

export interface DukptMacOptions {
  /** Default `request`. TDES DUKPT has no `both` key. */
  direction?: DukptMacDirection;
  /** AES DUKPT only: the working key's type. Default `aes128`. */
  keyType?: AesDukptMacKeyType;
  /** Keep the leftmost bytes of the MAC (4 up to the full 8 or 16). Default: the full MAC. */
  macLength?: number;
  /** TDES only: derive for a counter with more than 10 one-bits too (see dukpt.ts). */
  allowAnyCounter?: boolean;
}

/** Which side holds what: the host holds the BDK, the reader its initial key (IPEK / AES IK). */
export type DukptMacKeySource = { bdk: BytesInput } | { initialKey: BytesInput };

function badAlgorithm(message: string, expected: string, actual: string): CryptoError {
  return new CryptoError('bad_algorithm', message, { expected, actual });
}

function directionOf(options: DukptMacOptions): DukptMacDirection {
  const d = options.direction ?? 'request';
  if (!(DUKPT_MAC_DIRECTIONS as readonly string[]).includes(d))
    throw badAlgorithm('unknown DUKPT MAC direction', DUKPT_MAC_DIRECTIONS.join(', '), String(d));
  return d;
}

function keyTypeOf(options: DukptMacOptions): AesDukptMacKeyType {
  const t = options.keyType ?? 'aes128';
  if (!(AES_DUKPT_MAC_KEY_TYPES as readonly string[]).includes(t))
    throw badAlgorithm('unknown AES DUKPT MAC key type', AES_DUKPT_MAC_KEY_TYPES.join(', '), String(t));
  return t;
}

// ---------------------------------------------------------------------------------------------
// CMAC (NIST SP 800-38B) over AES and TDES, from node:crypto ECB/CBC.

interface BlockCipher {
  readonly block: number;
  ecb(block: Buffer): Buffer;
  cbc(data: Buffer): Buffer;
  /** Wipes any key copy the cipher made. */
  wipe(): void;
}

function cipherFor(key: Buffer): BlockCipher {
  let name: string;
  const k = key;
  switch (key.length) {
    case 16:
    case 24:
    case 32:
      name = `aes-${key.length * 8}`;
      break;
    default:
      throw new CryptoError('bad_key_length', 'an AES-CMAC key is 16, 24 or 32 bytes', {
        key: 'mak',
        expected: '16, 24 or 32',
        actual: key.length,
      });
  }
  const block = AES_BLOCK;
  return {
    block,
    ecb: (b) => {
      const c = createCipheriv(`${name}-ecb`, k, null);
      c.setAutoPadding(false);
      return Buffer.concat([c.update(b), c.final()]);
    },
    cbc: (d) => {
      const c = createCipheriv(`${name}-cbc`, k, Buffer.alloc(block));
      c.setAutoPadding(false);
      const out = Buffer.concat([c.update(d), c.final()]);
      return out.subarray(out.length - block);
    },
    wipe: () => undefined,
  };
}

function tdesCipherFor(key: Buffer): BlockCipher {
  if (key.length !== 16 && key.length !== 24) {
    throw new CryptoError('bad_key_length', 'a TDES-CMAC key is 16 or 24 bytes', {
      key: 'mak',
      expected: '16 or 24',
      actual: key.length,
    });
  }
  const k3 = key.length === 16 ? Buffer.concat([key, key.subarray(0, 8)]) : Buffer.from(key);
  return {
    block: DES_BLOCK,
    ecb: (b) => {
      const c = createCipheriv('des-ede3-ecb', k3, null);
      c.setAutoPadding(false);
      return Buffer.concat([c.update(b), c.final()]);
    },
    cbc: (d) => {
      const c = createCipheriv('des-ede3-cbc', k3, Buffer.alloc(DES_BLOCK));
      c.setAutoPadding(false);
      const out = Buffer.concat([c.update(d), c.final()]);
      return out.subarray(out.length - DES_BLOCK);
    },
    wipe: () => k3.fill(0),
  };
}

/** Doubling in GF(2^n) (SP 800-38B subkey generation): shift left one bit, XOR Rb when the top bit was set. */
function dbl(block: Buffer): Buffer {
  const out = Buffer.alloc(block.length);
  for (let i = 0; i < block.length; i++) {
    out[i] =
      (((block[i] as number) << 1) | (i + 1 < block.length ? (block[i + 1] as number) >> 7 : 0)) & 0xff;
  }
  if ((block[0] as number) & 0x80) {
    const last = block.length - 1;
    out[last] = (out[last] as number) ^ (block.length === AES_BLOCK ? 0x87 : 0x1b);
  }
  return out;
}

function cmacWith(cipher: BlockCipher, data: Uint8Array): Buffer {
  const b = cipher.block;
  const l = cipher.ecb(Buffer.alloc(b));
  const k1 = dbl(l);
  const k2 = dbl(k1);
  const msg = Buffer.from(data);
  const n = Math.max(1, Math.ceil(msg.length / b));
  const complete = msg.length > 0 && msg.length % b === 0;
  const last = Buffer.alloc(b);
  msg.copy(last, 0, (n - 1) * b);
  if (!complete) last[msg.length - (n - 1) * b] = 0x80;
  const sub = complete ? k1 : k2;
  for (let i = 0; i < b; i++) last[i] = (last[i] as number) ^ (sub[i] as number);
  const head = msg.subarray(0, (n - 1) * b);
  if (head.length > 0) {
    const chain = cipher.cbc(head);
    for (let i = 0; i < b; i++) last[i] = (last[i] as number) ^ (chain[i] as number);
    chain.fill(0);
  }
  const mac = cipher.ecb(last);
  l.fill(0);
  k1.fill(0);
  k2.fill(0);
  last.fill(0);
  msg.fill(0);
  return mac;
}

/** AES-CMAC (NIST SP 800-38B, RFC 4493 for AES-128) with a 16-, 24- or 32-byte key: 16 bytes. */
export function aesCmac(key: BytesInput, data: Uint8Array): Buffer {
  return cmacUnder(key, cipherFor, data);
}

/** TDES-CMAC (NIST SP 800-38B) with a 16-byte (K1|K2|K1) or 24-byte key: 8 bytes. */
export function tdesCmac(key: BytesInput, data: Uint8Array): Buffer {
  return cmacUnder(key, tdesCipherFor, data);
}

/** CMAC with a block cipher made from a copy of `key`; the copy and the cipher are wiped after. */
function cmacUnder(
  key: BytesInput,
  make: (k: Buffer) => Parameters<typeof cmacWith>[0],
  data: Uint8Array,
): Buffer {
  const k = clearCopy(key);
  try {
    const cipher = make(k);
    try {
      return cmacWith(cipher, data);
    } finally {
      cipher.wipe();
    }
  } finally {
    k.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------
// X9.24-3 derivation for any AES BDK (AES-128/192/256).

function aesKeyTypeOfLength(length: number, what: string): AesDukptMacKeyType {
  if (length === 16) return 'aes128';
  if (length === 24) return 'aes192';
  if (length === 32) return 'aes256';
  throw new CryptoError('bad_key_length', `${what} must be 16, 24 or 32 bytes (AES)`, {
    key: 'key',
    expected: '16, 24 or 32',
    actual: length,
  });
}

/**
 * The first 16-byte derivation data block of X9.24-3:2017 (key block counter 01) for a usage code
 * and a key type: version 01 | counter 01 | usage | algorithm | bits | IKID (initial key) or
 * IKID[4..8] | transaction counter.
 */
export function aesDukptDerivationDataOfType(
  usage: number,
  keyType: AesDukptMacKeyType,
  initialKeyId: Uint8Array,
  counter = 0,
): Buffer {
  const fields = AES_DUKPT_KEY_TYPE_FIELDS[keyType] as { algorithm: number; bits: number } | undefined;
  if (!fields)
    throw badAlgorithm('unknown AES DUKPT key type', AES_DUKPT_MAC_KEY_TYPES.join(', '), String(keyType));
  if (!(initialKeyId instanceof Uint8Array) || initialKeyId.length !== 8) {
    throw new CryptoError('bad_data', 'the AES DUKPT initial key ID is 8 bytes', {
      expected: 8,
      actual: initialKeyId instanceof Uint8Array ? initialKeyId.length : typeof initialKeyId,
      reason: 'bad_initial_key_id',
    });
  }
  const d = Buffer.alloc(16);
  d[0] = 0x01;
  d[1] = 0x01;
  d.writeUInt16BE(usage, 2);
  d.writeUInt16BE(fields.algorithm, 4);
  d.writeUInt16BE(fields.bits, 6);
  if (usage === USAGE_INITIAL_KEY) Buffer.from(initialKeyId).copy(d, 8, 0, 8);
  else {
    Buffer.from(initialKeyId).copy(d, 8, 4, 8);
    d.writeUInt32BE(counter >>> 0, 12);
  }
  return d;
}

/** Key material of `bits` from `key`: AES-ECB of the derivation data, block counter 01, 02, ... */
function deriveMaterial(key: Buffer, data: Buffer, bits: number): Buffer {
  const name = `aes-${key.length * 8}-ecb`;
  const blocks: Buffer[] = [];
  const d = Buffer.from(data);
  for (let i = 0; i * AES_BLOCK * 8 < bits; i++) {
    d[1] = i + 1;
    const c = createCipheriv(name, key, null);
    c.setAutoPadding(false);
    blocks.push(Buffer.concat([c.update(d), c.final()]));
  }
  const all = Buffer.concat(blocks);
  for (const b of blocks) b.fill(0);
  const out = Buffer.from(all.subarray(0, bits / 8));
  all.fill(0);
  return out;
}

/** Initial key from an AES-128/192/256 BDK and the 8-byte initial key ID (same type as the BDK). */
export function deriveAesDukptInitialKeyOfBdk(bdk: BytesInput, initialKeyId: Uint8Array): Buffer {
  const key = clearCopy(bdk);
  try {
    const type = aesKeyTypeOfLength(key.length, 'BDK');
    const data = aesDukptDerivationDataOfType(USAGE_INITIAL_KEY, type, initialKeyId);
    return deriveMaterial(key, data, AES_DUKPT_KEY_TYPE_FIELDS[type].bits);
  } finally {
    key.fill(0);
  }
}

/**
 * Transaction (intermediate derivation) key of a KSN from an AES-128/192/256 initial key: for each
 * set bit of the counter from the highest, OR it into a working counter and derive with usage 8000.
 */
export function deriveAesDukptTransactionKeyOfType(initialKey: BytesInput, ksn: Uint8Array): Buffer {
  const { initialKeyId, counter } = parseAesKsn(ksn);
  checkAesDukptCounter(counter);
  let key = clearCopy(initialKey);
  const type = aesKeyTypeOfLength(key.length, 'initial key');
  const bits = AES_DUKPT_KEY_TYPE_FIELDS[type].bits;
  let working = 0;
  for (let bit = 0x80000000; bit > 0; bit >>>= 1) {
    if ((counter & bit) === 0) continue;
    working = (working | bit) >>> 0;
    const next = deriveMaterial(
      key,
      aesDukptDerivationDataOfType(USAGE_DERIVATION, type, initialKeyId, working),
      bits,
    );
    key.fill(0);
    key = next;
  }
  return key;
}

/**
 * An AES DUKPT working key of any usage code and key type from a transaction key (any AES length).
 * Throws `bad_algorithm` (reason `key_too_strong`) for a key type stronger than the transaction key.
 */
export function aesDukptWorkingKeyOfType(
  transactionKey: BytesInput,
  ksn: Uint8Array,
  usage: number,
  keyType: AesDukptMacKeyType,
): Buffer {
  const { initialKeyId, counter } = parseAesKsn(ksn);
  checkAesDukptCounter(counter);
  const key = clearCopy(transactionKey);
  try {
    const tkType = aesKeyTypeOfLength(key.length, 'transaction key');
    const data = aesDukptDerivationDataOfType(usage, keyType, initialKeyId, counter);
    const bits = AES_DUKPT_KEY_TYPE_FIELDS[keyType].bits;
    if (keyType.startsWith('aes') && bits > AES_DUKPT_KEY_TYPE_FIELDS[tkType].bits) {
      throw new CryptoError('bad_algorithm', 'a DUKPT working key may not be stronger than its BDK', {
        expected: `at most ${tkType}`,
        actual: keyType,
        reason: 'key_too_strong',
      });
    }
    return deriveMaterial(key, data, bits);
  } finally {
    key.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------
// MAC keys and MACs of both schemes.

/** The TDES DUKPT MAC key (request or response variant) of a transaction key. */
export function tdesDukptMacKeyFromTransactionKey(
  transactionKey: BytesInput,
  direction: DukptMacDirection,
): Buffer {
  if (direction === 'both')
    throw badAlgorithm('TDES DUKPT has no MAC key for both directions', 'request, response', 'both');
  return dukptWorkingKey(transactionKey, direction === 'request' ? 'mac-request' : 'mac-response');
}

/** The AES DUKPT MAC key (usage 2000/2001/2002, `keyType`) of a transaction key and its KSN. */
export function aesDukptMacKeyFromTransactionKey(
  transactionKey: BytesInput,
  ksn: Uint8Array,
  direction: DukptMacDirection,
  keyType: AesDukptMacKeyType = 'aes128',
): Buffer {
  const usage = AES_DUKPT_MAC_USAGE[direction] as number | undefined;
  if (usage === undefined)
    throw badAlgorithm('unknown DUKPT MAC direction', DUKPT_MAC_DIRECTIONS.join(', '), String(direction));
  return aesDukptWorkingKeyOfType(transactionKey, ksn, usage, keyType);
}

function transactionKeyOf(
  source: DukptMacKeySource,
  ksn: Uint8Array,
  scheme: DukptScheme,
  options: DukptOptions,
): Buffer {
  if ('bdk' in source) {
    if (scheme === 'dukpt-tdes') {
      const ipek = deriveDukptIpek(source.bdk, ksn);
      try {
        return deriveDukptTransactionKey(ipek, ksn, options);
      } finally {
        ipek.fill(0);
      }
    }
    const ik = deriveAesDukptInitialKeyOfBdk(source.bdk, parseAesKsn(ksn).initialKeyId);
    try {
      return deriveAesDukptTransactionKeyOfType(ik, ksn);
    } finally {
      ik.fill(0);
    }
  }
  if ('initialKey' in source) {
    return scheme === 'dukpt-tdes'
      ? deriveDukptTransactionKey(source.initialKey, ksn, options)
      : deriveAesDukptTransactionKeyOfType(source.initialKey, ksn);
  }
  throw new CryptoError('bad_data', 'a DUKPT MAC needs the BDK (host) or the initial key (reader)', {
    expected: 'bdk or initialKey',
    reason: 'no_key_source',
  });
}

/**
 * The MAC key of a transaction, from the BDK (host) or the device's initial key (reader); the scheme
 * follows the KSN's length (10 bytes TDES, 12 bytes AES).
 */
export function deriveDukptMacKey(
  source: DukptMacKeySource,
  ksn: Uint8Array,
  options: DukptMacOptions = {},
): Buffer {
  const scheme = dukptSchemeOfKsn(ksn);
  const direction = directionOf(options);
  const keyType = keyTypeOf(options);
  if (scheme === 'dukpt-tdes' && options.keyType !== undefined)
    throw badAlgorithm('TDES DUKPT MAC keys have no key type option', 'no keyType', String(options.keyType));
  if (scheme === 'dukpt-tdes' && direction === 'both')
    throw badAlgorithm('TDES DUKPT has no MAC key for both directions', 'request, response', 'both');
  const tk = transactionKeyOf(source, ksn, scheme, { allowAnyCounter: options.allowAnyCounter ?? false });
  try {
    return scheme === 'dukpt-tdes'
      ? tdesDukptMacKeyFromTransactionKey(tk, direction)
      : aesDukptMacKeyFromTransactionKey(tk, ksn, direction, keyType);
  } finally {
    tk.fill(0);
  }
}

/**
 * The MAC with a DUKPT MAC key: X9.19 for a TDES DUKPT key, CMAC for an AES DUKPT key (AES-CMAC, or
 * TDES-CMAC for a 2TDEA/3TDEA key type).
 */
export function dukptMacWithKey(
  scheme: DukptScheme,
  key: BytesInput,
  data: Uint8Array,
  keyType: AesDukptMacKeyType = 'aes128',
): Buffer {
  if (scheme === 'dukpt-tdes') return x919Mac(key, data);
  if (scheme !== 'dukpt-aes')
    throw badAlgorithm('unknown DUKPT scheme', 'dukpt-tdes, dukpt-aes', String(scheme));
  return keyType === 'tdes2' || keyType === 'tdes3' ? tdesCmac(key, data) : aesCmac(key, data);
}

function truncate(mac: Buffer, macLength: number | undefined): Buffer {
  if (macLength === undefined) return mac;
  if (!Number.isInteger(macLength) || macLength < 4 || macLength > mac.length) {
    mac.fill(0);
    throw new CryptoError('bad_data', 'a DUKPT MAC length is 4 bytes up to the full MAC', {
      expected: `4..${mac.length}`,
      actual: Number.isFinite(macLength) ? macLength : String(macLength),
      reason: 'bad_mac_length',
    });
  }
  const out = Buffer.from(mac.subarray(0, macLength));
  mac.fill(0);
  return out;
}

/** Computes the MAC of `data` for the transaction of `ksn` (see `deriveDukptMacKey` for the key). */
export function computeDukptMac(
  source: DukptMacKeySource,
  ksn: Uint8Array,
  data: Uint8Array,
  options: DukptMacOptions = {},
): Buffer {
  if (!(data instanceof Uint8Array))
    throw new CryptoError('bad_data', 'MAC data must be bytes', {
      actual: typeof data,
      reason: 'bad_mac_data',
    });
  const key = deriveDukptMacKey(source, ksn, options);
  try {
    return truncate(dukptMacWithKey(dukptSchemeOfKsn(ksn), key, data, keyTypeOf(options)), options.macLength);
  } finally {
    key.fill(0);
  }
}

/**
 * True when `mac` is the MAC of `data` for the transaction of `ksn` (constant time). With
 * `options.macLength` the MAC must have exactly that length (a host should pin it, so a shorter
 * truncation is not accepted); without it, any length from 4 bytes up to the full MAC is compared.
 * A MAC of another length is simply `false`.
 */
export function verifyDukptMac(
  source: DukptMacKeySource,
  ksn: Uint8Array,
  data: Uint8Array,
  mac: Uint8Array,
  options: DukptMacOptions = {},
): boolean {
  const { macLength, ...keyOptions } = options;
  const full = computeDukptMac(source, ksn, data, keyOptions);
  try {
    if (macLength !== undefined) truncate(Buffer.alloc(full.length), macLength);
    if (!(mac instanceof Uint8Array) || mac.length < 4 || mac.length > full.length) return false;
    if (macLength !== undefined && mac.length !== macLength) return false;
    return constantTimeEqual(full.subarray(0, mac.length), mac);
  } finally {
    full.fill(0);
  }
}
