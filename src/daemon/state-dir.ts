import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TOKEN_FILE = 'token';

/** Creates the state directory (0700) if needed. */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
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

export function readToken(dir: string): string | undefined {
  const path = join(dir, TOKEN_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}
