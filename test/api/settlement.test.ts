import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RpcError,
  newIdempotencyKey,
  type ClientPaymentEvent,
  type PosbridgeClient,
} from '../../src/api/client/index.js';
import type { SettlementBackend } from '../../src/api/index.js';
import { SettlementService } from '../../src/engine/index.js';
import { MID, TID, startBench, until, type Bench } from './helpers.js';

// settlement.run / settlement.report over the WebSocket, mapped to the SettlementService.

let b: Bench;
let pb: PosbridgeClient;
let service: SettlementService;
const events: ClientPaymentEvent[] = [];

beforeAll(async () => {
  // The API is created before the service (which needs the bench's engine): a late-bound backend.
  const backend: SettlementBackend = {
    start: (p) => service.start(p),
    report: (p) => service.report(p),
  };
  b = await startBench({ api: { settlement: backend } });
  service = new SettlementService({
    journal: b.journal,
    host: b.link,
    terminalId: TID,
    merchantId: MID,
    saf: b.engine.saf,
    onEvent: (e) => b.engine.emit('event', { kind: 'durable', ...e }),
  });
  pb = await b.connected({ operatorId: 'op-settle' });
  pb.on('payment', (e) => events.push(e));
});
afterAll(async () => {
  await b?.close();
});

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RpcError);
  return e as RpcError;
}

describe('settlement over the API', () => {
  it('settlement.report before any close: no settlement yet; an unknown batch is unknown_batch', async () => {
    const r = await pb.settlement.report();
    expect(r).toMatchObject({
      terminalId: TID,
      currentBatch: '000001',
      settlement: null,
      reconciliation: null,
      openItems: [],
    });
    const e = await rpcError(pb.settlement.report({ batch: '000099' }));
    expect(e.code).toBe('unknown_batch');
    expect(e.rpcCode).toBe(-32000);
    expect((await rpcError(pb.call('settlement.report', { batch: 'x1' } as never))).code).toBe(
      'invalid_params',
    );
  });

  it('settlement.run answers at once; settlement.state events follow; the report shows the settled batch', async () => {
    const sale = await pb.payment.sale({
      idempotencyKey: newIdempotencyKey(),
      orderId: 'S-1',
      amount: 1_234_500,
      currency: 'CNY',
    });
    expect((await pb.waitForPayment(sale.paymentId)).state).toBe('completed');
    const run = await pb.settlement.run();
    expect(run).toMatchObject({ terminalId: TID, batch: '000001', state: 'open', resumed: false });
    expect(run.outcome).toBeUndefined();
    await until(
      () => events.some((e) => e.type === 'settlement.state' && e.batchState === 'settled'),
      10_000,
    );
    const states = events.filter((e) => e.type === 'settlement.state');
    expect(states.map((e) => e.batchState)).toEqual(['closing', 'settled']);
    expect(states[1]).toMatchObject({ paymentId: null, durable: true, batch: '000001', result: 'balanced' });
    const report = await pb.settlement.report({ batch: '1' });
    expect(report.settlement).toMatchObject({
      batch: '000001',
      state: 'settled',
      result: 'balanced',
      operatorId: 'op-settle',
      totals: { domestic: { debitAmount: 1_234_500, debitCount: 1 } },
    });
    expect(report.currentBatch).toBe('000002');
  });

  it('settlement.run with wait: the outcome and the batch record', async () => {
    const sale = await pb.payment.sale({
      idempotencyKey: newIdempotencyKey(),
      orderId: 'S-2',
      amount: 50_000,
      currency: 'CNY',
    });
    await pb.waitForPayment(sale.paymentId);
    const run = await pb.settlement.run({ wait: true, operatorId: 'op-night' });
    expect(run).toMatchObject({
      batch: '000002',
      outcome: 'settled',
      settlement: { state: 'settled', operatorId: 'op-night' },
    });
  });

  it('batch_busy while a payment of the batch is in flight', async () => {
    b.reader.hold = true;
    const sale = await pb.payment.sale({
      idempotencyKey: newIdempotencyKey(),
      orderId: 'S-3',
      amount: 70_000,
      currency: 'CNY',
    });
    await b.reader.whenWaiting();
    service.settlement.config.inFlightWaitMs = 50;
    const e = await rpcError(pb.settlement.run({ wait: true }));
    expect(e.code).toBe('batch_busy');
    expect(e.retryable).toBe(true);
    b.reader.release();
    await pb.waitForPayment(sale.paymentId);
  });
});
