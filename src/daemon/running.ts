import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateDirLock } from '../journal/index.js';
import { readToken } from './state-dir.js';

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

/** The daemon that owns `stateDir` right now, if one does (its lock's pid is alive and matches). */
export function runningDaemon(stateDir: string): RunningDaemon | undefined {
  const owner = StateDirLock.owner(stateDir);
  const file = join(stateDir, DAEMON_FILE);
  if (!owner || !existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; port: number };
    const token = readToken(stateDir);
    if (info.pid !== owner || !token) return undefined;
    return { pid: info.pid, port: info.port, token };
  } catch {
    return undefined;
  }
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
