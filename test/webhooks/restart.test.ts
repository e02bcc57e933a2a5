/**
 * Result webhooks end to end across a daemon SIGKILL: the daemon's composition runs as a child process
 * (`posbridge-sim engine --webhook-url ... --webhook-secret ...`, the pattern of the chaos run) against
 * host and reader simulators in this process (their state survives the kill). A small receiver checks
 * every signature and plays a CRM backend that is down, then takes a body but dies before answering
 * (the daemon is killed at that moment), then comes up: every result arrives, at least once, with the
 * same id every time, and nothing delivered is sent again after a clean restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostSimulator } from '../../simulators/host/index.js';
import { startReaderSimulator } from '../../simulators/reader/index.js';
import { startReceiver, type Received, type Receiver } from './receiver.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Always the sources (tsx): a stale dist/ would not know --webhook-url.
const CLI = ['--import', 'tsx', join(ROOT, 'simulators', 'cli.ts')];
const SECRET = 'whsec-restart-test-0123456789';

let host: Awaited<ReturnType<typeof startHostSimulator>>;
let reader: Awaited<ReturnType<typeof startReaderSimulator>>;
let receiver: Receiver;
let stateDir: string;
let runner: { child: ChildProcess; port: number } | undefined;
let stderr = '';

function startRunner(): Promise<{ child: ChildProcess; port: number }> {
  const args = [
    'engine',
    '--dir',
    stateDir,
    '--host-port',
    String(host.isoPort),
    '--reader-port',
    String(reader.port),
    '--response-ms',
    '2000',
    '--log-level',
    'warn',
    '--webhook-url',
    receiver.url,
    '--webhook-secret',
    SECRET,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)));
    const timer = setTimeout(() => reject(new Error(`engine runner did not get ready: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{') && line.includes('"ready"')) {
        clearTimeout(timer);
        resolve({ child, port: Number((JSON.parse(line) as { http: number }).http) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`engine runner exited with ${code} before ready: ${stderr}`));
    });
  });
}

async function stopRunner(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  const r = runner;
  runner = undefined;
  if (!r || r.child.exitCode !== null) return;
  const exited = new Promise((resolve) => r.child.once('exit', resolve));
  r.child.kill(signal);
  await exited;
}

async function control(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${runner!.port}${path}`, {
    method,
    ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  return (await res.json()) as Record<string, unknown>;
}

const FINAL = ['completed', 'declined', 'reversed', 'cancelled', 'failed', 'needs_attention'];

async function sale(key: string, amount: number): Promise<string> {
  let v: Record<string, unknown> = {};
  for (let i = 0; i < 100; i++) {
    v = await control('POST', '/control/operations', {
      kind: 'sale',
      idempotencyKey: key,
      amount,
      orderId: 'CAR-WH-1',
    });
    if (v['id']) break;
    // The reader may still be connecting after a (re)start.
    expect((v['error'] as { code: string }).code).toMatch(/reader_busy|reader_not_connected/);
    await new Promise((r) => setTimeout(r, 100));
  }
  const id = String(v['id']);
  for (let i = 0; i < 300; i++) {
    const op = await control('GET', `/control/operations/${id}`);
    if (FINAL.includes(String(op['state']))) {
      expect(op['state']).toBe('completed');
      return id;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sale ${key} did not finish`);
}

const resultsOf = (rs: Received[], paymentId: string) =>
  rs.filter((r) => r.topic === 'payment.result' && r.json.data['paymentId'] === paymentId);

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'pb-webhooks-'));
  host = await startHostSimulator({ port: 0, controlPort: 0 });
  reader = await startReaderSimulator({ tcp: { port: 0 }, control: false });
  reader.setBehaviour({ card: 'cup-debit-chip', cardDelayMs: 0, pinDigitDelayMs: 0, processingDelayMs: 0 });
  receiver = await startReceiver(SECRET, 'down');
});

afterAll(async () => {
  await stopRunner('SIGKILL');
  await receiver?.close();
  await reader?.close();
  await host?.close();
});

describe('result webhooks across a daemon SIGKILL', () => {
  it('delivers every result at least once, signed, with a stable id, and never again once accepted', async () => {
    runner = await startRunner();

    // The backend is down: both results are tried and retried, every attempt signed.
    const a = await sale('wh-a', 12_800_000);
    const b = await sale('wh-b', 6_400_000);
    await receiver.until((rs) => resultsOf(rs, a).length >= 2 && resultsOf(rs, b).length >= 2);

    // The backend takes the next body but never answers; the daemon dies right then.
    receiver.mode = 'hold';
    await receiver.until((rs) => rs.some((r) => r.answered === 0));
    const held = receiver.received.find((r) => r.answered === 0)!;
    await stopRunner('SIGKILL');

    // Back up; the daemon restarts on the same journal and sends what was not acknowledged.
    receiver.mode = 'up';
    runner = await startRunner();
    await receiver.until(
      (rs) =>
        resultsOf(rs, a).some((r) => r.answered === 200) && resultsOf(rs, b).some((r) => r.answered === 200),
    );

    expect(receiver.received.every((r) => r.verified)).toBe(true);
    for (const p of [a, b]) {
      const got = resultsOf(receiver.received, p);
      // One outbox item per result: one id, one body, however many attempts and restarts.
      expect(new Set(got.map((r) => r.id)).size).toBe(1);
      expect(new Set(got.map((r) => r.body)).size).toBe(1);
      expect(got[0]!.json).toMatchObject({
        id: got[0]!.id,
        topic: 'payment.result',
        data: {
          paymentId: p,
          state: 'completed',
          orderId: 'CAR-WH-1',
          currency: 'CNY',
          amount: expect.any(Number),
        },
      });
      expect(got.filter((r) => r.answered === 200)).toHaveLength(1);
    }
    // At least once: the body the backend had when the daemon died came again, with the same id.
    const again = receiver.received.filter((r) => r.id === held.id && r.answered === 200);
    expect(again).toHaveLength(1);
    expect(again[0]!.body).toBe(held.body);
    // No card number beyond the masked PAN.
    expect(receiver.received.map((r) => r.body).join('')).not.toMatch(/\d{13,19}/);

    // A clean restart: what was accepted is not sent again. A new result goes out (in outbox
    // order, so a re-send of a or b would come before it).
    await stopRunner('SIGTERM');
    runner = await startRunner();
    const before = receiver.received.length;
    const c = await sale('wh-c', 3_200_000);
    await receiver.until((rs) => resultsOf(rs, c).some((r) => r.answered === 200));
    const after = receiver.received.slice(before);
    expect(after.every((r) => r.json.data['paymentId'] === c)).toBe(true);
    expect(after).toHaveLength(1);
  }, 90_000);
});
