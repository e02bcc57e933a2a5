/**
 * The key-encrypting key (KEK): the one key that is never stored beside the data (PCI DSS 4.0 3.6.1.2 /
 * 3.6.1.3). The data-encrypting keys in the state directory (the sealing keys of PANs, the fingerprint
 * key) are kept there only wrapped under it (AES-256-GCM), so a copy of the state directory, on its own,
 * opens nothing and fingerprints nothing.
 *
 * Where the KEK lives:
 * - `os`: the operating system's credential store (macOS Keychain, Windows Credential Manager, Linux
 *   Secret Service) through `@napi-rs/keyring`, one entry per state directory;
 * - `file`: a key file at a configured path that must not be inside the state directory (0600). Weaker
 *   than the OS store (a copy of both folders opens everything): `posbridge doctor` says so.
 * There is no silent fallback: a store that cannot be used is a typed error naming the fix.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { CryptoError } from './errors.js';

export const KEK_BYTES = 32;
const ENVELOPE = 'posbridge-kek-envelope';
const KEYRING_SERVICE = 'posbridge';

export type KekSource = { kind: 'os' } | { kind: 'file'; path: string };

/** What the OS credential store must offer (the shape of `@napi-rs/keyring`'s `Entry`), for tests. */
export interface KeyringEntry {
  getPassword(): string | null | undefined;
  setPassword(value: string): void;
}
export type KeyringFactory = (service: string, account: string) => KeyringEntry;

export interface KekLoadOptions {
  /** The state directory the KEK protects (a file KEK must be outside it; the OS entry is named by it). */
  stateDir: string;
  /** Create the KEK when none exists yet (default true: first start). */
  create?: boolean;
  /** Replaces `@napi-rs/keyring` (tests). */
  keyring?: KeyringFactory;
}

export class KeyEncryptionKey {
  readonly #key: Buffer;
  /** Short public id of the key (not reversible), written into every envelope. */
  readonly id: string;

  private constructor(
    key: Buffer,
    readonly source: KekSource,
  ) {
    this.#key = key;
    this.id = createHmac('sha256', key).update('posbridge kek id').digest('hex').slice(0, 12);
  }

  static fromBytes(key: Buffer, source: KekSource = { kind: 'file', path: '(memory)' }): KeyEncryptionKey {
    if (key.length !== KEK_BYTES)
      throw new CryptoError('bad_key_length', 'a key-encrypting key is 32 bytes', {
        key: 'kek',
        expected: KEK_BYTES,
        actual: key.length,
      });
    return new KeyEncryptionKey(Buffer.from(key), source);
  }

  static async load(source: KekSource, options: KekLoadOptions): Promise<KeyEncryptionKey> {
    const key = source.kind === 'file' ? await fileKek(source.path, options) : osKek(options);
    return new KeyEncryptionKey(key, source);
  }

  /** Wraps `plain` (a key file's content) for the file named `label` (bound as associated data). */
  wrap(plain: Buffer, label: string): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(`${ENVELOPE}:${label}`));
    const data = Buffer.concat([c.update(plain), c.final()]);
    const envelope = {
      format: ENVELOPE,
      version: 1,
      kek: this.id,
      iv: iv.toString('base64'),
      tag: c.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
    return Buffer.from(`${JSON.stringify(envelope)}\n`);
  }

  /** Opens an envelope made by `wrap` for `label`; `kek_mismatch` under another KEK. */
  unwrap(bytes: Buffer, label: string): Buffer {
    const e = parseEnvelope(bytes);
    if (!e) throw new CryptoError('bad_data', `${label} is not a wrapped key file`);
    if (e.kek !== this.id)
      throw new CryptoError(
        'kek_mismatch',
        `${label} is wrapped under another key-encrypting key (id ${e.kek}, this one is ${this.id}): use the key store that wrapped it`,
        { key: 'kek' },
      );
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(e.iv, 'base64'));
      d.setAAD(Buffer.from(`${ENVELOPE}:${label}`));
      d.setAuthTag(Buffer.from(e.tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(e.data, 'base64')), d.final()]);
    } catch {
      throw new CryptoError('kek_mismatch', `${label} does not open under this key-encrypting key`, {
        key: 'kek',
      });
    }
  }

  toString(): string {
    return `KeyEncryptionKey(${this.source.kind}, id ${this.id})`;
  }
  toJSON(): Record<string, unknown> {
    return { source: this.source.kind, id: this.id };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** True when `bytes` is a KEK envelope (a wrapped key file). */
export function isWrapped(bytes: Buffer): boolean {
  return parseEnvelope(bytes) !== undefined;
}

function parseEnvelope(bytes: Buffer): { kek: string; iv: string; tag: string; data: string } | undefined {
  if (bytes[0] !== 0x7b) return undefined; // '{'
  try {
    const e = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (e['format'] !== ENVELOPE || e['version'] !== 1) return undefined;
    if (![e['kek'], e['iv'], e['tag'], e['data']].every((v) => typeof v === 'string')) return undefined;
    return e as { kek: string; iv: string; tag: string; data: string };
  } catch {
    return undefined;
  }
}

/** The OS credential store's entry name for a state directory. */
export function keyringAccount(stateDir: string): string {
  return `kek:${createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 16)}`;
}

function osKek(options: KekLoadOptions): Buffer {
  const account = keyringAccount(options.stateDir);
  const unavailable = (why: string): CryptoError =>
    new CryptoError(
      'kek_unavailable',
      `the OS credential store cannot be used (${why}): run posbridge where it is available, or configure "keyStore": {"kind": "file", "path": "<a path outside the state directory>"} (or POSBRIDGE_KEY_FILE)`,
      { key: 'kek' },
    );
  let entry: KeyringEntry;
  try {
    if (options.keyring) entry = options.keyring(KEYRING_SERVICE, account);
    else {
      // Loaded only when the OS store is chosen: a machine without it never loads the native module.
      const { Entry } = createRequire(import.meta.url)('@napi-rs/keyring') as {
        Entry: new (s: string, a: string) => KeyringEntry;
      };
      entry = new Entry(KEYRING_SERVICE, account);
    }
  } catch (e) {
    throw unavailable((e as Error).message);
  }
  let stored: string | null | undefined;
  try {
    stored = entry.getPassword();
  } catch (e) {
    throw unavailable((e as Error).message);
  }
  if (stored) return decodeKek(Buffer.from(stored), `OS credential store entry ${account}`);
  if (options.create === false)
    throw new CryptoError('kek_missing', `no key-encrypting key in the OS credential store (${account})`, {
      key: 'kek',
    });
  const key = randomBytes(KEK_BYTES);
  try {
    entry.setPassword(key.toString('base64'));
    // Read back: a store that accepts and forgets would lose every sealed PAN at the next start.
    if (entry.getPassword() !== key.toString('base64')) throw new Error('the entry did not read back');
  } catch (e) {
    throw unavailable((e as Error).message);
  }
  return key;
}

async function fileKek(path: string, options: KekLoadOptions): Promise<Buffer> {
  if (!isAbsolute(path))
    throw new CryptoError('kek_file_invalid', `the key file path must be absolute (got ${path})`, {
      key: 'kek',
    });
  const rel = relative(resolve(options.stateDir), resolve(path));
  if (!rel.startsWith('..') && !isAbsolute(rel))
    throw new CryptoError(
      'kek_inside_state_dir',
      `the key-encrypting key file ${path} is inside the state directory: a copy of the directory would open every sealed PAN; put it elsewhere (e.g. /etc/posbridge/kek)`,
      { key: 'kek' },
    );
  try {
    const st = await stat(path);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
      throw new CryptoError(
        'key_file_insecure',
        `key file ${path} is accessible by group or others (chmod 600 it)`,
        {
          key: 'kek',
        },
      );
    return decodeKek(await readFile(path), path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (options.create === false)
    throw new CryptoError('kek_missing', `no key-encrypting key file at ${path}`, { key: 'kek' });
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEK_BYTES);
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const h = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await h.writeFile(`${key.toString('base64')}\n`);
    await h.sync();
  } finally {
    await h.close();
  }
  try {
    await link(tmp, path); // never replaces a key another process just created
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return decodeKek(await readFile(path), path);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return key;
}

function decodeKek(text: Buffer, where: string): Buffer {
  const key = Buffer.from(text.toString('utf8').trim(), 'base64');
  if (key.length !== KEK_BYTES)
    throw new CryptoError('kek_file_invalid', `${where} does not hold a 32-byte base64 key`, { key: 'kek' });
  return key;
}
