import { afterEach, describe, expect, it } from 'vitest';
import { parseField48, SettlementStore } from '../../src/engine/settlement/index.js';
import { harness, type Harness } from '../engine/harness.js';
import { op, service, TID } from './helpers.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('settlement: balanced', () => {
  it('0500 with the journal totals, 0510 balanced, batch advances, sealed PANs erased except open pre-auths', async () => {
    h = await harness();
    const a = await op(h, { kind: 'sale', amount: 100_000 });
    const visa = await op(h, { kind: 'sale', amount: 50_000 }, 'visa-chip');
    const b = await op(h, { kind: 'sale', amount: 7_000 });
    const bVoid = await op(h, { kind: 'void', originalId: b.id });
    const refund = await op(h, { kind: 'refund', amount: 20_000, originalId: a.id });
    const openPreauth = await op(h, { kind: 'preauth', amount: 30_000 });
    const p2 = await op(h, { kind: 'preauth', amount: 40_000 });
    const capture = await op(h, { kind: 'capture', amount: 41_000, originalId: p2.id });
    const declined = await op(h, { kind: 'sale', amount: 10_051 });
    for (const v of [a, visa, b, bVoid, refund, openPreauth, p2, capture])
      expect(v.state, `${v.kind} ${v.id}`).toBe('completed');
    expect(declined.state).toBe('declined');
    expect(h.journal.sealedPans().length).toBeGreaterThanOrEqual(7);

    const s = service(h);
    expect(s.settlement.currentBatch()).toBe('000001');
    const r = await s.settle({ operatorId: 'op-1' });

    expect(r).toMatchObject({ outcome: 'settled', state: 'settled', batch: '000001', result: 'balanced' });
    expect(r.hostResult).toEqual({ domestic: '1', foreign: '1' });
    expect(r.totals).toEqual({
      domestic: { debitAmount: 100_000 + 41_000, debitCount: 2, creditAmount: 20_000, creditCount: 1 },
      foreign: { debitAmount: 50_000, debitCount: 1, creditAmount: 0, creditCount: 0 },
    });
    expect(r.messages.map((m) => `${m.purpose}:${m.mti}:${m.outcome}:${m.responseCode}`)).toEqual([
      'settlement:0500:answered:00',
    ]);
    // The host saw the same figures and closed the batch.
    const hostSettlement = h.sim.ledger.settlement(TID, '000001')!;
    expect(hostSettlement.result).toEqual({ domestic: '1', foreign: '1' });
    expect(parseField48(hostSettlement.field48).domestic.debitAmount).toBe(141_000);
    expect(h.sim.ledger.isClosed(TID, '000001')).toBe(true);

    // The batch advanced; the next sale goes into batch 000002 and is approved.
    expect(h.link.batch.current).toBe(2);
    expect(r.nextBatch).toBe('000002');
    const next = await op(h, { kind: 'sale', amount: 1_000 });
    expect(next.state).toBe('completed');
    expect(next.host.batch).toBe('000002');

    // Only the open pre-auth (and the new batch's sale) keep their PAN.
    expect(h.journal.sealedPans().sort()).toEqual([openPreauth.id, next.id].sort());
    expect(r.pansErased).toBeGreaterThanOrEqual(7);

    // Journaled: the batch record, a settlement.result outbox item, durable events.
    expect(s.report({ batch: '000001' }).settlement).toMatchObject({ state: 'settled', result: 'balanced' });
    expect(h.journal.dueOutbox(100).some((o) => o.topic === 'settlement.result')).toBe(true);
    const states = h.events
      .filter((e) => e.kind === 'durable' && e.type === 'settlement.state')
      .map((e) => (e.kind === 'durable' ? e.data['state'] : ''));
    expect(states).toEqual(['closing', 'settled']);

    // Settling again closes the next batch (empty: balanced at zero).
    const again = await s.settle({ operatorId: 'op-1' });
    expect(again).toMatchObject({ batch: '000002', result: 'balanced', outcome: 'settled' });
    expect(h.journal.sealedPans()).toEqual([openPreauth.id]);
  });

  it('resumes after the 0510 was lost: the repeated 0500 gets the same answer', async () => {
    h = await harness({ responseMs: 300 });
    await op(h, { kind: 'sale', amount: 12_000 });
    h.sim.faults.add({ match: { mti: '0500' }, action: 'drop_response', times: 1 });
    const s = service(h);
    const first = await s.settle({ operatorId: 'op-1' });
    expect(first).toMatchObject({ outcome: 'incomplete', state: 'closing', stoppedReason: 'host_unknown' });
    expect(h.link.batch.current).toBe(1);
    expect(h.sim.ledger.isClosed(TID, '000001')).toBe(true); // the host did settle it
    const second = await s.settle({ operatorId: 'op-1' });
    expect(second).toMatchObject({ outcome: 'settled', batch: '000001', result: 'balanced' });
    expect(h.link.batch.current).toBe(2);
  });

  it('refuses to close while an operation of the batch is still in flight', async () => {
    h = await harness();
    const s = service(h, { config: { inFlightWaitMs: 100 } });
    h.journal.insertOperation({
      id: 'in-flight',
      kind: 'sale',
      idempotencyKey: 'in-flight',
      paramsHash: 'x',
      operatorId: 'op',
      orderId: null,
      originalId: null,
      amount: 100,
      currency: '156',
      state: 'authorizing',
      terminalId: TID,
      readerId: null,
      batch: '000001',
    });
    await expect(s.settle({ operatorId: 'op-1' })).rejects.toMatchObject({
      code: 'batch_busy',
      retryable: true,
    });
    expect(s.settlement.status().state).toBe('open');
  });
});

describe('settlement: unbalanced', () => {
  it('a transaction the host holds and the journal does not count: batch upload, upload end, 0500 again', async () => {
    h = await harness({
      responseMs: 300,
      config: { useStatusInquiry: false, saf: { backoffInitialMs: 60_000, adviceAfterCompletion: false } },
    });
    const a = await op(h, { kind: 'sale', amount: 100_000 });
    const visa = await op(h, { kind: 'sale', amount: 50_000 }, 'visa-chip');
    const refund = await op(h, { kind: 'refund', amount: 5_000, originalId: a.id });
    // The lost one: the host approves, the answer is dropped, the reversal is refused (96) until the close.
    h.sim.faults.add({ match: { mti: '0200', amount: 33_300 }, action: 'drop_response', times: 1 });
    h.sim.faults.add({ action: 'reversal_96' });
    const lost = await op(h, { kind: 'sale', amount: 33_300 });
    await h.engine.saf.drainReversals();
    expect(h.engine.view(lost.id).state).toBe('reversing');

    // The two chip sales' TC uploads are still in the advice lane (the refund had no card): the close
    // sends them during the upload.
    const s = service(h, {
      saf: { drainReversals: () => h.engine.saf.drainReversals(), drainAdvices: async () => undefined },
    });
    const r = await s.settle({ operatorId: 'op-1' });
    expect(r).toMatchObject({ outcome: 'settled', result: 'unbalanced', uploadCount: 3, tcUploadCount: 2 });
    expect(r.hostResult).toEqual({ domestic: '2', foreign: '1' });
    expect(r.resettleResult).toEqual({ domestic: '2', foreign: '1' });
    const purposes = r.messages.map((m) => `${m.purpose}:${m.mti}:${m.responseCode}`);
    expect(purposes).toEqual([
      'settlement:0500:00',
      'tc_upload:0320:00',
      'tc_upload:0320:00',
      'batch_upload:0320:00',
      'batch_upload:0320:00',
      'batch_upload:0320:00',
      'upload_end:0320:00',
      'resettlement:0500:00',
    ]);
    expect(r.messages.filter((m) => m.purpose === 'batch_upload').map((m) => m.operationId)).toEqual([
      a.id,
      visa.id,
      refund.id,
    ]);

    // The host compared the upload with its own: exactly the lost sale is missing.
    const upload = h.sim.ledger.snapshot.uploads.find((u) => u.tid === TID && u.batch === '000001')!;
    expect(upload.ended?.declaredCount).toBe(3);
    const lostKey = `${TID}:000001:${h.journal.getOperation(lost.id)!.stan}`;
    expect(upload.ended?.notUploaded).toEqual([lostKey]);
    // The TC reached the host (its `verified` flag is false for the instant reader's TC in the engine's own
    // advice lane too: a simulator/reader matter, not settlement's).
    expect(h.sim.ledger.tx(`${TID}:000001:${h.journal.getOperation(a.id)!.stan}`)?.tc).toBeDefined();

    // The day boundary: the pending reversal became needs_attention, with a reconciliation item.
    expect(r.boundary).toHaveLength(1);
    expect(r.boundary[0]).toMatchObject({ operationId: lost.id, amount: 33_300, reason: 'batch_closed' });
    expect(r.boundary[0]!.maskedPan).toBe('621234*********0010');
    expect(h.engine.view(lost.id)).toMatchObject({ state: 'needs_attention', reason: 'batch_closed' });
    expect(h.journal.safOf(lost.id).find((x) => x.lane === 'reversal')).toMatchObject({
      status: 'needs_attention',
      reason: 'batch_closed',
    });
    expect(h.journal.dueOutbox(100).filter((o) => o.topic === 'payment.needs_attention')).toHaveLength(1);
    expect(s.report().openItems).toMatchObject([
      {
        category: 'pending_reversal',
        status: 'needs_attention',
        action: { code: 'reconcile_with_host_file' },
      },
    ]);
    // The uploads are in the operations' own history, and nothing needs the PANs any more.
    expect(h.journal.attemptsOf(a.id).map((x) => x.purpose)).toEqual(['request', 'advice', 'upload']);
    expect(h.journal.sealedPans()).toEqual([]);
    expect(h.link.batch.current).toBe(2);
  });

  it('an upload interrupted (no answer) resumes after a restart without sending twice what was answered', async () => {
    h = await harness({
      responseMs: 300,
      config: { useStatusInquiry: false, saf: { backoffInitialMs: 60_000 } },
    });
    const a = await op(h, { kind: 'sale', amount: 100_000 });
    const b = await op(h, { kind: 'sale', amount: 200_000 });
    h.sim.faults.add({ match: { mti: '0200', amount: 33_300 }, action: 'drop_response', times: 1 });
    h.sim.faults.add({ action: 'reversal_96' });
    await op(h, { kind: 'sale', amount: 33_300 });
    h.sim.faults.add({ match: { mti: '0320', amount: 200_000 }, action: 'drop_response', times: 1 });

    const first = await service(h, { config: { uploadAttempts: 1 } }).settle({ operatorId: 'op-1' });
    expect(first).toMatchObject({
      outcome: 'incomplete',
      state: 'uploading',
      stoppedReason: 'upload_failed',
    });
    expect(first.boundary).toHaveLength(1);
    expect(h.link.batch.current).toBe(1);

    // A new process: a new service over the same journal resumes the upload.
    const second = await service(h).settle({ operatorId: 'op-1' });
    expect(second).toMatchObject({ outcome: 'settled', uploadCount: 2, boundary: [] });
    const uploads = second.messages.map((m) => `${m.purpose}:${m.operationId ?? '-'}:${m.outcome}`);
    expect(uploads).toEqual([
      `batch_upload:${b.id}:answered`,
      'upload_end:-:answered',
      'resettlement:-:answered',
    ]);
    const all = new SettlementStore(h.journal)
      .messages(TID, '000001')
      .filter((m) => m.purpose === 'batch_upload')
      .map((m) => `${m.operationId === a.id ? 'a' : 'b'}:${m.outcome}`);
    expect(all).toEqual(['a:answered', 'b:unknown', 'b:answered']);
    expect(h.sim.ledger.snapshot.uploads[0]?.ended?.declaredCount).toBe(2);
    expect(h.link.batch.current).toBe(2);
  });
});
