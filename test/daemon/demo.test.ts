import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PosbridgeClient, newIdempotencyKey } from '../../src/api/client/index.js';
import { startDemo, type Demo } from '../../simulators/demo.js';

// The composition `npm start` runs (daemon + host and reader simulators), driven by the typed client
// exactly as the README's ten-line script does.
let demo: Demo;
let token = '';

beforeAll(async () => {
  demo = await startDemo({
    stateDir: mkdtempSync(join(tmpdir(), 'pb-demo-')),
    port: 0,
    customerDelayMs: 0,
    logLevel: 'silent',
  });
  token = readFileSync(join(demo.daemon.config.stateDir, 'token'), 'utf8').trim();
});
afterAll(async () => {
  await demo?.stop();
});

describe('the demo daemon', () => {
  it('keeps the token file private and answers /healthz and /metrics', async () => {
    expect(statSync(join(demo.daemon.config.stateDir, 'token')).mode & 0o777).toBe(0o600);
    for (let i = 0; i < 100 && !(demo.daemon.health()['ready'] as boolean); i++)
      await new Promise((r) => setTimeout(r, 20));
    const health = (await (await fetch(`http://127.0.0.1:${demo.port}/healthz`)).json()) as Record<
      string,
      unknown
    >;
    expect(health).toMatchObject({ ready: true, host: 'ready' });
    const metrics = await (await fetch(`http://127.0.0.1:${demo.port}/metrics`)).text();
    expect(metrics).toContain('# TYPE posbridge_saf_depth gauge');
    expect(metrics).toContain('posbridge_host_link_up 1');
  });

  it('takes a payment from a ten-line client script', async () => {
    const pb = new PosbridgeClient({
      url: `ws://127.0.0.1:${demo.port}/ws`,
      token,
      WebSocket: WebSocket as never,
    });
    await pb.connect();
    const { paymentId } = await pb.payment.sale({
      idempotencyKey: newIdempotencyKey(),
      orderId: 'CAR-2024-0001',
      amount: 12_345_600,
      currency: 'CNY',
    });
    const payment = await pb.waitForPayment(paymentId, { timeoutMs: 20_000 });
    pb.close();
    expect(payment.state).toBe('completed');
    expect(JSON.stringify(payment)).not.toContain('6212345678000000010');
  });

  it('proxies the simulators control APIs under /sim/', async () => {
    const cards = (await (await fetch(`http://127.0.0.1:${demo.port}/sim/host/cards`)).json()) as unknown[];
    expect(cards.length).toBeGreaterThan(3);
    expect(JSON.stringify(cards)).not.toMatch(/6212345678000000010/);
  });
});
