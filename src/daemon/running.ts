import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE, StateDirLock } from '../journal/index.js';
import { accessError, StateAccessError } from './failures.js';
import { probe, readToken } from './state-dir.js';

export const DAEMON_FILE = 'daemon.json';

/** Written at start so CLI commands can find the running daemon (removed at a clean stop). */
export function writeDaemonFile(stateDir: string, info: { pid: number; port: number }): void {
  writeFileSync(
    join(stateDir, DAEMON_FILE),
    `${JSON.stringify({ ...info, startedAt: new Date().toISOString() })}\n`,
    { mode: 0o600 },
  );
}

export function removeDaemonFile(stateDir: string): void {
  try {
    unlinkSync(join(stateDir, DAEMON_FILE));
  } catch {
    // already gone
  }
}

export interface RunningDaemon {
  pid: number;
  port: number;
  token: string;
}

/**
 * The daemon that owns `stateDir` right now, if one does (its lock's pid is alive and matches). A state
 * directory, lock or daemon.json this user may not read throws a StateAccessError (exit 5) instead of
 * answering "not running".
 */
export function runningDaemon(stateDir: string): RunningDaemon | undefined {
  for (const path of [stateDir, join(stateDir, LOCK_FILE)]) {
    const p = probe(path);
    if (p.kind === 'denied') throw new StateAccessError(path, p.code);
  }
  const file = join(stateDir, DAEMON_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw accessError(e, file);
  }
  const owner = StateDirLock.owner(stateDir);
  if (!owner) return undefined;
  let info: { pid: number; port: number };
  try {
    info = JSON.parse(text) as { pid: number; port: number };
  } catch {
    return undefined;
  }
  const token = readToken(stateDir);
  if (info.pid !== owner || !token) return undefined;
  return { pid: info.pid, port: info.port, token };
}

/** Calls an admin route of the running daemon (loopback, token-authenticated). */
export async function adminCall(
  d: RunningDaemon,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://127.0.0.1:${d.port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${d.token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
}
