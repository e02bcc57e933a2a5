/**
 * Starting the simulators and the engine runner as child processes (their ready lines give the ports),
 * for the chaos run and the QA scenarios: processes the run can SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, type WriteStream } from 'node:fs';
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

export interface Proc {
  child: ChildProcess;
  ready: Record<string, unknown>;
}

/** Spawns `posbridge-sim <args>`, resolves on its JSON ready line; stderr (and stdout lines) go to `log`. */
export function startSim(args: string[], log: WriteStream): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...simCli(), ...args], {
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
