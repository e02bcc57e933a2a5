import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError, type EngineEvent, type OperationView } from '../../src/engine/index.js';
import { FINAL_STATES } from '../../src/journal/index.js';
import type { CompleteResult, CompleteTransaction } from '../../src/terminal/reader.js';
import { InstantReader } from '../../simulators/shared/instant-reader.js';
import { int, pick, prng, seedFromEnv } from '../support/prng.js';
import { harness, TID, type Harness } from './harness.js';

/**
 * The operator's cancel wins or loses as a whole (issue R2 2/7, defects 1 and 2): whatever moment it
 * arrives at, the payment's final state agrees with the host simulator's ledger, and a cancel that was
 * accepted never ends `completed`.
 */

/** A reader whose completion can run a hook while the card "decides" (the `completing` point). */
class HookReader extends InstantReader {
  onComplete: ((reference: string, answer: CompleteTransaction) => Promise<void> | void) | undefined;
  override async completeTransaction(
    reference: string,
    answer: CompleteTransaction,
  ): Promise<CompleteResult> {
    const hook = this.onComplete;
    if (hook && answer.approved) await hook(reference, answer);
    return super.completeTransaction(reference, answer);
  }
}

let h: Harness;
let reader: HookReader;
beforeAll(async () => {
  reader = new HookReader();
  h = await harness({ reader });
});
afterAll(async () => {
  await h?.close();
});

let n = 0;
const key = (label: string): string => `cancel-${label}-${n++}-${Math.random()}`;

/** Waits until the operation is final (reversals drained). */
async function final(id: string): Promise<OperationView> {
  for (let i = 0; i < 400; i++) {
    await h.engine.settled(id);
    const v = h.engine.view(id);
    if (FINAL_STATES.has(v.state)) return v;
    await h.engine.saf.drainReversals();
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`operation ${id} never became final: ${h.engine.view(id).state}`);
}

/** What the host simulator holds for this sale: approved and not reversed. */
function hostHolds(v: OperationView): boolean {
  if (!v.host.stan) return false;
  return h.sim.ledger
    .transactions({ tid: TID, stan: v.host.stan, batch: v.host.batch ?? undefined })
    .some((t) => t.mti === '0200' && t.approvedAmount > 0 && !t.reversal);
}

type Point =
  | 'submitted'
  | 'present_card'
  | 'card_detected'
  | 'processing'
  | 'authorizing'
  | 'approved'
  | 'completing'
  | 'completed';
const POINTS: Point[] = [
  'submitted',
  'present_card',
  'card_detected',
  'processing',
  'authorizing',
  'approved',
  'completing',
  'completed',
];
/** How long after the point the cancel call is made. */
type Delay = 'sync' | 'microtask' | 'timer0' | number;
const DELAYS: Delay[] = ['sync', 'microtask', 'timer0', 3];

async function after(delay: Delay): Promise<void> {
  if (delay === 'sync') return;
  if (delay === 'microtask') return Promise.resolve();
  await new Promise((r) => setTimeout(r, delay === 'timer0' ? 0 : delay));
}

interface Outcome {
  view: OperationView;
  cancel: 'accepted' | 'already_completed' | 'not_reached';
  held: boolean;
}

/** One sale with a cancel at `point` (after `delay`); amount suffix 51 makes the host decline. */
async function saleWithCancel(point: Point, delay: Delay, amount = 1_000_000): Promise<Outcome> {
  let cancel: Outcome['cancel'] = 'not_reached';
  let id = '';
  const pending: Promise<void>[] = [];
  const call = async (): Promise<void> => {
    try {
      await h.engine.cancel(id, 'op-cancel');
      cancel = 'accepted';
    } catch (e) {
      if (e instanceof EngineError && e.code === 'already_completed') cancel = 'already_completed';
      else throw e;
    }
  };
  // 'sync' calls cancel inside the event handler itself (no microtask in between).
  const doCancel = (): void => {
    pending.push(delay === 'sync' ? call() : after(delay).then(call));
  };
  const onEvent = (e: EngineEvent): void => {
    // The first event (awaiting_card) comes before submit returns: it names the operation.
    if (!id && e.kind === 'durable' && e.data['state'] === 'awaiting_card' && e.operationId)
      id = e.operationId;
    if (!id || e.operationId !== id || cancel !== 'not_reached' || pending.length) return;
    if (e.kind === 'progress' && e.progress === point) doCancel();
    if (e.kind === 'durable' && e.type === 'operation.state' && e.data['state'] === point) doCancel();
  };
  h.engine.on('event', onEvent);
  reader.onComplete =
    point === 'completing'
      ? async () => {
          doCancel();
          // The card keeps deciding while the cancel runs.
          await Promise.all(pending);
        }
      : undefined;
  try {
    const v = h.engine.submit({
      kind: 'sale',
      idempotencyKey: key(`${point}-${String(delay)}`),
      operatorId: 'op-7',
      orderId: 'ORDER-CANCEL',
      amount,
    });
    id = v.id;
    if (point === 'submitted' && !pending.length) doCancel();
    const view = await final(id);
    await Promise.all(pending);
    return { view: await final(id), cancel, held: hostHolds(view) };
  } finally {
    h.engine.off('event', onEvent);
    reader.onComplete = undefined;
  }
}

function check(o: Outcome, label: string): void {
  const { view } = o;
  // The journal and the host agree, whatever the cancel did.
  expect(
    view.state === 'completed',
    `${label}: state ${view.state} (${view.reason}), host holds ${o.held}`,
  ).toBe(o.held);
  if (o.cancel === 'accepted') {
    expect(view.state, `${label}: an accepted cancel never ends completed`).not.toBe('completed');
    expect(['cancelled', 'reversed', 'declined', 'failed'], label).toContain(view.state);
  }
  if (o.cancel === 'already_completed') expect(view.state, label).toBe('completed');
  // Exactly one state event stream: no `completed` followed by `reversed`.
  const states = h.events
    .filter((e) => e.kind === 'durable' && e.operationId === view.id && e.type === 'operation.state')
    .map((e) => (e.kind === 'durable' ? String(e.data['state']) : ''));
  const finals = states.filter((s) => FINAL_STATES.has(s as never));
  expect(finals, `${label}: final states ${states.join(' → ')}`).toEqual([view.state]);
}

describe('payment.cancel at every engine event point', () => {
  it('cancel right after the host approved, while the card completes: reversed, never completed (defect 1)', async () => {
    const o = await saleWithCancel('approved', 'sync');
    check(o, 'approved/sync');
    expect(o.cancel).toBe('accepted');
    expect(o.view.state).toBe('reversed');
    expect(o.view.reason).toBe('cancelled_by_operator');
    expect(o.held).toBe(false);
    // The card was told to decline: nothing completed on it.
    expect(reader.completions.at(-1)?.approved).toBe(false);
  });

  it('cancel while authorizing is queued and applied once the answer is known (defect 2)', async () => {
    h.sim.faults.add({ action: 'delay', delayMs: 150, times: 1, match: { mti: '0200' } });
    const v = h.engine.submit({
      kind: 'sale',
      idempotencyKey: key('authorizing'),
      operatorId: 'op-7',
      amount: 2_000_000,
    });
    for (let i = 0; i < 100 && h.engine.view(v.id).state !== 'authorizing'; i++)
      await new Promise((r) => setTimeout(r, 5));
    const seen = await h.engine.cancel(v.id, 'op-cancel');
    expect(seen.state).toBe('authorizing');
    expect(seen.cancelRequested).toBe(true);
    expect(h.events.some((e) => e.kind === 'durable' && e.type === 'operation.cancel_requested')).toBe(true);
    const done = await final(v.id);
    expect(done.state).toBe('reversed');
    expect(hostHolds(done)).toBe(false);
  });

  it('cancel of a completed payment says it is too late (already_completed), never a silent no-op', async () => {
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: key('done'), operatorId: 'op-7', amount: 300 });
    const done = await final(v.id);
    expect(done.state).toBe('completed');
    await expect(h.engine.cancel(v.id, 'op-cancel')).rejects.toMatchObject({ code: 'already_completed' });
    expect(h.engine.view(v.id).state).toBe('completed');
  });

  for (const point of POINTS) {
    it(`at ${point}: every delay, approve and decline, agrees with the host ledger`, async () => {
      for (const delay of DELAYS) {
        for (const amount of [1_000_000, 1_000_051]) {
          const o = await saleWithCancel(point, delay, amount);
          check(o, `${point}/${String(delay)}/${amount}`);
          if (point === 'completed' && amount === 1_000_000) expect(o.cancel).toBe('already_completed');
          if (point !== 'completed' && amount === 1_000_000 && delay === 'sync')
            expect(o.cancel, `${point}: a cancel before completion is accepted`).toBe('accepted');
        }
      }
    });
  }

  it('random points and delays (seeded)', async () => {
    const seed = seedFromEnv('cancel property');
    const rand = prng(seed);
    for (let i = 0; i < 24; i++) {
      const point = pick(rand, POINTS);
      const delay = int(rand, 0, 12);
      const amount = int(rand, 1, 9_000) * 100 + (rand() < 0.3 ? 51 : 0);
      const o = await saleWithCancel(point, delay, amount);
      check(o, `seed ${seed} run ${i}: ${point}/${delay}ms/${amount}`);
    }
  });
});
