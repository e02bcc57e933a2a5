import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PosbridgeClient } from '../../src/api/client/index.js';
import { startHostSimulator, type HostSimulator } from '../../simulators/host/index.js';
import {
  DEFAULT_SERIAL_NUMBER,
  startReaderSimulator,
  type ReaderSimulatorHandle,
} from '../../simulators/reader/index.js';

// The real `posbridge` CLI as a child process: start, token, journal, doctor, recover, and a SIGKILL
// mid-payment after which the client's replay shows the payment's true final state.
const CLI = ['--import', 'tsx', join(process.cwd(), 'src', 'daemon', 'cli.ts')];
let host: HostSimulator;
let reader: ReaderSimulatorHandle;
let dir = '';
let configFile = '';
let port = 0;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function startDaemon(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, 'start', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const t = setTimeout(() => reject(new Error('daemon did not get ready')), 20_000);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.includes('"ready":true')) {
        clearTimeout(t);
        resolve(child);
      }
    });
    child.stderr!.resume();
  });
}

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [...CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, POSBRIDGE_HOME: dir },
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pb-cli-'));
  host = await startHostSimulator({ controlPort: null, ledgerFile: join(dir, 'ledger.json') });
  reader = await startReaderSimulator({ tcp: { port: 0 }, control: false });
  reader.setBehaviour({ cardDelayMs: 0, pinDigitDelayMs: 0, processingDelayMs: 0 });
  port = await freePort();
  configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      port,
      stateDir: dir,
      terminalId: 'CLIT0001',
      merchantId: '898310048160001',
      host: { address: '127.0.0.1', port: host.isoPort },
      readers: [
        { transport: 'tcp', host: '127.0.0.1', port: reader.port, pairedSerials: [DEFAULT_SERIAL_NUMBER] },
      ],
      timers: { hostResponseMs: 1500, hostIdleEchoMs: 0, safPollMs: 100 },
      logLevel: 'info',
    }),
  );
});

afterAll(async () => {
  await reader?.close();
  await host?.close();
});

describe('posbridge CLI and daemon process', () => {
  it('refuses an invalid configuration with every problem and its path (exit 4)', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ terminalId: 'X', host: { address: 'h' }, readers: [], colour: 1 }));
    const r = cli('start', '--config', bad);
    expect(r.status).toBe(4);
    expect(r.stderr).toContain('/terminalId');
    expect(r.stderr).toContain('/host/port is required');
    expect(r.stderr).toContain('/colour is not a known setting');
  });

  it('start, token, journal, doctor, recover; SIGKILL mid-payment, restart, the replay shows the truth', async () => {
    let daemon = await startDaemon();
    const token = cli('token').stdout.trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const pb = new PosbridgeClient({
      url: `ws://127.0.0.1:${port}/ws`,
      token,
      WebSocket: WebSocket as never,
      reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
    });
    await pb.connect();
    const first = await pb.payment.sale({
      idempotencyKey: 'cli-1',
      orderId: 'CAR-1',
      amount: 50_000,
      currency: 'CNY',
    });
    expect((await pb.waitForPayment(first.paymentId, { timeoutMs: 15_000 })).state).toBe('completed');

    // A slow customer: kill the daemon while the payment is in flight.
    reader.setBehaviour({ cardDelayMs: 400 });
    const second = await pb.payment.sale({
      idempotencyKey: 'cli-2',
      orderId: 'CAR-1',
      amount: 60_000,
      currency: 'CNY',
    });
    await new Promise((r) => setTimeout(r, 250));
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon.once('exit', r));
    reader.setBehaviour({ cardDelayMs: 0 });
    daemon = await startDaemon();
    const final = await pb.waitForPayment(second.paymentId, { timeoutMs: 20_000 });
    expect(['cancelled', 'failed', 'reversed', 'completed']).toContain(final.state);
    const atHost = host.ledger
      .transactions({ tid: 'CLIT0001' })
      .filter((t) => t.amount === 60_000 && t.responseCode === '00' && !t.reversal);
    expect(atHost.length === 1).toBe(final.state === 'completed');
    pb.close();

    const list = JSON.parse(cli('journal', 'list').stdout) as { id: string; state: string }[];
    expect(list.map((o) => o.id)).toEqual(expect.arrayContaining([first.paymentId, second.paymentId]));
    const shown = cli('journal', 'show', first.paymentId);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('"purpose": "request"');
    expect(shown.stdout).not.toContain('6212345678000000010');
    expect(cli('journal', 'export').stdout.split('\n')[0]).toContain('masked_pan');
    expect(cli('journal', 'show', 'nope').status).toBe(1);
    const rec = cli('recover');
    expect(rec.status).toBe(0);
    const doc = cli('doctor', '--config', configFile, '--json');
    const checks = JSON.parse(doc.stdout) as { name: string; status: string }[];
    expect(checks.find((c) => c.name === 'acquirer host')?.status).toBe('pass');
    expect(checks.find((c) => c.name === 'journal integrity')?.status).toBe('pass');
    expect(checks.find((c) => c.name === 'sign-on')?.status).toBe('pass');

    daemon.kill('SIGTERM');
    const code = await new Promise((r) => daemon.once('exit', r));
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'daemon.json'))).toBe(false);
    expect(cli('recover').status).toBe(3);
  }, 90_000);
});
