/**
 * Sealing data at rest with AES-256-GCM (node:crypto).
 *
 * Blob format, version 1 (all integers big-endian):
 *
 *   offset  size  field
 *   0       1     version = 0x01
 *   1       4     key id (uint32): which key of the key file sealed it
 *   5       12    nonce (random per blob)
 *   17      n     ciphertext (same length as the plaintext)
 *   17+n    16    GCM authentication tag
 *
 * The GCM additional authenticated data is bytes 0..5 (version and key id) followed by the caller's
 * `aad` when given, so neither the header nor the context the caller binds (e.g. a payment id) can be
 * changed without `open` failing. Overhead: 33 bytes. Random 96-bit nonces keep the usual GCM bound of
 * about 2^32 blobs per key; rotate long before that.
 *
 * Any blob that does not open (truncated, unknown version, unknown key id, altered byte, wrong aad)
 * throws `CryptoError` `seal_invalid`, with `reason` `too_short`, `version`, `unknown_key` or
 * `auth_failed`. Keys rotate with `rotate()`: a new key becomes current, old keys still open old blobs.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { viewOf, type BytesInput } from './bytes.js';
import { CryptoError } from './errors.js';
import {
  isKeyId,
  MAX_SEAL_KEY_ID,
  readKeyFile,
  readOrCreateKeyFile,
  SEAL_KEY_BYTES,
  SEAL_KEY_FILE_NAME,
  writeKeyFile,
  type KeyFileProtector,
  type SealKeySet,
} from './seal-key-file.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

export const SEAL_VERSION = 1;
const HEADER_BYTES = 5;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const SEAL_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;

export interface SealerOptions {
  /** Key file name inside the state directory (default `seal-keys.json`). */
  fileName?: string;
  /** The key-encrypting key the key file is wrapped under (kept outside the state directory). */
  kek?: KeyFileProtector;
}

export class Sealer {
  readonly #keys = new Map<number, KeyObject>();
  #current: number;
  readonly #path: string | undefined;

  private constructor(
    set: SealKeySet,
    path: string | undefined,
    private kek?: KeyFileProtector,
  ) {
    for (const [id, key] of set.keys) {
      this.#keys.set(id, createSecretKey(key));
      key.fill(0);
    }
    this.#current = set.current;
    this.#path = path;
  }

  /** Loads the key file from `stateDir`, creating the directory (0700) and file (0600) if absent. */
  static async load(stateDir: string, options: SealerOptions = {}): Promise<Sealer> {
    const path = join(stateDir, options.fileName ?? SEAL_KEY_FILE_NAME);
    return new Sealer(await readOrCreateKeyFile(path, options.kek), path, options.kek);
  }

  /** An in-memory sealer (tests, tools); `rotate` on it adds a key in memory only. */
  static fromKeys(keys: Iterable<readonly [number, BytesInput]>, currentKeyId: number): Sealer {
    const map = new Map<number, Buffer>();
    for (const [id, key] of keys) {
      if (!isKeyId(id))
        throw new CryptoError('bad_data', 'key ids must be integers 1..4294967295', { key: 'seal' });
      const { bytes } = viewOf(key);
      if (bytes.length !== SEAL_KEY_BYTES) {
        throw new CryptoError('bad_key_length', 'a sealing key is 32 bytes', {
          key: 'seal',
          expected: SEAL_KEY_BYTES,
          actual: bytes.length,
        });
      }
      map.set(id, Buffer.from(bytes));
    }
    if (!map.has(currentKeyId))
      throw new CryptoError('bad_data', 'the current key id must be one of the keys', { key: 'seal' });
    return new Sealer({ current: currentKeyId, keys: map }, undefined);
  }

  /** Key id a blob was sealed with (without opening it); `seal_invalid` for a malformed header. */
  static keyIdOf(blob: Uint8Array): number {
    return parseHeader(blob).keyId;
  }

  get currentKeyId(): number {
    return this.#current;
  }

  get keyIds(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  /** The key file path (undefined for an in-memory sealer). */
  get path(): string | undefined {
    return this.#path;
  }

  seal(plaintext: Uint8Array, aad?: Uint8Array): Buffer {
    const keyId = this.#current;
    const key = this.#keys.get(keyId) as KeyObject;
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header[0] = SEAL_VERSION;
    header.writeUInt32BE(keyId, 1);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad ? Buffer.concat([header, aad]) : header);
    const body = cipher.update(plaintext);
    const rest = cipher.final();
    return Buffer.concat([header, nonce, body, rest, cipher.getAuthTag()]);
  }

  open(blob: Uint8Array, aad?: Uint8Array): Buffer {
    const { keyId, bytes } = parseHeader(blob);
    const key = this.#keys.get(keyId);
    if (!key)
      throw new CryptoError(
        'seal_invalid',
        `sealed with key id ${keyId}, which this key file does not hold`,
        { reason: 'unknown_key' },
      );
    const header = bytes.subarray(0, HEADER_BYTES);
    const nonce = bytes.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
    const body = bytes.subarray(HEADER_BYTES + NONCE_BYTES, bytes.length - TAG_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      decipher.setAAD(aad ? Buffer.concat([header, aad]) : header);
      const out = decipher.update(body);
      try {
        const last = decipher.final();
        return last.length ? Buffer.concat([out, last]) : out;
      } catch (err) {
        out.fill(0);
        throw err;
      }
    } catch {
      throw new CryptoError('seal_invalid', 'sealed blob failed authentication (altered, or wrong aad)', {
        reason: 'auth_failed',
      });
    }
  }

  /** Opens `blob` and seals it again with the current key (re-encrypt after a rotation). */
  reseal(blob: Uint8Array, aad?: Uint8Array): Buffer {
    const clear = this.open(blob, aad);
    try {
      return this.seal(clear, aad);
    } finally {
      clear.fill(0);
    }
  }

  /**
   * Writes the key file wrapped under another key-encrypting key (KEK rotation). The sealing keys do
   * not change: every sealed blob still opens.
   */
  async rewrap(kek: KeyFileProtector): Promise<void> {
    const path = this.#path;
    if (!path)
      throw new CryptoError('bad_data', 'an in-memory sealer has no key file to rewrap', { key: 'seal' });
    const set = await readKeyFile(path, this.kek);
    try {
      await writeKeyFile(path, set, kek);
      this.kek = kek;
    } finally {
      for (const key of set.keys.values()) key.fill(0);
    }
  }

  /**
   * Adds a fresh key, makes it current and (for a file-backed sealer) persists the key file before
   * switching. Returns the new key id.
   */
  async rotate(): Promise<number> {
    const path = this.#path;
    let set: SealKeySet;
    if (path) {
      set = await readKeyFile(path, this.kek);
    } else {
      set = { current: this.#current, keys: new Map() };
    }
    const known = [...set.keys.keys(), ...this.#keys.keys()];
    const nextId = Math.max(0, ...known) + 1;
    if (nextId > MAX_SEAL_KEY_ID) throw new CryptoError('bad_data', 'no key ids left', { key: 'seal' });
    const fresh = randomBytes(SEAL_KEY_BYTES);
    set.keys.set(nextId, Buffer.from(fresh));
    set.current = nextId;
    try {
      if (path) await writeKeyFile(path, set, this.kek);
      for (const [id, key] of set.keys) if (!this.#keys.has(id)) this.#keys.set(id, createSecretKey(key));
      this.#current = nextId;
    } finally {
      for (const key of set.keys.values()) key.fill(0);
      fresh.fill(0);
    }
    return nextId;
  }

  toString(): string {
    return `Sealer(aes-256-gcm, current key ${this.#current}, ${this.#keys.size} key(s))`;
  }

  toJSON(): Record<string, unknown> {
    return { algorithm: 'aes-256-gcm', currentKeyId: this.#current, keyIds: this.keyIds };
  }

  [inspectSymbol](): string {
    return this.toString();
  }
}

function parseHeader(blob: Uint8Array): { keyId: number; bytes: Buffer } {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length < SEAL_OVERHEAD) {
    throw new CryptoError('seal_invalid', 'sealed blob is too short', {
      reason: 'too_short',
      expected: `>= ${SEAL_OVERHEAD}`,
      actual: bytes.length,
    });
  }
  if (bytes[0] !== SEAL_VERSION) {
    throw new CryptoError('seal_invalid', 'unknown sealed blob version', {
      reason: 'version',
      expected: SEAL_VERSION,
      actual: bytes[0],
    });
  }
  return { keyId: bytes.readUInt32BE(1), bytes };
}
