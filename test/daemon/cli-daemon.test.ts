import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

// Asynchronous on purpose: the simulators live in this process and must keep answering while a
// command (settle, reconcile) makes the daemon talk to them.
const cli = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      env: { ...process.env, POSBRIDGE_HOME: dir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
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
  it('refuses an invalid configuration with every problem and its path (exit 4)', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ terminalId: 'X', host: { address: 'h' }, readers: [], colour: 1 }));
    const r = await cli('start', '--config', bad);
    expect(r.status).toBe(4);
    expect(r.stderr).toContain('/terminalId');
    expect(r.stderr).toContain('/host/port is required');
    expect(r.stderr).toContain('/colour is not a known setting');
  });

  it('start, token, journal, doctor, recover; SIGKILL mid-payment, restart, the replay shows the truth', async () => {
    let daemon = await startDaemon();
    const token = (await cli('token')).stdout.trim();
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

    const settled = await cli('settle');
    expect(settled.status, settled.stdout + settled.stderr).toBe(0);
    expect(JSON.parse(settled.stdout)).toMatchObject({ outcome: 'settled' });
    const { path: csvPath } = await host.writeSettlementFile({ tid: 'CLIT0001' });
    const recon = await cli('reconcile', '--file', csvPath);
    expect([0, 1]).toContain(recon.status);
    expect(recon.stdout.length).toBeGreaterThan(10);

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

    const list = JSON.parse((await cli('journal', 'list')).stdout) as { id: string; state: string }[];
    expect(list.map((o) => o.id)).toEqual(expect.arrayContaining([first.paymentId, second.paymentId]));
    const shown = await cli('journal', 'show', first.paymentId);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('"purpose": "request"');
    expect(shown.stdout).not.toContain('6212345678000000010');
    expect((await cli('journal', 'export')).stdout.split('\n')[0]).toContain('masked_pan');
    expect((await cli('journal', 'show', 'nope')).status).toBe(1);
    const rec = await cli('recover');
    expect(rec.status).toBe(0);
    const doc = await cli('doctor', '--config', configFile, '--json');
    const checks = JSON.parse(doc.stdout) as { name: string; status: string }[];
    expect(checks.find((c) => c.name === 'acquirer host')?.status).toBe('pass');
    expect(checks.find((c) => c.name === 'journal integrity')?.status).toBe('pass');
    expect(checks.find((c) => c.name === 'sign-on')?.status).toBe('pass');
    // This machine has no Bluetooth: a warning (no BLE reader configured), found quickly.
    expect(checks.find((c) => c.name === 'Bluetooth')?.status).toMatch(/pass|warn/);

    const t0 = Date.now();
    const scan = await cli('readers', 'scan', '--timeout-ms', '500');
    expect(Date.now() - t0).toBeLessThan(8000);
    if (scan.status !== 0)
      expect(scan.stdout).toMatch(/no_bluetooth_adapter|bluetooth_off|bluetooth_unauthorized/);

    daemon.kill('SIGTERM');
    const code = await new Promise((r) => daemon.once('exit', r));
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'daemon.json'))).toBe(false);
    expect((await cli('recover')).status).toBe(3);
    // The real rotating log file, after payments, a SIGKILL and a restart: no PAN in any form.
    const log = readFileSync(join(dir, 'logs', 'posbridge.log'));
    expect(log.length).toBeGreaterThan(1000);
    const pan = '6212345678000000010';
    for (const form of [
      Buffer.from(pan),
      Buffer.from(`${pan}0`, 'hex'),
      Buffer.from(Buffer.from(pan).toString('hex')),
    ]) {
      expect(log.includes(form)).toBe(false);
    }
  }, 90_000);
});
