/**
 * The sealing key file in the state directory (default name `seal-keys.json`, mode 0600):
 *
 *   { "format": "posbridge-seal-keys", "version": 1, "current": 2,
 *     "keys": { "1": "<base64 of 32 bytes>", "2": "<base64 of 32 bytes>" } }
 *
 * Key ids are integers 1..4294967295; `current` is the id new blobs are sealed with; old keys stay so
 * old blobs still open. The file is created exclusively (written to a temporary file, fsynced, then
 * hard-linked into place so no reader ever sees a partial file), and rewritten atomically (temporary
 * file + rename) when a key is added. An existing file readable by group or others is refused with
 * `key_file_insecure` (POSIX only). Concurrent rotation by two processes is not supported: one process
 * owns a state directory at a time (see ARCHITECTURE.md).
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, copyFile, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CryptoError } from './errors.js';
import { isWrapped } from './kek.js';

export const SEAL_KEY_FILE_NAME = 'seal-keys.json';
export const SEAL_KEY_BYTES = 32;
export const MAX_SEAL_KEY_ID = 0xffffffff;
const FORMAT = 'posbridge-seal-keys';

/**
 * Wraps a key file's content under a key-encrypting key kept outside the state directory (`KeyEncryptionKey`).
 * Without one the file is written in clear (tests, tools); with one, a clear file of an older version is
 * rewritten wrapped at the next read.
 */
export interface KeyFileProtector {
  wrap(plain: Buffer, label: string): Buffer;
  unwrap(bytes: Buffer, label: string): Buffer;
}

export interface SealKeySet {
  current: number;
  /** Key id -> 32-byte key. */
  keys: Map<number, Buffer>;
}

/** Reads the key file, creating it with one fresh key (id 1) when it does not exist. */
export async function readOrCreateKeyFile(path: string, protector?: KeyFileProtector): Promise<SealKeySet> {
  try {
    const { set, wrapped } = await readKeyFileState(path, protector);
    // An older clear file: wrap it now (the clear copy is replaced by rename).
    if (protector && !wrapped) await writeKeyFile(path, cloneSet(set), protector);
    return set;
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const fresh: SealKeySet = { current: 1, keys: new Map([[1, randomBytes(SEAL_KEY_BYTES)]]) };
  const tmp = await writeTemp(path, fresh, protector);
  try {
    try {
      await link(tmp, path);
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return await readKeyFile(path, protector); // another process created it first
      if (!isErrno(err, 'EPERM') && !isErrno(err, 'ENOTSUP') && !isErrno(err, 'ENOSYS')) throw err;
      // File systems without hard links: exclusive copy (not atomic, but never overwrites).
      try {
        await copyFile(tmp, path, fsConstants.COPYFILE_EXCL);
      } catch (copyErr) {
        if (isErrno(copyErr, 'EEXIST')) return await readKeyFile(path, protector);
        throw copyErr;
      }
      await chmod(path, 0o600);
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await syncDir(dirname(path));
  return fresh;
}

/** Replaces the key file atomically with `set`. */
export async function writeKeyFile(
  path: string,
  set: SealKeySet,
  protector?: KeyFileProtector,
): Promise<void> {
  const tmp = await writeTemp(path, set, protector);
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dirname(path));
}

export async function readKeyFile(path: string, protector?: KeyFileProtector): Promise<SealKeySet> {
  return (await readKeyFileState(path, protector)).set;
}

async function readKeyFileState(
  path: string,
  protector: KeyFileProtector | undefined,
): Promise<{ set: SealKeySet; wrapped: boolean }> {
  const st = await stat(path);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new CryptoError(
      'key_file_insecure',
      `sealing key file ${path} is accessible by group or others (chmod 600 it)`,
      {
        key: 'seal',
        expected: '0600',
        actual: `0${(st.mode & 0o777).toString(8)}`,
      },
    );
  }
  const bytes = await readFile(path);
  if (isWrapped(bytes)) {
    if (!protector)
      throw new CryptoError(
        'kek_required',
        `sealing key file ${path} is wrapped under a key-encrypting key: configure the key store that wrapped it`,
        { key: 'seal' },
      );
    return {
      set: parseKeyFile(protector.unwrap(bytes, SEAL_KEY_FILE_NAME).toString('utf8'), path),
      wrapped: true,
    };
  }
  return { set: parseKeyFile(bytes.toString('utf8'), path), wrapped: false };
}

function cloneSet(set: SealKeySet): SealKeySet {
  return { current: set.current, keys: new Map([...set.keys].map(([id, k]) => [id, Buffer.from(k)])) };
}

function parseKeyFile(text: string, path: string): SealKeySet {
  const bad = (why: string): CryptoError =>
    new CryptoError('key_file_invalid', `sealing key file ${path} is invalid: ${why}`, { key: 'seal' });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw bad('not an object');
  const o = doc as Record<string, unknown>;
  if (o.format !== FORMAT || o.version !== 1) throw bad(`format must be "${FORMAT}" version 1`);
  if (typeof o.keys !== 'object' || o.keys === null || Array.isArray(o.keys))
    throw bad('"keys" must be an object');
  const keys = new Map<number, Buffer>();
  for (const [idText, value] of Object.entries(o.keys as Record<string, unknown>)) {
    const id = Number(idText);
    if (!/^[1-9][0-9]*$/.test(idText) || !isKeyId(id)) throw bad('key ids must be integers 1..4294967295');
    if (typeof value !== 'string') throw bad(`key ${id} is not a base64 string`);
    const key = Buffer.from(value, 'base64');
    if (key.length !== SEAL_KEY_BYTES || key.toString('base64') !== value) {
      key.fill(0);
      throw bad(`key ${id} is not 32 bytes of base64`);
    }
    keys.set(id, key);
  }
  if (typeof o.current !== 'number' || !keys.has(o.current)) throw bad('"current" must name one of the keys');
  return { current: o.current, keys };
}

export function isKeyId(id: number): boolean {
  return Number.isInteger(id) && id >= 1 && id <= MAX_SEAL_KEY_ID;
}

function serialise(set: SealKeySet): string {
  const keys: Record<string, string> = {};
  for (const id of [...set.keys.keys()].sort((a, b) => a - b))
    keys[String(id)] = (set.keys.get(id) as Buffer).toString('base64');
  return `${JSON.stringify({ format: FORMAT, version: 1, current: set.current, keys }, null, 2)}\n`;
}

/** Writes `set` to a fresh temporary file next to `path` (mode 0600, fsynced) and returns its name. */
async function writeTemp(path: string, set: SealKeySet, protector?: KeyFileProtector): Promise<string> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.chmod(0o600);
    const text = Buffer.from(serialise(set), 'utf8');
    await fh.writeFile(protector ? protector.wrap(text, SEAL_KEY_FILE_NAME) : text);
    text.fill(0);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  return tmp;
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not every platform can fsync a directory (Windows); the rename is still atomic.
  }
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
