import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CardDataError } from './errors.js';
import { Pan } from './pan.js';

const inspect = Symbol.for('nodejs.util.inspect.custom');

/** Size of the fingerprint key in bytes (HMAC-SHA256 key). */
export const FINGERPRINT_KEY_BYTES = 32;
/** File name of the key inside the state directory. */
export const FINGERPRINT_KEY_FILE = 'fingerprint.key';
/** Format tag of fingerprints: `fp1` = HMAC-SHA256 over the ASCII PAN digits, base64url. */
export const FINGERPRINT_VERSION = 'fp1';

/**
 * The secret key for PAN fingerprints. The bytes never leave this object except through `reveal()`;
 * text forms show only the key id.
 *
 * KEEP THIS KEY. A fingerprint can only be compared with one made under the same key: if the key file
 * is lost or replaced, fingerprints in the journal can no longer be matched to a presented card, and a
 * refund that relies on "same card" needs another check (PAR or the operator). Back it up with the state
 * directory; never copy it into logs, tickets or the journal.
 */
export class FingerprintKey {
  readonly #key: Buffer;
  /** Short public id derived from the key (not reversible), carried in every fingerprint. */
  readonly id: string;

  private constructor(key: Buffer) {
    this.#key = key;
    this.id = createHmac('sha256', key).update('posbridge fingerprint key id').digest('hex').slice(0, 8);
  }

  /** Copies `bytes`, which must be exactly 32 bytes. */
  static fromBytes(bytes: Uint8Array): FingerprintKey {
    if (!(bytes instanceof Uint8Array) || bytes.length !== FINGERPRINT_KEY_BYTES) {
      throw new CardDataError(
        'invalid_fingerprint_key',
        `fingerprint key must be ${FINGERPRINT_KEY_BYTES} bytes (got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes})`,
      );
    }
    return new FingerprintKey(Buffer.from(bytes));
  }

  /** A fresh random key (for tests and for `loadOrCreateFingerprintKey`). */
  static generate(): FingerprintKey {
    return new FingerprintKey(randomBytes(FINGERPRINT_KEY_BYTES));
  }

  /** A copy of the key bytes. */
  reveal(): Buffer {
    return Buffer.from(this.#key);
  }

  /** Fingerprint of `pan`: `fp1:<key id>:<base64url HMAC-SHA256(key, PAN digits)>`. See `panFingerprint`. */
  fingerprint(pan: Pan | string): string {
    return `${FINGERPRINT_VERSION}:${this.id}:${this.#mac(pan).toString('base64url')}`;
  }

  /** See `matchFingerprint`. */
  match(fingerprint: string, pan: Pan | string): FingerprintMatch {
    const parsed = parseFingerprint(fingerprint);
    if (parsed === undefined || parsed.keyId !== this.id) return 'incomparable';
    const mac = this.#mac(pan);
    return mac.length === parsed.mac.length && timingSafeEqual(mac, parsed.mac) ? 'same' : 'different';
  }

  #mac(pan: Pan | string): Buffer {
    const digits = (pan instanceof Pan ? pan : Pan.fromDigits(pan)).reveal();
    return createHmac('sha256', this.#key).update(digits, 'latin1').digest();
  }

  toString(): string {
    return `FingerprintKey(${this.id}, ***)`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  [inspect](): string {
    return this.toString();
  }
}

/**
 * Keyed fingerprint of a PAN, so a refund can check it is the same card without the journal keeping the
 * PAN: `fp1:<key id>:<43 base64url characters>`. The same PAN and key always give the same string; a
 * different key gives an unrelated one. A plain string is accepted for simulators and tests and must be
 * 1-19 digits like `Pan`.
 */
export function panFingerprint(key: FingerprintKey, pan: Pan | string): string {
  return key.fingerprint(pan);
}

export type FingerprintMatch = 'same' | 'different' | 'incomparable';

export interface ParsedFingerprint {
  readonly version: string;
  readonly keyId: string;
  readonly mac: Buffer;
}

const FINGERPRINT = /^(fp1):([0-9a-f]{8}):([A-Za-z0-9_-]{43})$/;

/** Splits a fingerprint; undefined when it is not a well-formed `fp1` fingerprint. */
export function parseFingerprint(fingerprint: string): ParsedFingerprint | undefined {
  const m = typeof fingerprint === 'string' ? FINGERPRINT.exec(fingerprint) : null;
  if (m === null || m[1] === undefined || m[2] === undefined || m[3] === undefined) return undefined;
  return { version: m[1], keyId: m[2], mac: Buffer.from(m[3], 'base64url') };
}

/**
 * Whether `pan` is the card that produced `fingerprint`:
 * - `same`: same card;
 * - `different`: a different card (same key);
 * - `incomparable`: the fingerprint was made under another key (key lost or rotated) or is malformed,
 *   so nothing can be concluded: do not treat it as "different card" without saying why.
 * Constant-time over the MAC.
 */
export function matchFingerprint(
  key: FingerprintKey,
  fingerprint: string,
  pan: Pan | string,
): FingerprintMatch {
  return key.match(fingerprint, pan);
}

export interface FingerprintKeyFile {
  readonly key: FingerprintKey;
  readonly path: string;
  /** True when this call created the key (first start of a state directory). */
  readonly created: boolean;
  /** Rewrites the key file wrapped under another key-encrypting key (the key itself is unchanged). */
  rewrap(protector: FingerprintKeyProtector): Promise<void>;
}

/**
 * Loads `<stateDir>/fingerprint.key`, creating it when absent: 32 random bytes, mode 0600, written to
 * a temporary file, fsync'ed, then hard-linked into place (link never replaces an existing file, so two
 * processes racing both end up with the one key that won), and the directory fsync'ed. The state
 * directory is created (mode 0700) if missing.
 *
 * An existing key is reused as is; it is never regenerated, because regenerating would silently make
 * every stored fingerprint incomparable. Throws `CardDataError`:
 * - `invalid_fingerprint_key` when the file is not exactly 32 bytes (restore it from backup or, knowingly,
 *   delete it);
 * - `fingerprint_key_insecure` on POSIX when group or others have any permission on the file
 *   (fix with `chmod 600`).
 */
export async function loadOrCreateFingerprintKey(
  stateDir: string,
  options: { fileName?: string; protector?: FingerprintKeyProtector } = {},
): Promise<FingerprintKeyFile> {
  const name = options.fileName ?? FINGERPRINT_KEY_FILE;
  const path = join(stateDir, name);
  const p = options.protector;
  const existing = await readKey(path, p, name);
  if (existing) {
    // A clear key file of an older version: rewrite it wrapped (temporary file + rename).
    if (p && existing.clear) await replaceKeyFile(path, p.wrap(existing.key.reveal(), name));
    return { key: existing.key, path, created: false, rewrap: rewrapper(existing.key, path, name) };
  }

  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(FINGERPRINT_KEY_BYTES);
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  let created = false;
  try {
    try {
      await handle.writeFile(p ? p.wrap(key, name) : key);
      await handle.chmod(0o600); // the umask can only remove bits, but be explicit
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(tmp, path);
      created = true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        // another process won the race: use its key
      } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') {
        // file system without hard links: exclusive copy never replaces a key, but is not atomic
        // against a crash (a short file is then reported as invalid_fingerprint_key, not replaced)
        try {
          await copyFile(tmp, path, fsConstants.COPYFILE_EXCL);
          created = true;
        } catch (copyErr) {
          if ((copyErr as NodeJS.ErrnoException).code !== 'EEXIST') throw copyErr;
        }
      } else {
        throw err;
      }
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
    key.fill(0);
  }
  if (created) await syncDir(stateDir);
  const loaded = await readKey(path, p, name);
  if (!loaded) throw new CardDataError('invalid_fingerprint_key', `fingerprint key file vanished: ${path}`);
  return { key: loaded.key, path, created, rewrap: rewrapper(loaded.key, path, name) };
}

function rewrapper(key: FingerprintKey, path: string, name: string) {
  return async (protector: FingerprintKeyProtector): Promise<void> => {
    const bytes = key.reveal();
    try {
      await replaceKeyFile(path, protector.wrap(bytes, name));
    } finally {
      bytes.fill(0);
    }
  };
}

/**
 * Wraps the key file's content under a key-encrypting key kept outside the state directory (the crypto
 * module's `KeyEncryptionKey` fits), so the state directory alone cannot fingerprint a candidate PAN.
 */
export interface FingerprintKeyProtector {
  wrap(plain: Buffer, label: string): Buffer;
  unwrap(bytes: Buffer, label: string): Buffer;
}

/** A wrapped key file is a JSON envelope; a clear one is the 32 raw key bytes. */
const looksWrapped = (bytes: Buffer): boolean => bytes.length > FINGERPRINT_KEY_BYTES && bytes[0] === 0x7b;

async function replaceKeyFile(path: string, content: Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

async function readKey(
  path: string,
  protector: FingerprintKeyProtector | undefined,
  name: string,
): Promise<{ key: FingerprintKey; clear: boolean } | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const clear = !looksWrapped(bytes);
  if (!clear) {
    if (!protector)
      throw new CardDataError(
        'invalid_fingerprint_key',
        `fingerprint key file ${path} is wrapped under a key-encrypting key: configure the key store that wrapped it`,
      );
    const wrapped = bytes;
    bytes = protector.unwrap(wrapped, name);
  }
  try {
    if (bytes.length !== FINGERPRINT_KEY_BYTES) {
      throw new CardDataError(
        'invalid_fingerprint_key',
        `fingerprint key file ${path} holds ${bytes.length} bytes, expected ${FINGERPRINT_KEY_BYTES}; ` +
          'restore it from backup (a new key makes stored fingerprints incomparable)',
      );
    }
    if (process.platform !== 'win32') {
      const mode = (await stat(path)).mode & 0o777;
      if ((mode & 0o077) !== 0) {
        throw new CardDataError(
          'fingerprint_key_insecure',
          `fingerprint key file ${path} has mode ${mode.toString(8)}; run chmod 600 on it`,
        );
      }
    }
    return { key: FingerprintKey.fromBytes(bytes), clear };
  } finally {
    bytes.fill(0);
  }
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync on Windows
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
