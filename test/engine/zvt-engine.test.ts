import { afterEach, describe, expect, it } from 'vitest';
import { FINAL_STATES } from '../../src/journal/index.js';
import { makeZvtRig, type ZvtRig } from '../zvt/rig.js';
import { harness, type Harness } from './harness.js';

// The engine paying through the real ZVT client against the ZVT terminal simulator over TCP and over a
// serial pseudo-terminal: journal, idempotency, orders, refunds, voids, pre-auth and capture, and the
// repair of a lost completion, compared with the simulator's own ledger.
let h: Harness | undefined;
let z: ZvtRig | undefined;
afterEach(async () => {
  await h?.close();
  await z?.close();
  h = z = undefined;
});

async function setup(kind: 'tcp' | 'serial' = 'tcp'): Promise<{ h: Harness; z: ZvtRig }> {
  z = await makeZvtRig(kind, { sim: { behaviour: { cardDelayMs: 0, processingMs: 0 } } });
  h = await harness({ integrated: z.term });
  return { h, z };
}

async function final(id: string) {
  for (let i = 0; i < 500; i++) {
    await h!.engine.settled(id);
    const v = h!.engine.view(id);
    if (FINAL_STATES.has(v.state)) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  return h!.engine.view(id);
}

const receiptOf = (v: { result: Record<string, unknown> | null }) =>
  (v.result as { terminal?: { receiptNo?: string } } | null)?.terminal?.receiptNo;

for (const kind of ['tcp', 'serial'] as const) {
  describe(`engine ↔ ZVT simulator over ${kind}`, () => {
    it('split sale, partial refund and void agree with the terminal ledger; the same key never pays twice', async () => {
      const { h, z } = await setup(kind);
      const submit = (req: Parameters<Harness['engine']['submit']>[0]) => final(h.engine.submit(req).id);
      const a = await submit({
        kind: 'sale',
        idempotencyKey: `a-${kind}`,
        operatorId: 'op',
        orderId: 'CAR-9',
        amount: 6_000_000,
      });
      const b = await submit({
        kind: 'sale',
        idempotencyKey: `b-${kind}`,
        operatorId: 'op',
        orderId: 'CAR-9',
        amount: 4_000_000,
      });
      expect([a.state, b.state]).toEqual(['completed', 'completed']);
      expect(a.card?.panDisplay).toMatch(/^\d{0,6}[*]+\d{4}$/);
      expect(receiptOf(a)).toBeTruthy();
      const again = h.engine.submit({
        kind: 'sale',
        idempotencyKey: `a-${kind}`,
        operatorId: 'op',
        orderId: 'CAR-9',
        amount: 6_000_000,
      });
      expect(again.id).toBe(a.id);
      const r = await submit({
        kind: 'refund',
        idempotencyKey: `r-${kind}`,
        operatorId: 'op',
        originalId: a.id,
        amount: 1_500_000,
      });
      expect(r.state).toBe('completed');
      const v = await submit({
        kind: 'void',
        idempotencyKey: `v-${kind}`,
        operatorId: 'op',
        originalId: b.id,
      });
      expect(v.state).toBe('completed');
      expect(h.engine.orderSummary('CAR-9')).toMatchObject({
        captured: 6_000_000,
        refunded: 1_500_000,
        net: 4_500_000,
      });
      const sales = z.sim.ledger.filter((t) => t.type === 'sale');
      expect(sales).toHaveLength(2);
      expect(sales.find((t) => t.receiptNo === receiptOf(b))?.status).toMatch(/reversed|voided/);
    });
  });
}

describe('engine ↔ ZVT simulator: faults', () => {
  it('pre-auth then capture (book total) by receipt number', async () => {
    const { h } = await setup();
    const p = await final(
      h.engine.submit({ kind: 'preauth', idempotencyKey: 'pa', operatorId: 'op', amount: 50_000_000 }).id,
    );
    expect(p.state).toBe('completed');
    const c = await final(
      h.engine.submit({
        kind: 'capture',
        idempotencyKey: 'pc',
        operatorId: 'op',
        originalId: p.id,
        amount: 42_000_000,
      }).id,
    );
    expect(c).toMatchObject({ state: 'completed', approvedAmount: 42_000_000 });
  });

  it('a decline by the terminal is declined, nothing booked', async () => {
    const { h, z } = await setup();
    const d = await final(
      h.engine.submit({ kind: 'sale', idempotencyKey: 'd', operatorId: 'op', amount: 10_051 }).id,
    );
    expect(d.state).toBe('declined');
    expect(z.sim.ledger.filter((t) => t.status === 'approved')).toHaveLength(0);
  });

  it("a lost completion is unknown, then repaired from the terminal's repeat receipt: completed, as the terminal booked it", async () => {
    const { h, z } = await setup();
    z.sim.setBehaviour({ approveThenDropCompletion: true });
    const v = await final(
      h.engine.submit({ kind: 'sale', idempotencyKey: 'lost', operatorId: 'op', amount: 777_700 }).id,
    );
    const states = h.events
      .filter((e) => e.kind === 'durable' && e.operationId === v.id && e.type === 'operation.state')
      .map((e) => (e.kind === 'durable' ? e.data['state'] : ''));
    expect(states).toContain('unknown');
    expect(v.state).toBe('completed');
    expect(z.sim.ledger.filter((t) => t.status === 'approved' && t.amount === 777_700)).toHaveLength(1);
  });

  it('an operation the terminal refuses (84 83) fails not_supported_by_terminal; nothing booked', async () => {
    const { h, z } = await setup();
    const a = await final(
      h.engine.submit({ kind: 'sale', idempotencyKey: 'ns-a', operatorId: 'op', amount: 1_000 }).id,
    );
    z.sim.setBehaviour({ disabledCommands: ['06 31'] });
    const r = await final(
      h.engine.submit({
        kind: 'refund',
        idempotencyKey: 'ns-r',
        operatorId: 'op',
        originalId: a.id,
        amount: 500,
      }).id,
    );
    expect(r).toMatchObject({ state: 'failed', reason: 'not_supported_by_terminal' });
    expect(z.sim.ledger.filter((t) => t.type === 'refund')).toHaveLength(0);
  });

  it('the operator cancels while the terminal waits for the card: aborted, nothing booked', async () => {
    const { h, z } = await setup();
    z.sim.setBehaviour({ cardDelayMs: 400 });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'cx', operatorId: 'op', amount: 3_300 });
    for (let i = 0; i < 50 && h.engine.view(v.id).state !== 'authorizing'; i++)
      await new Promise((r) => setTimeout(r, 10));
    await h.engine.cancel(v.id, 'op');
    const done = await final(v.id);
    expect(done.state).not.toBe('completed');
    expect(z.sim.ledger.filter((t) => t.status === 'approved')).toHaveLength(0);
  });
});
