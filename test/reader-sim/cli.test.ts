/** `posbridge-sim reader` as a process: one ready line, a driver can use it, SIGTERM stops it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ReaderDriver,
  SerialTransport,
  TcpTransport,
  loadReaderProfile,
  type Transport,
} from '../../src/terminal/index.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function start(
  args: string[],
): Promise<{ child: ChildProcess; ready: Record<string, unknown>; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'simulators/cli.ts', 'reader', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const lines: string[] = [];
    rl.on('line', (line) => {
      lines.push(line);
      if (lines.length === 1)
        resolve({ child, ready: JSON.parse(line) as Record<string, unknown>, stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

function exit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });
}

async function useReader(transport: Transport, profile = 'posbridge'): Promise<void> {
  const driver = new ReaderDriver({
    transport,
    profile: loadReaderProfile(profile),
    pairedSerials: ['PBR-CLI-7'],
    timers: { connectMs: 3000, backoffInitialMs: 50 },
  });
  driver.start();
  try {
    await driver.whenReady(5000);
    const info = await driver.info();
    expect(info).toMatchObject({ serialNumber: 'PBR-CLI-7', model: 'posbridge-sim' });
  } finally {
    await driver.close();
  }
}

describe('posbridge-sim reader', () => {
  it('--tcp 0: prints one ready line with both ports, serves a driver, stops on SIGTERM', async () => {
    const { child, ready, stderr } = await start([
      '--tcp',
      '0',
      '--control-port',
      '0',
      '--serial-number',
      'PBR-CLI-7',
      '--profile',
      'mpos-lenpfx',
    ]);
    expect(ready).toEqual({ ready: true, tcp: expect.any(Number), control: expect.any(Number) });
    const health = (await (
      await fetch(`http://127.0.0.1:${ready['control'] as number}/health`)
    ).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ serialNumber: 'PBR-CLI-7', profile: 'mpos-lenpfx' });
    await useReader(new TcpTransport({ host: '127.0.0.1', port: ready['tcp'] as number }), 'mpos-lenpfx');
    child.kill('SIGTERM');
    expect(await exit(child)).toBe(0);
    expect(stderr()).toContain('"msg":"host connected"');
  });

  it('--serial pty: makes a pseudo-terminal and reports its path for the daemon to open', async () => {
    const { child, ready } = await start([
      '--serial',
      'pty',
      '--control-port',
      'none',
      '--serial-number',
      'PBR-CLI-7',
      '--log-level',
      'warn',
    ]);
    expect(ready).toEqual({ ready: true, serial: expect.stringMatching(/^\/dev\/pts\/\d+$/), control: null });
    await useReader(new SerialTransport({ path: ready['serial'] as string, unplugPollMs: 0 }));
    child.kill('SIGINT');
    expect(await exit(child)).toBe(0);
  });

  it('exits 2 with the usage on bad arguments', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'simulators/cli.ts', 'reader', '--tcp', '0', '--serial', 'pty'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    expect(await exit(child)).toBe(2);
    expect(err).toContain('give one of --tcp');
  });
});
