import { randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { accessError, CliFailure, EXIT, fileSystemFailure } from './failures.js';

export const TOKEN_FILE = 'token';

/** Creates the state directory (0700) if needed. */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Creates the state directory if needed and checks this user may read and write it. Throws a
 * CliFailure (exit 5) with the one line naming the cause and the fix.
 */
export function ensureUsableStateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory())
      throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR', path: dir });
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (e) {
    if (e instanceof CliFailure) throw e;
    throw (
      fileSystemFailure(e, dir, 'writing') ??
      new CliFailure(
        EXIT.stateDir,
        `cannot use the state directory ${dir} (${(e as Error).message}): set POSBRIDGE_HOME (or --home) to a directory this user can write`,
      )
    );
  }
}

/**
 * What is at `path`: nothing yet (`missing`), something this user may read (`ok`), or something it may
 * not (`denied`: EACCES/EPERM, which `existsSync` reports as "missing").
 */
export type Probe =
  { kind: 'missing' } | { kind: 'ok'; mode: number; isDirectory: boolean } | { kind: 'denied'; code: string };

export function probe(path: string): Probe {
  try {
    const st = statSync(path);
    accessSync(path, st.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK);
    return { kind: 'ok', mode: st.mode & 0o777, isDirectory: st.isDirectory() };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    if (code === 'EACCES' || code === 'EPERM') return { kind: 'denied', code };
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    throw e;
  }
}

/**
 * The API token for scripts and QA: 256 random bits as hex, mode 0600, created on first start and kept.
 * CRM pages pair instead (issue 9) and get their own per-origin tokens.
 */
export function loadOrCreateToken(dir: string): string {
  const path = join(dir, TOKEN_FILE);
  if (existsSync(path)) {
    const token = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(token)) return token;
  }
  const token = randomBytes(32).toString('hex');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return token;
}

/**
 * The token file's content; undefined when there is none yet. A file (or directory) this user may not
 * read throws a StateAccessError ("permission denied reading <path>: ...") instead of looking missing.
 */
export function readToken(dir: string): string | undefined {
  const path = join(dir, TOKEN_FILE);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw accessError(e, path);
  }
}
