/**
 * Closing a batch (docs/acquirer-messages.md §3.12, §3.13; docs/reconciliation.md):
 *
 *   open ──▶ closing ──0510 "1" balanced──────────────────────────────────────▶ settled
 *                    └─0510 "2" unbalanced──▶ uploading ─ TC uploads, 0320/201 per
 *                                             transaction, 0320/202 upload end, 0500 again ─▶ settled
 *
 * Each arrow is one journal transaction (one fsync), written before anyone is told; every message is
 * journaled (settlement_messages, and host_attempts for uploads of an operation) before its bytes leave.
 * A close interrupted anywhere (crash, host down, decline) resumes from its state on the next
 * `closeBatch()`: a repeated 0500 for a batch the host already settled gets the same answer again.
 *
 * At the 0510 the batch is closed at the host: pending reversals of the batch can no longer be sent and
 * become `needs_attention` (reason `batch_closed`) with a reconciliation item each, never dropped. When
 * the batch is settled, the batch counter advances and the sealed PANs no message can need are erased,
 * all in the transaction that marks it settled.
 */
import type { Logger } from 'pino';
import { Composite, type Iso8583MessageInput } from '../../iso8583/index.js';
import type { HostLink, HostOutcome } from '../../host/index.js';
import { FINAL_STATES, type Journal, type OperationState, type SafRow } from '../../journal/index.js';
import { tcUploadMessage, type Context } from '../messages.js';
import type { SafWorker } from '../saf.js';
import { localClass, localRecord } from './classify.js';
import { SettlementError } from './errors.js';
import {
  batchUploadMessage,
  settlementMessage,
  uploadEndMessage,
  type SettlementContext,
} from './messages.js';
import { eraseSealedPans } from './pans.js';
import { resultDigits, SettlementStore } from './store.js';
import { batchTotals, field48 } from './totals.js';
import {
  DEFAULT_SETTLEMENT_CONFIG,
  type BatchRecord,
  type BoundaryItem,
  type HostResult,
  type SettlementConfig,
  type SettlementMessageView,
  type SettlementResult,
} from './types.js';

/** A durable event settlement journaled (forward it as the engine forwards its own: `kind: 'durable'`). */
export interface SettlementEvent {
  seq: number;
  operationId: string | null;
  type: string;
  data: Record<string, unknown>;
}

export interface SettlementDeps {
  journal: Journal;
  /** The acquirer link: `request()`, its `stan` and `batch` counters (the journal's `counters` table). */
  host: Pick<HostLink, 'request' | 'stan' | 'batch' | 'state'>;
  terminalId: string;
  merchantId: string;
  /** ISO 4217 numeric (default 156). */
  currency?: string;
  /** The engine's store-and-forward worker (`engine.saf`): pending reversals and advices go out first. */
  saf?: Pick<SafWorker, 'drainReversals' | 'drainAdvices'>;
  /** Called after each durable event settlement journals (`settlement.state`, `operation.state`). */
  onEvent?: (e: SettlementEvent) => void;
  config?: Partial<SettlementConfig>;
  logger?: Logger;
  now?: () => Date;
}

const IN_FLIGHT: ReadonlySet<OperationState> = new Set([
  'created',
  'awaiting_card',
  'card_read',
  'authorizing',
  'approved',
  'completing',
  'partially_approved',
  'unknown',
]);

const pad6 = (n: number): string => String(n).padStart(6, '0');

export class Settlement {
  readonly store: SettlementStore;
  readonly config: SettlementConfig;
  private readonly journal: Journal;
  private readonly host: SettlementDeps['host'];
  private readonly now: () => Date;
  private readonly log: Logger | undefined;
  private running: Promise<SettlementResult> | undefined;

  constructor(private readonly d: SettlementDeps) {
    this.journal = d.journal;
    this.host = d.host;
    this.now = d.now ?? (() => new Date());
    this.store = new SettlementStore(d.journal, this.now);
    this.config = { ...DEFAULT_SETTLEMENT_CONFIG, ...d.config };
    this.log = d.logger?.child({ component: 'settlement', terminalId: d.terminalId });
  }

  /** The batch new transactions go into (the HostLink's `batch` counter, at least 1). */
  currentBatch(): string {
    return pad6(Math.max(1, this.host.batch.current));
  }

  /** A batch's settlement record; for a batch never closed, an `open` record with nothing filled in. */
  status(batch = this.currentBatch()): BatchRecord {
    return (
      this.store.getBatch(this.d.terminalId, batch) ?? {
        terminalId: this.d.terminalId,
        batch,
        state: 'open',
        totals: batchTotals(this.store, this.d.terminalId, batch).totals,
        result: null,
        hostResult: null,
        responseCode: null,
        hostDate: null,
        uploadCount: null,
        tcUploadCount: null,
        resettleResult: null,
        pendingReversals: 0,
        pansErased: null,
        nextBatch: null,
        operatorId: null,
        startedAt: this.now().toISOString(),
        closedAt: null,
        settledAt: null,
      }
    );
  }

  /** True while a close runs in this process. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * Closes the current batch (or resumes its interrupted close). Concurrent callers share one run.
   * Resolves with `outcome: 'settled'` or `'incomplete'` (with `stoppedReason`; call again to resume).
   * Throws `SettlementError('batch_busy')` when operations of the batch are still in flight after
   * `inFlightWaitMs`: nothing was sent.
   */
  closeBatch(options: { operatorId?: string } = {}): Promise<SettlementResult> {
    this.running ??= this.run(options.operatorId ?? null).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Erases the sealed PANs of settled batches that no message can need (also done at every settlement). */
  erasePans(): number {
    return eraseSealedPans(this.store, {
      now: this.now(),
      preauthExpiryDays: this.config.preauthExpiryDays,
    }).erased.length;
  }

  // ------------------------------------------------------------------ the run

  private async run(operatorId: string | null): Promise<SettlementResult> {
    const tid = this.d.terminalId;
    const batch = this.currentBatch();
    const boundary: BoundaryItem[] = [];
    const firstMessage = this.store.messages(tid, batch).length;
    const result = (stoppedReason?: string): SettlementResult => {
      const rec = this.status(batch);
      const messages: SettlementMessageView[] = this.store
        .messages(tid, batch)
        .slice(firstMessage)
        .map(({ purpose, mti, stan, operationId, outcome, responseCode }) => ({
          purpose,
          mti,
          stan,
          operationId,
          outcome,
          responseCode,
        }));
      return {
        ...rec,
        outcome: rec.state === 'settled' ? 'settled' : 'incomplete',
        ...(stoppedReason ? { stoppedReason } : {}),
        boundary,
        messages,
      };
    };

    let rec = this.store.getBatch(tid, batch);
    if (!rec || rec.state === 'open') {
      await this.waitInFlight(batch);
      await this.flushLanes(batch);
      await this.waitInFlight(batch);
      const { totals } = batchTotals(this.store, tid, batch);
      const f48 = field48(totals);
      this.commit(() => {
        this.store.insertBatch(tid, batch, 'closing', totals, f48, operatorId);
        return this.event(null, 'settlement.state', { batch, state: 'closing', totals });
      });
      rec = this.store.getBatch(tid, batch)!;
    }

    if (rec.state === 'closing') {
      if (this.store.messages(tid, batch).every((m) => m.outcome === 'not_sent')) {
        // No 0500 of this batch ever left: the totals may have moved since; send today's.
        const { totals } = batchTotals(this.store, tid, batch);
        this.journal.transaction(() =>
          this.journal.db
            .prepare(
              'UPDATE settlement_batches SET totals = ?, request_48 = ? WHERE terminal_id = ? AND batch = ?',
            )
            .run(JSON.stringify(totals), field48(totals), tid, batch),
        );
      }
      const f48 = this.requestField48(batch);
      const answer = await this.sendSettlement(batch, f48, 'settlement');
      if (!answer.ok) return result(answer.reason);
      const balanced = answer.hostResult.domestic !== '2' && answer.hostResult.foreign !== '2';
      this.commit(() => {
        this.store.updateBatch(tid, batch, {
          state: balanced ? 'closing' : 'uploading',
          responseCode: answer.responseCode,
          response48: answer.field48,
          result: balanced ? 'balanced' : 'unbalanced',
          hostDate: answer.hostDate,
          closedAt: this.now().toISOString(),
        });
        boundary.push(...this.crossBoundary(batch));
        this.store.updateBatch(tid, batch, { pendingReversals: boundary.length });
        if (balanced) this.finish(batch);
        return this.event(null, 'settlement.state', {
          batch,
          state: balanced ? 'settled' : 'uploading',
          result: balanced ? 'balanced' : 'unbalanced',
          hostResult: answer.hostResult,
          pendingReversals: boundary.length,
        });
      });
      rec = this.store.getBatch(tid, batch)!;
    }

    if (rec.state === 'uploading') {
      const stopped = await this.upload(batch);
      if (stopped) return result(stopped);
      rec = this.store.getBatch(tid, batch)!;
    }

    if (rec.state === 'settled' && this.currentBatch() === batch) {
      // The counter lives outside the journal (another CounterStore): advance it now.
      this.host.batch.set(Number(rec.nextBatch ?? nextBatch(batch)));
    }
    return result();
  }

  /** Field 48 of the 0500: the totals journaled when the close started (a resumed close sends the same). */
  private requestField48(batch: string): string {
    const r = this.journal.db
      .prepare('SELECT request_48 FROM settlement_batches WHERE terminal_id = ? AND batch = ?')
      .get(this.d.terminalId, batch) as { request_48: string } | undefined;
    return r!.request_48;
  }

  /** Waits (bounded) until no operation of the batch is in flight; pending reversals do not count. */
  private async waitInFlight(batch: string): Promise<void> {
    const deadline = Date.now() + this.config.inFlightWaitMs;
    for (;;) {
      const busy = this.store.opsOfBatch(this.d.terminalId, batch).filter((o) => IN_FLIGHT.has(o.state));
      if (busy.length === 0) return;
      if (Date.now() >= deadline)
        throw new SettlementError(
          'batch_busy',
          `${busy.length} operation(s) of batch ${batch} are still in progress; settle when they end`,
          { retryable: true },
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Before the 0500: every pending reversal of the batch is made due and the reversal lane drained (a
   * reversal must reach the host while the batch is open), then the advice lane (TC uploads, script
   * advices). What still cannot go out is handled at the boundary.
   */
  private async flushLanes(batch: string): Promise<void> {
    const saf = this.d.saf;
    if (!saf) return;
    const pending = this.journal.pendingSaf('reversal').filter((s) => this.safBatch(s) === batch);
    if (pending.length) {
      this.journal.transaction(() => {
        for (const s of pending) this.journal.updateSaf(s.id, { nextAt: null });
      });
      await saf.drainReversals();
    }
    await saf.drainAdvices();
  }

  private safBatch(item: SafRow): string | null {
    const fields = (item.message as { fields?: Record<string, string> }).fields;
    const b = (fields?.['60'] ?? '').slice(2, 8);
    return b || this.store.op(item.operationId)?.batch || null;
  }

  /**
   * The day boundary (inside the transaction that journals the 0510): every reversal of this batch still
   * pending can never be sent. It becomes `needs_attention` (`batch_closed`), its operation too (with a
   * `payment.needs_attention` outbox item), and a `pending_reversal` reconciliation item is raised.
   */
  private crossBoundary(batch: string): BoundaryItem[] {
    const out: BoundaryItem[] = [];
    const tid = this.d.terminalId;
    for (const item of this.journal.pendingSaf('reversal')) {
      if (this.safBatch(item) !== batch) continue;
      const reason = 'batch_closed';
      this.journal.updateSaf(item.id, { status: 'needs_attention', reason });
      const op = this.journal.getOperation(item.operationId);
      if (!op) continue;
      if (!FINAL_STATES.has(op.state)) {
        this.journal.updateOperation(op.id, { state: 'needs_attention', reason });
        this.journal.enqueueOutbox('payment.needs_attention', {
          paymentId: op.id,
          kind: op.kind,
          amount: op.amount,
          orderId: op.orderId,
          reason,
        });
      }
      this.event(op.id, 'operation.state', { state: 'needs_attention', reason });
      const row = this.store.op(op.id)!;
      const local = localRecord(row, localClass(row, new Set()));
      const itemId = this.store.insertItem({
        runId: null,
        terminalId: tid,
        batch,
        stan: op.stan,
        operationId: op.id,
        category: 'pending_reversal',
        status: 'needs_attention',
        local,
        host: null,
        action: 'reconcile_with_host_file',
        detail: `reversal (reason ${item.reason ?? '98'}) still pending when batch ${batch} closed`,
      });
      out.push({
        itemId,
        operationId: op.id,
        kind: op.kind,
        amount: op.amount,
        stan: op.stan,
        maskedPan: op.card?.maskedPan ?? null,
        reason,
      });
    }
    if (out.length)
      this.log?.warn(
        { batch, count: out.length },
        'pending reversals crossed the batch boundary: needs attention',
      );
    return out;
  }

  /**
   * Unbalanced: TC uploads still missing, one 0320 / 201 per counted transaction, the upload end
   * (0320 / 202 with the count), the 0500 again, then settled. Resumable: what the host answered is
   * not sent again. Returns a stop reason, or undefined when the batch is settled.
   */
  private async upload(batch: string): Promise<string | undefined> {
    const tid = this.d.terminalId;
    const done = (purpose: SettlementMessageView['purpose']) =>
      this.store
        .messages(tid, batch)
        .filter((m) => m.purpose === purpose && m.outcome === 'answered' && m.responseCode !== 'A0');

    // TC uploads the advice lane has not delivered yet.
    const { counted, ops } = batchTotals(this.store, tid, batch);
    let tcCount = done('tc_upload').length;
    for (const op of ops) {
      const item = this.journal
        .safOf(op.id)
        .find((s) => s.kind === 'tc_upload' && (s.status === 'pending' || s.status === 'needs_attention'));
      if (!item) continue;
      const full = this.journal.getOperation(op.id)!;
      const pan = this.journal.openPan(op.id);
      const icc = Buffer.from(String(item.message['icc'] ?? ''), 'hex');
      if (!pan || icc.length === 0) continue;
      const sent = await this.sendWithRetry(batch, 'tc_upload', op.id, (ctx) =>
        tcUploadMessage(full, pan, icc, engineContext(ctx)),
      );
      if (!sent) return 'tc_upload_failed';
      if (sent === '00' || sent === '25') {
        this.journal.updateSaf(item.id, { status: 'done', lastResponse: sent });
        tcCount++;
      }
    }

    // Batch upload: every transaction that counts in the totals, once.
    const uploaded = new Set(done('batch_upload').map((m) => m.operationId));
    for (const op of counted) {
      if (uploaded.has(op.id)) continue;
      const pan = this.journal.openPan(op.id);
      const sent = await this.sendWithRetry(batch, 'batch_upload', op.id, (ctx) =>
        batchUploadMessage(op, pan, ctx),
      );
      if (!sent) return 'upload_failed';
      uploaded.add(op.id);
    }
    const count = uploaded.size;

    if (done('upload_end').length === 0) {
      const sent = await this.sendWithRetry(batch, 'upload_end', null, (ctx) => uploadEndMessage(ctx, count));
      if (!sent) return 'upload_end_failed';
    }

    let resettle48: string | null = null;
    if (this.config.resettleAfterUpload) {
      const again = done('resettlement').at(-1);
      if (again) {
        resettle48 = (again.detail?.['field48'] as string | undefined) ?? null;
      } else {
        const answer = await this.sendSettlement(batch, this.requestField48(batch), 'resettlement');
        if (!answer.ok) return answer.reason;
        resettle48 = answer.field48;
      }
    }

    this.commit(() => {
      this.store.updateBatch(tid, batch, { uploadCount: count, tcUploadCount: tcCount, resettle48 });
      this.finish(batch);
      return this.event(null, 'settlement.state', {
        batch,
        state: 'settled',
        result: 'unbalanced',
        uploaded: count,
        tcUploads: tcCount,
        resettleResult: resultDigits(resettle48),
      });
    });
    return undefined;
  }

  /** Settled: the state, the counter, the PAN erasure and the outbox item, in the caller's transaction. */
  private finish(batch: string): void {
    const tid = this.d.terminalId;
    const next = nextBatch(batch);
    this.store.updateBatch(tid, batch, {
      state: 'settled',
      settledAt: this.now().toISOString(),
      nextBatch: next,
    });
    if (this.currentBatch() === batch) this.host.batch.set(Number(next));
    const erased = eraseSealedPans(this.store, {
      now: this.now(),
      preauthExpiryDays: this.config.preauthExpiryDays,
    }).erased.length;
    this.store.updateBatch(tid, batch, { pansErased: erased });
    const rec = this.store.getBatch(tid, batch)!;
    this.journal.enqueueOutbox('settlement.result', {
      terminalId: tid,
      batch,
      result: rec.result,
      hostResult: rec.hostResult,
      totals: rec.totals,
      uploadCount: rec.uploadCount,
      pendingReversals: rec.pendingReversals,
      nextBatch: next,
      at: rec.settledAt,
    });
  }

  // ------------------------------------------------------------------ messages

  private context(batch: string, stan: string): SettlementContext {
    return {
      terminalId: this.d.terminalId,
      merchantId: this.d.merchantId,
      currency: this.d.currency ?? '156',
      batch,
      stan,
    };
  }

  /** Journals the message (pending), sends it, journals the outcome. */
  private async send(
    batch: string,
    purpose: SettlementMessageView['purpose'],
    operationId: string | null,
    build: (ctx: SettlementContext) => Iso8583MessageInput,
  ): Promise<{ id: number; outcome: HostOutcome; rc: string | null }> {
    let id = 0;
    let attemptId: number | undefined;
    const message = this.journal.transaction(() => {
      const ctx = this.context(batch, this.host.stan.next());
      const m = build(ctx);
      id = this.store.insertMessage({
        terminalId: this.d.terminalId,
        batch,
        purpose,
        operationId,
        mti: m.mti,
        stan: ctx.stan,
      });
      if (operationId) {
        attemptId = this.journal.insertAttempt({
          operationId,
          purpose: purpose === 'tc_upload' ? 'advice' : 'upload',
          mti: m.mti,
          stan: ctx.stan,
          batch,
        }).id;
      }
      return m;
    });
    const outcome = await this.host.request(message, { mac: true });
    const rc = outcome.status === 'answered' ? text(outcome.response.fields[39]) : null;
    const detail: Record<string, unknown> = {};
    if (outcome.status === 'unknown' || outcome.status === 'not_sent') detail['reason'] = outcome.reason;
    if (outcome.status === 'answered' && message.mti === '0500') {
      detail['field48'] = text(outcome.response.fields[48]);
      detail['hostDate'] = text(outcome.response.fields[15]);
    }
    this.journal.transaction(() => {
      this.store.settleMessage(id, outcome.status, rc, Object.keys(detail).length ? detail : undefined);
      if (attemptId !== undefined)
        this.journal.updateAttempt(attemptId, {
          outcome: outcome.status,
          sentAt: outcome.attempt.sentAt?.toISOString() ?? null,
          settledAt: this.now().toISOString(),
          ...(rc !== null ? { responseCode: rc } : {}),
          ...(outcome.status === 'unknown' || outcome.status === 'not_sent'
            ? { reason: outcome.reason }
            : {}),
        });
    });
    return { id, outcome, rc };
  }

  /** An upload message, repeated (new STAN) until the host answers it; the response code, or undefined. */
  private async sendWithRetry(
    batch: string,
    purpose: SettlementMessageView['purpose'],
    operationId: string | null,
    build: (ctx: SettlementContext) => Iso8583MessageInput,
  ): Promise<string | undefined> {
    for (let i = 0; i < this.config.uploadAttempts; i++) {
      const { outcome, rc } = await this.send(batch, purpose, operationId, build);
      if (outcome.status === 'answered' && rc !== null && rc !== 'A0') return rc;
      this.log?.warn({ batch, purpose, outcome: outcome.status, responseCode: rc }, 'upload not answered');
      if (outcome.status === 'not_sent' && outcome.reason === 'link_down') return undefined;
    }
    return undefined;
  }

  private async sendSettlement(
    batch: string,
    f48: string,
    purpose: 'settlement' | 'resettlement',
  ): Promise<
    | { ok: true; hostResult: HostResult; field48: string; responseCode: string; hostDate: string | null }
    | { ok: false; reason: string }
  > {
    const operator = this.config.operatorField63 || undefined;
    const { outcome, rc } = await this.send(batch, purpose, null, (ctx) =>
      settlementMessage(ctx, f48, operator),
    );
    if (outcome.status !== 'answered') {
      this.log?.warn({ batch, outcome: outcome.status }, 'settlement not answered; resumable');
      return { ok: false, reason: `host_${outcome.status}` };
    }
    if (rc !== '00') return { ok: false, reason: `settlement_declined_${rc ?? 'none'}` };
    const answer48 = text(outcome.response.fields[48]) ?? '';
    const hostResult = resultDigits(answer48);
    if (!hostResult) return { ok: false, reason: 'settlement_bad_field48' };
    return {
      ok: true,
      hostResult,
      field48: answer48,
      responseCode: rc,
      hostDate: text(outcome.response.fields[15]),
    };
  }

  // ------------------------------------------------------------------ journal helpers

  /** Runs `fn` in one journal transaction, then forwards the events it journaled. */
  private commit(fn: () => number): void {
    try {
      this.journal.transaction(fn);
    } catch (e) {
      this.queued.length = 0;
      throw e;
    }
    this.flushEvents();
  }

  private readonly queued: {
    seq: number;
    operationId: string | null;
    type: string;
    data: Record<string, unknown>;
  }[] = [];

  /** Appends a durable event (inside the caller's transaction); it is forwarded once committed. */
  private event(operationId: string | null, type: string, data: Record<string, unknown>): number {
    const seq = this.journal.appendEvent(operationId, type, { terminalId: this.d.terminalId, ...data });
    this.queued.push({ seq, operationId, type, data });
    return seq;
  }

  private flushEvents(): void {
    const events = this.queued.splice(0);
    for (const e of events) this.d.onEvent?.(e);
  }
}

export function nextBatch(batch: string): string {
  const n = Number(batch);
  return pad6(n >= 999_999 ? 1 : n + 1);
}

function text(v: unknown): string | null {
  return typeof v === 'string' ? v : v instanceof Composite ? v.wire : null;
}

/** The engine's message context for the TC upload builder it already has. */
function engineContext(ctx: SettlementContext): Context {
  return { ...ctx, now: new Date(), partialApproval: false };
}
