import { afterEach, describe, expect, it } from 'vitest';
import { FingerprintKey } from '../../src/card/index.js';
import { Engine } from '../../src/engine/index.js';
import { loadDialect } from '../../src/iso8583/index.js';
import type { CompleteTransaction, LastTransactionStatus } from '../../src/terminal/reader.js';
import { InstantReader } from '../../simulators/shared/instant-reader.js';
import { harness, MID, TID, type Harness } from './harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const hostTx = (stan: string) =>
  h.sim.ledger.transactions({ tid: TID, stan }).find((t) => t.mti === '0200' || t.mti === '0100');

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('lost-transaction recovery', () => {
  it('host committed and the answer was lost: inquiry finds it, the reversal takes it back', async () => {
    h = await harness({ responseMs: 300 });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'drop_response', times: 1 });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'lost-1', operatorId: 'op', amount: 77_700 });
    await h.engine.settled(v.id);
    await h.engine.saf.drainReversals();
    const op = h.journal.getOperation(v.id)!;
    expect(op.state).toBe('reversed');
    expect(op.reason).toBe('approved_at_host_after_timeout');
    const purposes = h.journal
      .attemptsOf(v.id)
      .map((a) => `${a.purpose}:${a.mti}:${a.outcome}:${a.responseCode ?? ''}`);
    expect(purposes).toEqual([
      'request:0200:unknown:',
      'inquiry:0820:answered:00',
      'reversal:0400:answered:00',
    ]);
    expect(hostTx(op.stan!)?.reversal).toBeDefined();
  });

  it('without a status inquiry, an unknown request is reversed at once (reason 98)', async () => {
    h = await harness({ responseMs: 300, config: { useStatusInquiry: false } });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'drop_response', times: 1 });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'lost-2', operatorId: 'op', amount: 1_200 });
    await h.engine.settled(v.id);
    await until(() => h.engine.view(v.id).state === 'reversed');
    const rev = h.journal.attemptsOf(v.id).find((a) => a.purpose === 'reversal')!;
    expect(rev.mti).toBe('0400');
    expect(hostTx(h.journal.getOperation(v.id)!.stan!)?.reversal).toBeDefined();
  });

  it('the connection is cut before the answer: once the link is back, the host and the journal agree', async () => {
    h = await harness({ responseMs: 300 });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'close_before_response', times: 1 });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'lost-3', operatorId: 'op', amount: 3_300 });
    const done = await h.engine.settled(v.id);
    // close_before_response commits at the host; whichever way, the journal and the host must agree.
    h.engine.saf.start();
    await until(() => ['reversed', 'failed'].includes(h.engine.view(v.id).state));
    const op = h.journal.getOperation(v.id)!;
    const tx = hostTx(op.stan!);
    const heldAtHost = tx !== undefined && tx.responseCode === '00' && !tx.reversal;
    expect(heldAtHost).toBe(false);
    expect(['reversed', 'failed']).toContain(op.state);
    expect(done.state).not.toBe('completed');
  });

  it('a bad response MAC is reversed with reason A0', async () => {
    h = await harness();
    h.sim.faults.add({ match: { mti: '0200' }, action: 'corrupt_mac', times: 1 });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'mac-1', operatorId: 'op', amount: 4_400 });
    await h.engine.settled(v.id);
    await until(() => h.engine.view(v.id).state === 'reversed');
    expect(h.journal.getOperation(v.id)!.reason).toBe('response_mac_invalid');
    expect(h.journal.safOf(v.id).find((s) => s.lane === 'reversal')).toMatchObject({
      status: 'done',
      reason: 'A0',
    });
  });

  it('reversals answered 96 are repeated as 0401 with back-off until accepted', async () => {
    h = await harness({ responseMs: 300, config: { useStatusInquiry: false } });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'drop_response', times: 1 });
    h.sim.faults.add({ action: 'reversal_96', times: 2 });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'r96', operatorId: 'op', amount: 5_500 });
    await h.engine.settled(v.id);
    h.engine.saf.start();
    await until(() => h.engine.view(v.id).state === 'reversed', 5000);
    const revs = h.journal
      .attemptsOf(v.id)
      .filter((a) => a.purpose === 'reversal')
      .map((a) => `${a.mti}:${a.responseCode}`);
    expect(revs).toEqual(['0400:96', '0401:96', '0401:00']);
  });

  it('a pending reversal goes out before the next sale; if it cannot, the sale is not sent', async () => {
    h = await harness({
      responseMs: 300,
      config: {
        useStatusInquiry: false,
        reversalWaitMs: 100,
        saf: { backoffInitialMs: 60_000, backoffMaxMs: 60_000 },
      },
    });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'drop_response', times: 1 });
    h.sim.faults.add({ action: 'reversal_96', times: 1 });
    const a = h.engine.submit({ kind: 'sale', idempotencyKey: 'order-a', operatorId: 'op', amount: 1_000 });
    await h.engine.settled(a.id);
    await h.engine.saf.drainReversals();
    expect(h.engine.view(a.id).state).toBe('reversing'); // first attempt got 96, next one backed off
    const b = await h.engine.settled(
      h.engine.submit({ kind: 'sale', idempotencyKey: 'order-b', operatorId: 'op', amount: 2_000 }).id,
    );
    expect(b).toMatchObject({ state: 'failed', reason: 'reversal_pending' });
    expect(h.journal.attemptsOf(b.id)).toHaveLength(0);
  });

  it('an approval that arrives after we gave up is kept as evidence; the reversal stands', async () => {
    h = await harness({ responseMs: 200, config: { useStatusInquiry: false } });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'delay', delayMs: 400, times: 1 });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'late', operatorId: 'op', amount: 6_600 });
    await h.engine.settled(v.id);
    await until(() => h.journal.attemptsOf(v.id).some((a) => a.lateEvidence !== null), 3000);
    await until(() => h.engine.view(v.id).state === 'reversed');
    const req = h.journal.attemptsOf(v.id).find((a) => a.purpose === 'request')!;
    expect(req.lateEvidence).toMatchObject({ responseCode: '00' });
    expect(h.journal.eventsOf(v.id).map((e) => e.type)).toContain('host.late_response');
  });

  it('start-up recovery drives every non-final operation to a final state', async () => {
    h = await harness({ responseMs: 300 });
    // Journal rows as a crash would leave them: one before the host, one in flight.
    const before = h.journal.insertOperation({
      id: 'crash-before',
      kind: 'sale',
      idempotencyKey: 'cb',
      paramsHash: 'x',
      operatorId: 'op',
      orderId: null,
      originalId: null,
      amount: 100,
      currency: '156',
      state: 'awaiting_card',
      terminalId: TID,
      readerId: null,
      batch: '000001',
    });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'drop_response', times: 1 });
    const inflight = h.engine.submit({ kind: 'sale', idempotencyKey: 'ci', operatorId: 'op', amount: 9_100 });
    await until(() => h.engine.view(inflight.id).state !== 'awaiting_card');
    await h.engine.settled(inflight.id);
    const report = await h.engine.recover();
    expect(report.examined).toBeGreaterThanOrEqual(1);
    expect(h.journal.getOperation(before.id)).toMatchObject({
      state: 'cancelled',
      reason: 'interrupted_before_host',
    });
    await h.engine.saf.drainReversals();
    expect(h.journal.openOperations()).toEqual([]);
  });

  it('a reversal for a closed batch becomes needs_attention, never dropped', async () => {
    h = await harness({
      responseMs: 300,
      config: { useStatusInquiry: false, saf: { backoffInitialMs: 60_000, backoffMaxMs: 60_000 } },
    });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'drop_response', times: 1 });
    h.sim.faults.add({ action: 'reversal_96', times: 1 });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'eod', operatorId: 'op', amount: 8_000 });
    await h.engine.settled(v.id);
    await h.engine.saf.drainReversals();
    h.link.batch.set(2); // the day boundary: batch 000001 settled
    const saf = h.journal.safOf(v.id).find((s) => s.lane === 'reversal')!;
    h.journal.updateSaf(saf.id, { nextAt: null });
    await h.engine.saf.drainReversals();
    expect(h.engine.view(v.id)).toMatchObject({ state: 'needs_attention', reason: 'batch_closed' });
    expect(h.journal.dueOutbox().some((o) => o.topic === 'payment.needs_attention')).toBe(true);
  });

  it('a dropped connection: the status inquiry waits for the link and asks before any reversal (defect 3)', async () => {
    h = await harness({ responseMs: 300, config: { inquiryWaitMs: 3000 } });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'close_before_response', times: 1 });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'cut-ask', operatorId: 'op', amount: 5_500 });
    await h.engine.settled(v.id);
    await until(() => ['reversed', 'failed', 'declined'].includes(h.engine.view(v.id).state));
    const purposes = h.journal.attemptsOf(v.id).map((a) => `${a.purpose}:${a.outcome}`);
    // Asked first (answered), never a reversal sent without asking.
    expect(purposes[0]).toBe('request:unknown');
    expect(purposes[1]).toBe('inquiry:answered');
    expect(h.journal.getOperation(v.id)!.reason).not.toBe('no_answer_inquiry_failed');
  });

  it('a link that stays down longer than inquiryWaitMs: the payment stays unknown and is asked about once the link is back', async () => {
    h = await harness({ responseMs: 300, config: { inquiryWaitMs: 100 } });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'close_before_response', times: 1 });
    // The link goes down for good the moment the answer is lost.
    h.engine.on('event', (e) => {
      if (e.kind === 'durable' && e.data['state'] === 'unknown') void h.link.close();
    });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'down-ask', operatorId: 'op', amount: 6_600 });
    await h.engine.settled(v.id);
    expect(h.engine.view(v.id).state).toBe('unknown');
    expect(h.journal.attemptsOf(v.id).map((a) => a.purpose)).toEqual(['request']);
    h.link.start();
    await until(() => ['reversed', 'failed', 'declined'].includes(h.engine.view(v.id).state), 5000);
    const purposes = h.journal.attemptsOf(v.id).map((a) => `${a.purpose}:${a.outcome}`);
    expect(purposes.slice(0, 2)).toEqual(['request:unknown', 'inquiry:answered']);
  });

  it('a link that flaps: inquiries lost to dropped connections are asked again, then reversed', async () => {
    h = await harness({ responseMs: 300, config: { inquiryWaitMs: 2000 } });
    h.sim.faults.add({ match: { mti: '0200' }, action: 'close_before_response', times: 1 });
    h.sim.faults.add({ match: { mti: '0820' }, action: 'close_before_response', times: 2 });
    const v = h.engine.submit({ kind: 'sale', idempotencyKey: 'flap-ask', operatorId: 'op', amount: 6_700 });
    await until(() => ['reversed', 'failed', 'declined'].includes(h.engine.view(v.id).state), 5000);
    const purposes = h.journal.attemptsOf(v.id).map((a) => `${a.purpose}:${a.outcome}`);
    expect(purposes.slice(0, 4)).toEqual([
      'request:unknown',
      'inquiry:unknown',
      'inquiry:unknown',
      'inquiry:answered',
    ]);
  });

  it('a cancel journaled before a crash wins at start-up recovery, even when the card accepted', async () => {
    // The first process: approved by the host, the card deciding (stuck), the operator cancels, then it dies.
    let release!: () => void;
    const stuck = new (class extends InstantReader {
      override async completeTransaction(reference: string, answer: CompleteTransaction) {
        if (answer.approved) await new Promise<void>((r) => (release = r));
        return super.completeTransaction(reference, answer);
      }
    })();
    h = await harness({ responseMs: 300, reader: stuck });
    const v = h.engine.submit({
      kind: 'sale',
      idempotencyKey: 'crash-cancel',
      operatorId: 'op',
      amount: 7_700,
    });
    await until(() => h.engine.view(v.id).state === 'approved');
    expect((await h.engine.cancel(v.id, 'op')).cancelRequested).toBe(true);
    // The next process: same journal; its reader says the card accepted (TC) this very payment.
    const tcReader = new (class extends InstantReader {
      override async lastTransactionStatus(): Promise<LastTransactionStatus> {
        return { reference: v.id, stage: 'completed', cryptogram: 'tc' };
      }
    })();
    const next = new Engine({
      journal: h.journal,
      host: h.link,
      reader: tcReader,
      dialect: loadDialect('cup-pos'),
      fingerprintKey: FingerprintKey.generate(),
      config: { terminalId: TID, merchantId: MID, saf: { backoffInitialMs: 20, pollMs: 50 } },
    });
    const report = await next.recover();
    expect(report.actions['reversal_queued']).toBe(1);
    await until(() => next.view(v.id).state === 'reversed');
    expect(next.view(v.id).reason).toBe('cancelled_by_operator');
    const tx = hostTx(h.journal.getOperation(v.id)!.stan!)!;
    expect(tx.reversal).toBeDefined();
    await next.stop();
    release();
    await h.engine.settled(v.id);
    expect(h.engine.view(v.id).state).toBe('reversed');
  });
});
