/** Shared by the daemon process tests: free ports, a port held busy, and a user who may not read. */
import { spawnSync, type SpawnOptions } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** A server holding a port, as another program would. */
export async function holdPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return {
    port: (s.address() as net.AddressInfo).port,
    release: () => new Promise((r) => s.close(() => r())),
  };
}

/** True when nothing listens on `port` any more (it can be bound again). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Rejects after `ms` with `what` (a process that hangs fails the test instead of timing it out). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * How to make a directory this test's child process may not use. As root chmod denies nothing, so the
 * child runs as `nobody` (uid 65534) on a root-owned directory; as any other user, chmod does it.
 * `reason` says why it cannot be done here (then the test is skipped, loudly).
 */
export interface Denial {
  /** Spawn options for the child (uid/gid when running as root). */
  spawn: Pick<SpawnOptions, 'uid' | 'gid'>;
  /** Makes `dir` unreadable (mode 0o700 owned by root for nobody, else 0o000) for the child. */
  unreadable(dir: string): void;
  /** Makes `dir` readable but not writable for the child. */
  unwritable(dir: string): void;
  /** Restores `dir` so the test can clean up. */
  restore(dir: string): void;
}

export function denial(root: string): Denial | { reason: string } {
  const uid = process.getuid?.();
  if (uid === undefined) return { reason: 'no POSIX user ids on this platform' };
  if (uid !== 0)
    return {
      spawn: {},
      unreadable: (d) => chmodSync(d, 0o000),
      unwritable: (d) => chmodSync(d, 0o500),
      restore: (d) => chmodSync(d, 0o700),
    };
  const cli = join(root, 'dist', 'src', 'daemon', 'cli.js');
  if (!existsSync(cli))
    return { reason: 'running as root needs the built CLI (npm run build) to run it as nobody' };
  const probe = spawnSync(process.execPath, [cli, '--help'], { uid: 65534, gid: 65534, cwd: '/' });
  if (probe.error || probe.status !== 0)
    return {
      reason: `running as root and cannot run the CLI as nobody (uid 65534): ${probe.error?.message ?? probe.stderr.toString().trim()}`,
    };
  return {
    spawn: { uid: 65534, gid: 65534 },
    unreadable: (d) => chmodSync(d, 0o700),
    unwritable: (d) => chmodSync(d, 0o755),
    restore: (d) => chmodSync(d, 0o700),
  };
}

/** Listening TCP servers in this process (Node's own resource list). */
export function listeningServers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
}

/** The number of listening servers once closes in progress have finished (up to `ms`). */
export async function settledListeningServers(target: number, ms = 2000): Promise<number> {
  const deadline = Date.now() + ms;
  while (listeningServers() !== target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return listeningServers();
}

/** The number of listening servers once it has not changed for 200 ms (earlier closes finished). */
export async function quietListeningServers(): Promise<number> {
  let n = listeningServers();
  let since = Date.now();
  while (Date.now() - since < 200) {
    await new Promise((r) => setTimeout(r, 20));
    const now = listeningServers();
    if (now !== n) {
      n = now;
      since = Date.now();
    }
  }
  return n;
}
