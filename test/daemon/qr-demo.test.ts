import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PosbridgeClient, type PaymentEvent } from '../../src/api/client/index.js';
import { startDemo, type Demo } from '../../simulators/demo.js';

// The demo desk takes scan-to-pay through the real Alipay / WeChat Pay adapters against the gateway
// simulators (signed requests and answers end to end): a QR the customer "scans" through the
// simulator's control API, and a payment code; then a partial refund.
let demo: Demo;
let pb: PosbridgeClient;

beforeAll(async () => {
  demo = await startDemo({
    stateDir: mkdtempSync(join(tmpdir(), 'pb-qr-demo-')),
    port: 0,
    customerDelayMs: 0,
    logLevel: 'silent',
  });
  const token = readFileSync(join(demo.daemon.config.stateDir, 'token'), 'utf8').trim();
  pb = new PosbridgeClient({
    url: `ws://127.0.0.1:${demo.port}/ws`,
    token,
    WebSocket,
    origin: `http://127.0.0.1:${demo.port}`,
  } as never);
  await pb.connect();
});
afterAll(async () => {
  pb?.close();
  await demo?.stop();
});

async function until(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('scan-to-pay on the demo desk', () => {
  it('Alipay QR scanned and paid, WeChat payment code, partial refund: signed end to end, order adds up', async () => {
    const events: PaymentEvent[] = [];
    pb.on('payment', (e) => events.push(e));
    const order = `CAR-QR-${Date.now()}`;
    const { paymentId } = await pb.payment.qr({
      idempotencyKey: `${order}-a`,
      orderId: order,
      amount: 1_288_800,
      currency: 'CNY',
      method: 'alipay',
    });
    await until(async () => !!(await pb.payment.get({ paymentId })).qr?.qrContent);
    const p = await pb.payment.get({ paymentId });
    const res = await fetch(`http://127.0.0.1:${demo.port}/sim/qr/scan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qrContent: p.qr!.qrContent, action: 'pay' }),
    });
    expect(res.status).toBe(200);
    await until(async () => (await pb.payment.get({ paymentId })).state === 'completed');
    const { paymentId: w } = await pb.payment.qr({
      idempotencyKey: `${order}-w`,
      orderId: order,
      amount: 300_000,
      currency: 'CNY',
      method: 'wechat',
      authCode: '134567890123456789',
    });
    await until(async () => (await pb.payment.get({ paymentId: w })).state === 'completed');
    const r = await pb.payment.refund({ idempotencyKey: `${order}-r`, paymentId, amount: 88_800 } as never);
    await until(async () => (await pb.payment.get({ paymentId: r.paymentId })).state === 'completed');
    expect(await pb.order.get(order)).toMatchObject({
      captured: 1_588_800,
      refunded: 88_800,
      net: 1_500_000,
    });
    expect(JSON.stringify(events)).not.toContain('134567890123456789');
  });
});
