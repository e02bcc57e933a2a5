import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/index.js';
import { FINAL_STATES } from '../../src/journal/index.js';
import { FakeTerminal } from './fake-terminal.js';
import { harness, type Harness } from './harness.js';

// The engine's integrated-terminal path (ZVT kind) with an in-memory terminal: the same journal,
// idempotency, orders and views as card readers; the terminal authorises by itself.
let h: Harness;
let t: FakeTerminal;
afterEach(async () => {
  await h?.close();
});

async function setup(): Promise<void> {
  t = new FakeTerminal();
  h = await harness({ integrated: t });
}
async function final(id: string) {
  for (let i = 0; i < 300; i++) {
    await h.engine.settled(id);
    const v = h.engine.view(id);
    if (FINAL_STATES.has(v.state)) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  return h.engine.view(id);
}
const pay = (kind: 'sale' | 'preauth', amount: number, key: string, orderId = 'CAR-1') =>
  final(h.engine.submit({ kind, idempotencyKey: key, operatorId: 'op', orderId, amount }).id);

describe('integrated terminal (ZVT kind) in the engine', () => {
  it('sale: journaled before the command, completed with the terminal facts; same key never charges twice', async () => {
    await setup();
    const v = await pay('sale', 12_800_000, 'zs-1');
    expect(v).toMatchObject({ state: 'completed', approvedAmount: 12_800_000 });
    expect(v.card?.panDisplay).toBe('621234******0010');
    expect(v.host.authCode).toBe('123456');
    expect(h.journal.attemptsOf(v.id)[0]).toMatchObject({
      purpose: 'request',
      mti: 'zvt-0601',
      outcome: 'answered',
    });
    expect((v.result as { terminal: { receiptNo: string } }).terminal.receiptNo).toBe('0101');
    const again = h.engine.submit({
      kind: 'sale',
      idempotencyKey: 'zs-1',
      operatorId: 'op',
      orderId: 'CAR-1',
      amount: 12_800_000,
    });
    expect(again.id).toBe(v.id);
    expect(t.ledger).toHaveLength(1);
  });

  it('decline, split payments, partial refund, void by receipt number and the order view', async () => {
    await setup();
    expect((await pay('sale', 10_051, 'zd')).state).toBe('declined');
    const a = await pay('sale', 5_000_000, 'za', 'CAR-2');
    const b = await pay('sale', 3_000_000, 'zb', 'CAR-2');
    const r = await final(
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'zr',
        operatorId: 'op',
        originalId: a.id,
        amount: 1_000_000,
      }).id,
    );
    expect(r.state).toBe('completed');
    const vd = await final(
      h.engine.submit({ kind: 'void', idempotencyKey: 'zv', operatorId: 'op', originalId: b.id }).id,
    );
    expect(vd.state).toBe('completed');
    expect(
      t.ledger.find(
        (x) => x.receiptNo === (b.result as { terminal: { receiptNo: string } }).terminal.receiptNo,
      )?.status,
    ).toBe('voided');
    const order = h.engine.orderSummary('CAR-2');
    expect(order).toMatchObject({ captured: 5_000_000, refunded: 1_000_000, net: 4_000_000 });
  });

  it('an operation the terminal does not offer is a typed error before anything is journaled', async () => {
    await setup();
    t.capabilities.delete('preauth');
    expect(() =>
      h.engine.submit({ kind: 'preauth', idempotencyKey: 'zp', operatorId: 'op', amount: 100 }),
    ).toThrow(expect.objectContaining({ code: 'not_supported_by_terminal' }) as EngineError);
    expect(() => h.engine.submit({ kind: 'balance', idempotencyKey: 'zbal', operatorId: 'op' })).toThrow(
      /does not support balance/,
    );
    expect(h.journal.recentOperations()).toHaveLength(0);
  });

  it("a lost completion is unknown, then the terminal's last transaction repairs it (completed, not failed)", async () => {
    await setup();
    t.loseAnswer = true;
    const v = await pay('sale', 777_700, 'zl');
    expect(v.state).toBe('completed');
    const states = h.events
      .filter((e) => e.kind === 'durable' && e.operationId === v.id && e.type === 'operation.state')
      .map((e) => (e.kind === 'durable' ? e.data['state'] : ''));
    expect(states).toContain('unknown');
  });

  it("a command lost before the terminal ran it: its last transaction is another payment's, so failed", async () => {
    await setup();
    await pay('sale', 1_000, 'z-first');
    t.loseBefore = true;
    const v = await pay('sale', 2_000, 'z-lost');
    expect(v).toMatchObject({ state: 'failed', reason: 'terminal_has_no_record' });
    expect(t.ledger).toHaveLength(1);
  });

  it('cancel while the terminal waits for the card aborts it; cancel after its approval voids it', async () => {
    await setup();
    t.cardMs = 80;
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'zc', operatorId: 'op', amount: 9_900 });
    await new Promise((r) => setTimeout(r, 20));
    await h.engine.cancel(v.id, 'op');
    expect((await final(v.id)).state).toBe('declined');
    t.cardMs = 0;
    // A cancel the terminal takes too late (it approves anyway): the sale is voided on the terminal.
    t.cardMs = 60;
    t.ignoreAbort = true;
    const w = h.engine.submit({ kind: 'sale', idempotencyKey: 'zc2', operatorId: 'op', amount: 8_800 });
    await new Promise((r) => setTimeout(r, 20));
    await h.engine.cancel(w.id, 'op');
    const done = await final(w.id);
    expect(done).toMatchObject({ state: 'reversed', reason: 'cancelled_by_operator' });
    expect(t.ledger.find((x) => x.amount === 8_800 && x.kind === 'sale')?.status).toBe('voided');
  });

  it('start-up recovery asks the terminal about an operation a crash left at the terminal', async () => {
    await setup();
    // As a crash leaves it: the command journaled (authorizing), the terminal charged it, no answer kept.
    const row = h.journal.insertOperation({
      id: 'zvt-crash',
      kind: 'sale',
      idempotencyKey: 'zcrash',
      paramsHash: 'x',
      operatorId: 'op',
      orderId: null,
      originalId: null,
      amount: 4_200,
      currency: '156',
      state: 'authorizing',
      terminalId: 'POSB0001',
      readerId: 'zvt:tcp://fake:20007',
      batch: '000001',
    });
    await t.sale({ reference: row.id, amount: 4_200, currency: '156' });
    const report = await h.engine.recover();
    expect(report.actions['asked_terminal']).toBe(1);
    expect(h.engine.view(row.id)).toMatchObject({ state: 'completed', approvedAmount: 4_200 });
  });
});
