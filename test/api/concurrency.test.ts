import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError, type ClientPaymentEvent, type PosbridgeClient } from '../../src/api/client/index.js';
import { startBench, until, type Bench } from './helpers.js';

let b: Bench;
let saleId: string;
beforeAll(async () => {
  b = await startBench({
    api: { auth: { tokens: { verify: () => ({ ok: true }) }, allowedOrigins: [], helloDeadlineMs: 10_000 } },
  });
  const pb = await b.connected();
  saleId = (
    await pb.payment.sale({ idempotencyKey: 'c-1', orderId: 'ORD-C', amount: 9_900, currency: 'CNY' })
  ).paymentId;
  await pb.waitForPayment(saleId);
  pb.close();
});
afterAll(async () => {
  await b?.close();
});

describe('100 concurrent clients', () => {
  it('each says hello and reads a payment and an order; all get every event of a sale in order', async () => {
    const N = 100;
    const clients: PosbridgeClient[] = [];
    const seen: ClientPaymentEvent[][] = [];
    for (let i = 0; i < N; i++) {
      const c = b.client({ clientName: `c${i}` });
      const list: ClientPaymentEvent[] = [];
      c.on('payment', (e) => list.push(e));
      clients.push(c);
      seen.push(list);
    }
    await Promise.all(clients.map((c) => c.connect()));
    expect(b.api.stats().authorised).toBeGreaterThanOrEqual(N);

    const reads = await Promise.all(
      clients.map(async (c) => {
        const [p, o] = await Promise.all([c.payment.get({ paymentId: saleId }), c.order.get('ORD-C')]);
        return { p, o };
      }),
    );
    for (const { p, o } of reads) {
      expect(p.state).toBe('completed');
      expect(o).toMatchObject({ captured: 9_900, net: 9_900 });
    }

    // One sale; everybody sees its durable events, in seq order.
    const { paymentId } = await clients[0]!.payment.sale({
      idempotencyKey: 'c-2',
      orderId: 'ORD-C',
      amount: 1_200,
      currency: 'CNY',
    });
    await b.engine.settled(paymentId);
    await until(
      () => seen.every((l) => l.some((e) => e.paymentId === paymentId && e.state === 'completed')),
      5000,
      'every client saw the completion',
    );
    for (const l of seen) {
      const states = l.filter((e) => e.paymentId === paymentId && e.durable).map((e) => e.state);
      expect(states).toEqual(['awaiting_card', 'authorizing', 'approved', 'completed']);
    }

    // Ten of them ask for a balance at once: one reader, one transaction; the rest are told reader_busy.
    b.reader.hold = true;
    const attempts = await Promise.allSettled(
      clients.slice(0, 10).map((c, i) => c.payment.balance({ idempotencyKey: `bal-${i}` })),
    );
    const ok = attempts.filter((a) => a.status === 'fulfilled');
    const busy = attempts.filter(
      (a) => a.status === 'rejected' && a.reason instanceof RpcError && a.reason.code === 'reader_busy',
    );
    expect(ok).toHaveLength(1);
    expect(busy).toHaveLength(9);
    b.reader.release();
    const id = (ok[0] as PromiseFulfilledResult<{ paymentId: string }>).value.paymentId;
    expect((await clients[0]!.waitForPayment(id)).state).toBe('completed');

    for (const c of clients) c.close();
    await until(() => b.api.stats().sessions === 0, 3000, 'sessions closed');
  });
});
