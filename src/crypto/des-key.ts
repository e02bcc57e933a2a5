/**
 * DES and 3DES keys on node:crypto alone. Node's OpenSSL 3 has no plain `des-ecb` (it lives in the
 * legacy provider), so every key is run as 3DES-EDE (`des-ede3-*`):
 *   8-byte key K1          -> K1|K1|K1 (EDE with one key is single DES)
 *   16-byte key K1|K2      -> K1|K2|K1 (two-key 3DES)
 *   24-byte key K1|K2|K3   -> as given (three-key 3DES)
 *
 * A `DesKey` expands its key once and keeps node cipher contexts alive between calls (OpenSSL keeps
 * the key schedule in the context), so repeated MACs do not pay for `createCipheriv` each time:
 *  - ECB: a context with padding off returns every full block from `update()` at once, so a
 *    long-lived context is a plain block-cipher oracle.
 *  - CBC: a long-lived context chains from the last ciphertext block of its previous `update()`. To
 *    start a new message with IV `iv`, the first input block is pre-XORed with (last block XOR iv), so
 *    the context's own XOR leaves exactly (P1 XOR iv). One native call per message.
 * Inputs are always whole blocks, so no context ever buffers a partial block between calls; if a context
 * ever returns an unexpected length it is thrown away and recreated.
 *
 * The key bytes live in a node `KeyObject` (native memory, prints as `SecretKeyObject`), behind a
 * private field. Text forms of a `DesKey` are masked.
 */
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  randomBytes,
  type Cipher,
  type Decipher,
  type KeyObject,
} from 'node:crypto';
import { clearCopy, xorInto, type BytesInput } from './bytes.js';
import { CryptoError, type KeyRole } from './errors.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

export const DES_BLOCK = 8;
const ZERO_BLOCK: Buffer = Buffer.alloc(DES_BLOCK);

export type DesKeyLength = 8 | 16 | 24;

/** A key as bytes (Buffer, Uint8Array, SensitiveBytes) or an already prepared `DesKey`. */
export type KeyInput = BytesInput | DesKey;

export class DesKey {
  /** K1|K2|K3 as run by des-ede3. */
  readonly #secret: KeyObject;
  /** 8, 16 or 24: the length the key was given with (single, double or triple length). */
  readonly length: DesKeyLength;
  /** What the key is for, used in error messages and the masked text form. */
  readonly role: KeyRole;
  #ecbEnc: Cipher | undefined;
  #ecbDec: Decipher | undefined;
  #cbcEnc: Cipher | undefined;
  /** Last ciphertext block the long-lived CBC context chained from. */
  readonly #cbcChain = Buffer.alloc(DES_BLOCK);
  #left: DesKey | undefined;
  #destroyed = false;

  private constructor(expanded: Buffer, length: DesKeyLength, role: KeyRole) {
    this.#secret = createSecretKey(expanded);
    this.length = length;
    this.role = role;
  }

  /**
   * Prepares a key of 8, 16 or 24 bytes. A `DesKey` is returned as is. The input bytes are copied
   * (a Buffer the caller passed stays the caller's to wipe).
   */
  static from(key: KeyInput, role: KeyRole = 'key'): DesKey {
    if (key instanceof DesKey) return key;
    const clear = clearCopy(key);
    try {
      const length = checkKeyLength(clear.length, role);
      const expanded = expandKey(clear);
      try {
        return new DesKey(expanded, length, role);
      } finally {
        expanded.fill(0);
      }
    } finally {
      clear.fill(0);
    }
  }

  static isDesKey(value: unknown): value is DesKey {
    return value instanceof DesKey;
  }

  /** ECB encryption of whole 8-byte blocks. */
  encryptEcb(data: Uint8Array): Buffer {
    requireBlocks(data);
    this.#alive();
    this.#ecbEnc ??= this.#cipher('des-ede3-ecb', null);
    return this.#update(this.#ecbEnc, data);
  }

  /** ECB decryption of whole 8-byte blocks. */
  decryptEcb(data: Uint8Array): Buffer {
    requireBlocks(data);
    this.#alive();
    this.#ecbDec ??= this.#decipher('des-ede3-ecb', null);
    return this.#update(this.#ecbDec, data);
  }

  /** CBC encryption of whole blocks, IV zero unless given. */
  encryptCbc(data: Uint8Array, iv: Uint8Array = ZERO_BLOCK): Buffer {
    requireBlocks(data);
    requireIv(iv);
    this.#alive();
    if (!this.#cbcEnc) {
      this.#cbcEnc = this.#cipher('des-ede3-cbc', ZERO_BLOCK);
      this.#cbcChain.fill(0);
    }
    const input = Buffer.from(data);
    xorInto(input, this.#cbcChain);
    xorInto(input, iv);
    try {
      const out = this.#update(this.#cbcEnc, input);
      out.copy(this.#cbcChain, 0, out.length - DES_BLOCK);
      return out;
    } finally {
      input.fill(0);
    }
  }

  /** CBC decryption of whole blocks, IV zero unless given (a fresh context: not on a hot path). */
  decryptCbc(data: Uint8Array, iv: Uint8Array = ZERO_BLOCK): Buffer {
    requireBlocks(data);
    requireIv(iv);
    this.#alive();
    const d = this.#decipher('des-ede3-cbc', iv);
    const out = d.update(data);
    if (out.length !== data.length)
      throw new CryptoError('bad_block', 'cipher returned an unexpected length');
    return out;
  }

  /** CBC-MAC core (ISO 9797-1 algorithm 1 without padding): the last block of CBC with IV zero. */
  cbcMac(data: Uint8Array): Buffer {
    const out = this.encryptCbc(data);
    return Buffer.from(out.subarray(out.length - DES_BLOCK));
  }

  /** Key check value: ECB encryption of eight zero bytes, leftmost `bytes` bytes (3 or 4 usually). */
  checkValue(bytes = 4): Buffer {
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > DES_BLOCK) {
      throw new CryptoError('bad_data', 'check value length must be 1 to 8 bytes', { actual: bytes });
    }
    return Buffer.from(this.encryptEcb(ZERO_BLOCK).subarray(0, bytes));
  }

  /** The leftmost 8 bytes (K1) as a single-DES key; the key itself when it is single length. */
  leftHalf(): DesKey {
    this.#alive();
    if (this.length === 8) return this;
    if (!this.#left) {
      const all = this.#secret.export();
      try {
        this.#left = DesKey.from(all.subarray(0, DES_BLOCK), this.role);
      } finally {
        all.fill(0);
      }
    }
    return this.#left;
  }

  /**
   * Drops the cipher contexts (best effort: node gives no way to wipe a KeyObject's native copy; it is
   * freed when collected). Any later use throws `key_destroyed`.
   */
  destroy(): void {
    this.#destroyed = true;
    this.#reset();
    this.#left?.destroy();
    this.#left = undefined;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  toString(): string {
    return `DesKey(${this.role}, ${this.length} bytes, ***)`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  [inspectSymbol](): string {
    return this.toString();
  }

  #alive(): void {
    if (this.#destroyed)
      throw new CryptoError('key_destroyed', `the ${this.role} key was destroyed`, { key: this.role });
  }

  #cipher(algorithm: string, iv: Buffer | null): Cipher {
    const c = createCipheriv(algorithm, this.#secret, iv);
    c.setAutoPadding(false);
    return c;
  }

  #decipher(algorithm: string, iv: Uint8Array | null): Decipher {
    const d = createDecipheriv(algorithm, this.#secret, iv);
    d.setAutoPadding(false);
    return d;
  }

  #update(ctx: Cipher | Decipher, input: Uint8Array): Buffer {
    let out: Buffer;
    try {
      out = ctx.update(input);
    } catch (err) {
      this.#reset();
      throw err;
    }
    if (out.length !== input.length) {
      this.#reset();
      throw new CryptoError('bad_block', 'cipher returned an unexpected length', {
        expected: input.length,
        actual: out.length,
      });
    }
    return out;
  }

  #reset(): void {
    this.#ecbEnc = undefined;
    this.#ecbDec = undefined;
    this.#cbcEnc = undefined;
    this.#cbcChain.fill(0);
  }
}

/** Throws `bad_key_length` unless `length` is 8, 16 or 24. */
export function checkKeyLength(length: number, role: KeyRole = 'key'): DesKeyLength {
  if (length === 8 || length === 16 || length === 24) return length;
  throw new CryptoError('bad_key_length', `${role} must be 8, 16 or 24 bytes`, {
    key: role,
    expected: '8, 16 or 24',
    actual: length,
  });
}

/** K1 -> K1|K1|K1, K1|K2 -> K1|K2|K1, K1|K2|K3 unchanged (always a new Buffer). */
function expandKey(key: Buffer): Buffer {
  const out = Buffer.alloc(24);
  if (key.length === 8) {
    key.copy(out, 0);
    key.copy(out, 8);
    key.copy(out, 16);
  } else if (key.length === 16) {
    key.copy(out, 0);
    key.copy(out, 16, 0, 8);
  } else {
    key.copy(out, 0);
  }
  return out;
}

function requireBlocks(data: Uint8Array): void {
  if (data.length === 0 || data.length % DES_BLOCK !== 0) {
    throw new CryptoError('bad_block', 'data must be a non-empty multiple of 8 bytes', {
      expected: 'multiple of 8',
      actual: data.length,
    });
  }
}

function requireIv(iv: Uint8Array): void {
  if (iv.length !== DES_BLOCK) {
    throw new CryptoError('bad_block', 'IV must be 8 bytes', { expected: DES_BLOCK, actual: iv.length });
  }
}

/** Sets each byte's low bit so the byte has odd parity (the DES key parity convention), in place. */
export function withOddParity(key: Buffer): Buffer {
  for (let i = 0; i < key.length; i++) {
    let b = (key[i] as number) & 0xfe;
    let ones = 0;
    for (let v = b; v; v >>= 1) ones += v & 1;
    if (ones % 2 === 0) b |= 1;
    key[i] = b;
  }
  return key;
}

/** A random DES/3DES key with odd parity. For two-key length the halves are guaranteed to differ. */
export function randomDesKeyBytes(length: DesKeyLength = 16): Buffer {
  for (;;) {
    const key = withOddParity(randomBytes(length));
    if (length === 8 || !key.subarray(0, 8).equals(key.subarray(8, 16))) return key;
  }
}
