/**
 * Starting the simulators and the engine runner as child processes (their ready lines give the ports),
 * for the chaos run and the QA scenarios: processes the run can SIGKILL. Also the `posbridge` CLI and the
 * demo as child processes with every output line timestamped (`spawnCli`), for the daemon's tests.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, statSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  ...(dirname(fileURLToPath(import.meta.url)).includes(`${join('dist', 'simulators')}`) ? ['..'] : []),
);

/** How to run `posbridge-sim`: the built CLI when there is one (fast), else through tsx. */
export function simCli(): string[] {
  const built = join(ROOT, 'dist', 'simulators', 'cli.js');
  return existsSync(built) && process.env['CHAOS_USE_TSX'] !== '1'
    ? [built]
    : ['--import', 'tsx', join(ROOT, 'simulators', 'cli.ts')];
}

/** The newest modification time (ms) of the TypeScript sources under `dirs` (relative to the root). */
function newestSource(dirs: string[]): number {
  let newest = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  return newest;
}

/**
 * `simCli()`, but through tsx when the build is older than a source under src/ or simulators/ (a stale
 * build would run yesterday's engine): for runs that must test the code as it is now.
 */
export function freshSimCli(): string[] {
  const built = join(ROOT, 'dist', 'simulators', 'cli.js');
  const stale = !existsSync(built) || statSync(built).mtimeMs < newestSource(['src', 'simulators']);
  return stale ? ['--import', 'tsx', join(ROOT, 'simulators', 'cli.ts')] : simCli();
}

/** How to run `posbridge`: the built CLI when there is one (what users run), else through tsx. */
export function posbridgeCli(): string[] {
  const built = join(ROOT, 'dist', 'src', 'daemon', 'cli.js');
  return existsSync(built) && process.env['CHAOS_USE_TSX'] !== '1'
    ? [built]
    : ['--import', 'tsx', join(ROOT, 'src', 'daemon', 'cli.ts')];
}

export interface CliLine {
  stream: 'stdout' | 'stderr';
  line: string;
  /** Date.now() when the line arrived. */
  at: number;
}

export interface CliProcess {
  child: ChildProcess;
  /** Date.now() at spawn. */
  startedAt: number;
  lines: CliLine[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first line (already seen or to come) matching `re`; rejects after `timeoutMs`. */
  waitForLine(re: RegExp, timeoutMs?: number, stream?: 'stdout' | 'stderr'): Promise<CliLine>;
  /** Resolves when the process has exited (and its output is read), with its code and when. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/**
 * Spawns `node <cli...> <args>` (`posbridgeCli()` or `simCli()`), recording every stdout and stderr
 * line with its arrival time.
 */
export function spawnCli(
  cli: string[],
  args: string[],
  options: Pick<SpawnOptions, 'env' | 'cwd' | 'uid' | 'gid'> = {},
): CliProcess {
  const child = spawn(process.execPath, [...cli, ...args], {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
  });
  const startedAt = Date.now();
  const lines: CliLine[] = [];
  const waiters = new Set<(l: CliLine) => void>();
  const read = (stream: 'stdout' | 'stderr'): Promise<void> =>
    new Promise((resolve) => {
      const rl = createInterface({ input: child[stream]! });
      rl.on('line', (line) => {
        const l = { stream, line, at: Date.now() };
        lines.push(l);
        for (const w of [...waiters]) w(l);
      });
      rl.once('close', () => resolve());
    });
  const reads = Promise.all([read('stdout'), read('stderr')]);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.once('exit', (code, signal) => {
        const at = Date.now();
        void reads.then(() => resolve({ code, signal, at }));
      });
    },
  );
  const text = (stream: 'stdout' | 'stderr'): string =>
    lines
      .filter((l) => l.stream === stream)
      .map((l) => `${l.line}\n`)
      .join('');
  return {
    child,
    startedAt,
    lines,
    stdout: () => text('stdout'),
    stderr: () => text('stderr'),
    exited,
    waitForLine(re, timeoutMs = 20_000, stream) {
      const match = (l: CliLine): boolean => (!stream || l.stream === stream) && re.test(l.line);
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(
            new Error(
              `no line matching ${String(re)} within ${timeoutMs} ms; output so far:\n${lines.map((l) => `[${l.stream}] ${l.line}`).join('\n')}`,
            ),
          );
        }, timeoutMs);
        const w = (l: CliLine): void => {
          if (!match(l)) return;
          clearTimeout(t);
          waiters.delete(w);
          resolve(l);
        };
        waiters.add(w);
        void exited.then(() => {
          if (!waiters.has(w)) return;
          clearTimeout(t);
          waiters.delete(w);
          reject(
            new Error(
              `exited before a line matching ${String(re)}; output:\n${lines.map((l) => `[${l.stream}] ${l.line}`).join('\n')}`,
            ),
          );
        });
      });
    },
  };
}

/** Runs `node <cli...> <args>` to its end: exit code, output, and how long it took. */
export async function runCli(
  cli: string[],
  args: string[],
  options: Pick<SpawnOptions, 'env' | 'cwd' | 'uid' | 'gid'> = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number; lines: CliLine[] }> {
  const p = spawnCli(cli, args, options);
  const { code, at } = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr(), ms: at - p.startedAt, lines: p.lines };
}

export interface Proc {
  child: ChildProcess;
  ready: Record<string, unknown>;
}

/**
 * Spawns `posbridge-sim <args>` (`cli`: how, default `simCli()`), resolves on its JSON ready line; stderr
 * (and stdout lines) go to `log`.
 */
export function startSim(args: string[], log: WriteStream, cli: string[] = simCli()): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cli, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.pipe(log, { end: false });
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not get ready`)), 20_000);
    rl.on('line', (line) => {
      log.write(`[stdout] ${line}\n`);
      if (line.startsWith('{') && line.includes('"ready"')) {
        clearTimeout(timer);
        resolve({ child, ready: JSON.parse(line) as Record<string, unknown> });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code} before ready`));
    });
  });
}

export async function httpJson(
  port: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
}

export async function killAndWait(p: Proc): Promise<void> {
  if (p.child.exitCode !== null) return;
  p.child.kill('SIGKILL');
  await new Promise((r) => p.child.once('exit', r));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
