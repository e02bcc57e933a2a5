import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RpcError,
  newIdempotencyKey,
  type ClientPaymentEvent,
  type PosbridgeClient,
} from '../../src/api/client/index.js';
import { startBench, until, type Bench } from './helpers.js';

let b: Bench;
let pb: PosbridgeClient;
const events: ClientPaymentEvent[] = [];

beforeAll(async () => {
  b = await startBench({ engine: { supervisorThreshold: 5_000_000, supervisorCodes: { 'sup-1': '4711' } } });
  pb = await b.connected({ operatorId: 'op-7', clientName: 'vitest' });
  pb.on('payment', (e) => events.push(e));
});
afterAll(async () => {
  await b?.close();
});

const key = (): string => newIdempotencyKey();

async function completedSale(amount: number, orderId = `ORD-${key()}`) {
  const r = await pb.payment.sale({ idempotencyKey: key(), orderId, amount, currency: 'CNY' });
  const p = await pb.waitForPayment(r.paymentId);
  expect(p.state).toBe('completed');
  return p;
}

async function expectRpcError(p: Promise<unknown>, code: string, path?: string): Promise<RpcError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RpcError);
  expect((e as RpcError).code).toBe(code);
  if (path !== undefined) expect((e as RpcError).path).toBe(path);
  return e as RpcError;
}

describe('session', () => {
  it('session.hello: protocol version, last seq, operator, currency', () => {
    expect(pb.state).toBe('ready');
    expect(pb.session).toMatchObject({
      protocolVersion: 1,
      serverVersion: 'test',
      operatorId: 'op-7',
      currency: 'CNY',
    });
    expect(typeof pb.session?.lastSeq).toBe('number');
    expect(b.api.sessions()).toContainEqual(expect.objectContaining({ authorised: true, client: 'vitest' }));
  });
});

describe('terminal.*', () => {
  it('list, status, disconnect, connect; state changes arrive as terminal.event', async () => {
    const seen: string[] = [];
    pb.on('terminal', (t) => seen.push(`${t.terminalId}:${t.state}`));
    expect((await pb.terminal.list()).terminals).toEqual([
      expect.objectContaining({ terminalId: 'R1', state: 'idle', transport: 'simulator' }),
    ]);
    expect(await pb.terminal.status()).toMatchObject({ terminalId: 'R1', state: 'idle' });
    expect(await pb.terminal.disconnect({ terminalId: 'R1' })).toMatchObject({ state: 'disconnected' });
    // A card payment needs a connected reader.
    await expectRpcError(
      pb.payment.sale({ idempotencyKey: key(), orderId: 'O', amount: 100, currency: 'CNY' }),
      'reader_not_connected',
    );
    expect(await pb.terminal.connect({ terminalId: 'R1' })).toMatchObject({ state: 'idle' });
    await until(() => seen.length >= 2, 2000, 'terminal events');
    expect(seen).toEqual(['R1:disconnected', 'R1:idle']);
    await expectRpcError(pb.terminal.status({ terminalId: 'R9' }), 'unknown_terminal', 'params.terminalId');
  });
});

describe('payment.*', () => {
  it('sale: {paymentId, state} at once, durable events with their seq and reader prompts, completed', async () => {
    const idempotencyKey = key();
    const r = await pb.payment.sale({
      idempotencyKey,
      orderId: 'ORD-1',
      amount: 12_345_600,
      currency: 'CNY',
      description: 'sofa',
    });
    expect(r).toMatchObject({ paymentId: expect.any(String), state: 'awaiting_card', existing: false });
    const p = await pb.waitForPayment(r.paymentId);
    expect(p).toMatchObject({
      paymentId: r.paymentId,
      kind: 'sale',
      state: 'completed',
      final: true,
      amount: 12_345_600,
      approvedAmount: 12_345_600,
      currency: 'CNY',
      operatorId: 'op-7',
      orderId: 'ORD-1',
      card: { panDisplay: '621234*********0010' },
    });
    expect(p.host.rrn).toMatch(/^.{12}$/);
    await until(
      () => events.some((e) => e.paymentId === r.paymentId && e.state === 'completed'),
      2000,
      'completed event',
    );
    const mine = events.filter((e) => e.paymentId === r.paymentId);
    expect(mine.filter((e) => e.durable).map((e) => e.state)).toEqual([
      'awaiting_card',
      'authorizing',
      'approved',
      'completed',
    ]);
    expect(mine.filter((e) => !e.durable).map((e) => e.progress)).toContain('present_card');
    const durableSeqs = mine.filter((e) => e.durable).map((e) => e.seq);
    expect([...durableSeqs].sort((a, b2) => a - b2)).toEqual(durableSeqs);
    // Prompts carry the last durable seq.
    for (const e of mine.filter((x) => !x.durable)) expect(e.seq).toBeLessThanOrEqual(durableSeqs.at(-1)!);
    // No card data beyond the masked PAN anywhere in what the client received.
    expect(JSON.stringify([p, mine])).not.toMatch(/6212340000000010|\d{13,}/);

    // payment.get by id and by idempotency key.
    expect(await pb.payment.get({ paymentId: r.paymentId })).toEqual(p);
    expect((await pb.payment.get({ idempotencyKey })).paymentId).toBe(r.paymentId);
    await expectRpcError(pb.payment.get({ paymentId: 'nope' }), 'unknown_payment', 'params.paymentId');
    await expectRpcError(
      pb.payment.get({ idempotencyKey: 'nope' }),
      'unknown_payment',
      'params.idempotencyKey',
    );

    // Same key: the same payment, nothing new; same key, other parameters: idempotency_conflict.
    expect(
      await pb.payment.sale({ idempotencyKey, orderId: 'ORD-1', amount: 12_345_600, currency: 'CNY' }),
    ).toEqual({
      paymentId: r.paymentId,
      state: 'completed',
      existing: true,
    });
    await expectRpcError(
      pb.payment.sale({ idempotencyKey, orderId: 'ORD-1', amount: 12_345_601, currency: '156' }),
      'idempotency_conflict',
      'params.idempotencyKey',
    );
  });

  it("sale: a currency other than the terminal's is invalid params", async () => {
    const e = await expectRpcError(
      pb.payment.sale({ idempotencyKey: key(), orderId: 'O', amount: 100, currency: 'USD' }),
      'invalid_params',
      'params.currency',
    );
    expect(e.rpcCode).toBe(-32602);
    expect(e.message).toContain('CNY');
  });

  it('sale: declines are a final state with the reason', async () => {
    const r = await pb.payment.sale({
      idempotencyKey: key(),
      orderId: 'O',
      amount: 12_345_651,
      currency: 'CNY',
    });
    expect(await pb.waitForPayment(r.paymentId)).toMatchObject({
      state: 'declined',
      reason: 'declined_51',
      final: true,
    });
  });

  it('sale while the reader is busy: reader_busy (retryable)', async () => {
    b.reader.hold = true;
    const first = await pb.payment.sale({
      idempotencyKey: key(),
      orderId: 'O',
      amount: 100,
      currency: 'CNY',
    });
    await b.reader.whenWaiting();
    const e = await expectRpcError(
      pb.payment.sale({ idempotencyKey: key(), orderId: 'O', amount: 200, currency: 'CNY' }),
      'reader_busy',
    );
    expect(e.retryable).toBe(true);
    b.reader.release();
    expect((await pb.waitForPayment(first.paymentId)).state).toBe('completed');
  });

  it('cancel before the card is read: cancelled; cancel of a final payment returns it unchanged', async () => {
    b.reader.hold = true;
    const r = await pb.payment.sale({ idempotencyKey: key(), orderId: 'O', amount: 300, currency: 'CNY' });
    await b.reader.whenWaiting();
    await pb.payment.cancel({ paymentId: r.paymentId });
    const p = await pb.waitForPayment(r.paymentId);
    expect(p).toMatchObject({ state: 'cancelled', final: true });
    expect(await pb.payment.cancel({ paymentId: r.paymentId })).toMatchObject({ state: 'cancelled' });
    b.reader.hold = false;
    await expectRpcError(pb.payment.cancel({ paymentId: 'nope' }), 'unknown_payment');
  });

  it('partial approval: acceptPartial completes for the approved amount; declinePartial reverses', async () => {
    const a = await pb.payment.sale({ idempotencyKey: key(), orderId: 'O', amount: 20_077, currency: 'CNY' });
    expect(await pb.waitForPayment(a.paymentId)).toMatchObject({
      state: 'partially_approved',
      approvedAmount: 10_038,
    });
    await pb.payment.acceptPartial({ paymentId: a.paymentId });
    expect(await pb.waitForPayment(a.paymentId, { until: (s) => s === 'completed' })).toMatchObject({
      state: 'completed',
      approvedAmount: 10_038,
    });
    await expectRpcError(pb.payment.acceptPartial({ paymentId: a.paymentId }), 'wrong_state');

    const d = await pb.payment.sale({ idempotencyKey: key(), orderId: 'O', amount: 30_077, currency: 'CNY' });
    await pb.waitForPayment(d.paymentId);
    await pb.payment.declinePartial({ paymentId: d.paymentId });
    expect(await pb.waitForPayment(d.paymentId, { until: (s) => s === 'reversed' })).toMatchObject({
      state: 'reversed',
    });
  });

  it('refund: partial refunds; more than is left is amount_exceeds_refundable; the original shows it', async () => {
    const s = await completedSale(50_000, 'ORD-R');
    const r1 = await pb.payment.refund({ paymentId: s.paymentId, amount: 20_000, idempotencyKey: key() });
    expect(await pb.waitForPayment(r1.paymentId)).toMatchObject({
      kind: 'refund',
      state: 'completed',
      originalId: s.paymentId,
    });
    await expectRpcError(
      pb.payment.refund({ paymentId: s.paymentId, amount: 30_001, idempotencyKey: key() }),
      'amount_exceeds_refundable',
      'params.amount',
    );
    expect(await pb.payment.get({ paymentId: s.paymentId })).toMatchObject({ refundedAmount: 20_000 });
    await expectRpcError(
      pb.payment.refund({ paymentId: 'nope', amount: 1, idempotencyKey: key() }),
      'unknown_payment',
      'params.paymentId',
    );
  });

  it('void: a sale is voided; a voided sale cannot be voided or refunded again', async () => {
    const s = await completedSale(40_000);
    const v = await pb.payment.void({ paymentId: s.paymentId, idempotencyKey: key() });
    expect(await pb.waitForPayment(v.paymentId)).toMatchObject({
      kind: 'void',
      state: 'completed',
      amount: 40_000,
    });
    expect(await pb.payment.get({ paymentId: s.paymentId })).toMatchObject({
      voided: true,
      capturedAmount: 0,
    });
    await expectRpcError(pb.payment.void({ paymentId: s.paymentId, idempotencyKey: key() }), 'wrong_state');
    await expectRpcError(
      pb.payment.refund({ paymentId: s.paymentId, amount: 1, idempotencyKey: key() }),
      'wrong_state',
    );
  });

  it('voids and refunds above the threshold need a supervisor approval code', async () => {
    const s = await completedSale(6_000_000);
    await expectRpcError(
      pb.payment.refund({ paymentId: s.paymentId, amount: 5_500_000, idempotencyKey: key() }),
      'supervisor_approval_required',
      'params.approvalCode',
    );
    await expectRpcError(
      pb.payment.refund({
        paymentId: s.paymentId,
        amount: 5_500_000,
        idempotencyKey: key(),
        approvalCode: '0000',
      }),
      'supervisor_approval_invalid',
      'params.approvalCode',
    );
    const r = await pb.payment.refund({
      paymentId: s.paymentId,
      amount: 5_500_000,
      idempotencyKey: key(),
      approvalCode: '4711',
      operatorId: 'op-9',
    });
    expect(await pb.waitForPayment(r.paymentId)).toMatchObject({ state: 'completed', operatorId: 'op-9' });
  });

  it('preauth → capture (at most 115 %); a second pre-auth is released with payment.void', async () => {
    const orderId = `ORD-${key()}`;
    const pa = await pb.payment.preauth({ idempotencyKey: key(), orderId, amount: 100_000, currency: 'CNY' });
    expect(await pb.waitForPayment(pa.paymentId)).toMatchObject({ kind: 'preauth', state: 'completed' });
    await expectRpcError(
      pb.payment.capture({ paymentId: pa.paymentId, amount: 115_001, idempotencyKey: key() }),
      'amount_exceeds_original',
      'params.amount',
    );
    const c = await pb.payment.capture({ paymentId: pa.paymentId, amount: 110_000, idempotencyKey: key() });
    expect(await pb.waitForPayment(c.paymentId)).toMatchObject({
      kind: 'capture',
      state: 'completed',
      amount: 110_000,
    });
    expect(await pb.payment.get({ paymentId: pa.paymentId })).toMatchObject({ capturedAmount: 110_000 });

    const pa2 = await pb.payment.preauth({ idempotencyKey: key(), orderId, amount: 70_000, currency: 'CNY' });
    await pb.waitForPayment(pa2.paymentId);
    const rel = await pb.payment.void({ paymentId: pa2.paymentId, idempotencyKey: key() });
    expect(await pb.waitForPayment(rel.paymentId)).toMatchObject({
      kind: 'preauth_void',
      state: 'completed',
    });

    const order = await pb.order.get(orderId);
    expect(order).toMatchObject({
      orderId,
      currency: 'CNY',
      captured: 110_000,
      refunded: 0,
      net: 110_000,
      held: 0,
      pending: 0,
    });
    expect(order.operations.map((o) => o.kind).sort()).toEqual([
      'capture',
      'preauth',
      'preauth',
      'preauth_void',
    ]);
  });

  it('balance: reads the card, moves no money, the balance is in payment.get', async () => {
    const r = await pb.payment.balance({ idempotencyKey: key() });
    const p = await pb.waitForPayment(r.paymentId);
    expect(p).toMatchObject({ kind: 'balance', state: 'completed', amount: 0 });
    expect(p).toHaveProperty('balance');
  });

  it('payment.list: newest first', async () => {
    const { payments } = await pb.payment.list({ limit: 3 });
    expect(payments).toHaveLength(3);
    expect(payments[0]!.createdAt >= payments[2]!.createdAt).toBe(true);
  });
});

describe('order.get', () => {
  it('sales and refunds of one order: captured, refunded, net; an unknown order is empty', async () => {
    const orderId = `ORD-${key()}`;
    const s1 = await completedSale(10_000, orderId);
    await completedSale(25_000, orderId);
    const r = await pb.payment.refund({ paymentId: s1.paymentId, amount: 4_000, idempotencyKey: key() });
    await pb.waitForPayment(r.paymentId);
    expect(await pb.order.get(orderId)).toMatchObject({
      captured: 35_000,
      refunded: 4_000,
      net: 31_000,
      pending: 0,
    });
    expect(await pb.order.get('no-such-order')).toMatchObject({ operations: [], captured: 0, net: 0 });
  });
});

describe('events.replay', () => {
  it("returns the journal's durable events after sinceSeq, in order, identical to the live ones", async () => {
    const { events: all, lastSeq, more } = await pb.events.replay({ sinceSeq: 0 });
    expect(more).toBe(false);
    expect(all.at(-1)?.seq).toBe(lastSeq);
    const seqs = all.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    // Every durable event this client saw live is in the replay, identical.
    const bySeq = new Map(all.map((e) => [e.seq, e]));
    const live = events.filter((e) => e.durable);
    expect(live.length).toBeGreaterThan(10);
    for (const e of live) expect(bySeq.get(e.seq)).toEqual(e);
    // Paging.
    const page = await pb.events.replay({ sinceSeq: 2, limit: 3 });
    expect(page.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(page.more).toBe(true);
  });
});
