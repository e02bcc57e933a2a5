import type { Logger } from 'pino';
import type { HostLink } from '../host/index.js';
import type { Journal, SafRow } from '../journal/index.js';
import type { EngineConfig } from './config.js';
import {
  esignUploadMessage,
  reversalMessage,
  scriptAdviceMessage,
  tcUploadMessage,
  type Context,
  type StoredReversal,
  type StoredSignatureUpload,
} from './messages.js';

export interface SafDeps {
  journal: Journal;
  host: HostLink;
  config: EngineConfig;
  now: () => Date;
  emitDurable: (seq: number, operationId: string | null, type: string, data: Record<string, unknown>) => void;
  context: (stan?: string) => Context;
  logger?: Logger;
}

/**
 * Store and forward. Two lanes:
 * - reversals: strictly in order, one at a time, 0400 then 0401 repeats, back-off between attempts; a
 *   reversal that cannot go out blocks later ones and (through `drainReversals`) the next financial
 *   request. One that can no longer succeed (batch closed, attempts exhausted) becomes
 *   `needs_attention` with a reason, never dropped.
 * - advices (TC upload, script advice, e-signature upload): their own lane, never blocking a sale.
 * Everything it sends is journaled before the bytes leave; everything it learns, before anyone is told.
 */
export class SafWorker {
  private timer: NodeJS.Timeout | undefined;
  private reversalRun: Promise<boolean> | undefined;
  private adviceRun: Promise<void> | undefined;

  constructor(private readonly d: SafDeps) {}

  /** Polls both lanes every `pollMs` until stop(). */
  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      void this.drainReversals().then(() => this.drainAdvices());
      this.timer = setTimeout(tick, this.d.config.saf.pollMs);
      this.timer.unref();
    };
    tick();
  }

  /** Stops polling and waits for a lane run in progress to finish its current item. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([this.reversalRun, this.adviceRun]);
  }

  private stopped = false;

  /** Sends due reversals in order. Resolves true when none is pending any more. Concurrent callers share a run. */
  drainReversals(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    this.reversalRun ??= this.runReversals().finally(() => {
      this.reversalRun = undefined;
    });
    return this.reversalRun;
  }

  drainAdvices(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.adviceRun ??= this.runAdvices().finally(() => {
      this.adviceRun = undefined;
    });
    return this.adviceRun;
  }

  private due(item: SafRow): boolean {
    return !item.nextAt || new Date(item.nextAt).getTime() <= this.d.now().getTime();
  }

  private backoff(attempts: number): Date {
    const { backoffInitialMs, backoffMaxMs } = this.d.config.saf;
    const ms = Math.min(backoffMaxMs, backoffInitialMs * 2 ** Math.max(0, attempts - 1));
    return new Date(this.d.now().getTime() + ms);
  }

  private async runReversals(): Promise<boolean> {
    for (;;) {
      if (this.stopped) return false;
      const head = this.d.journal.headSaf('reversal');
      if (!head) return true;
      if (!this.due(head) || this.d.host.state !== 'ready') return false;
      const progressed = await this.sendReversal(head);
      if (!progressed) return false;
    }
  }

  /** One reversal attempt. Returns true when the item left the pending state. */
  private async sendReversal(item: SafRow): Promise<boolean> {
    const { journal, host, config } = this.d;
    const stored = item.message as unknown as StoredReversal & { attemptId?: number };
    const stan = stored.fields['11'] ?? '';
    const batch = (stored.fields['60'] ?? '').slice(2, 8);
    const op = journal.getOperation(item.operationId);
    const pan = op ? journal.openPan(item.operationId) : undefined;
    if (!op || !pan) {
      this.needsAttention(item, 'pan_unavailable_for_reversal');
      return true;
    }
    if (batch && batch !== this.d.context().batch) {
      // The day boundary: a closed batch can no longer be reversed; reconciliation must settle it.
      this.needsAttention(item, 'batch_closed');
      return true;
    }
    const repeat = item.attempts > 0;
    const message = reversalMessage(stored, pan, item.reason ?? '98', repeat, { authCode: op.authCode });
    const attemptId = journal.transaction(() => {
      journal.updateSaf(item.id, { attempts: item.attempts + 1 });
      return journal.insertAttempt({
        operationId: op.id,
        purpose: 'reversal',
        mti: message.mti,
        stan,
        batch: batch || this.d.context().batch,
      }).id;
    });
    const outcome = await host.request(message, { mac: true });
    const at = this.d.now().toISOString();
    const rc = outcome.status === 'answered' ? String(outcome.response.fields[39] ?? '') : undefined;
    // The attempt's outcome is written in the same transaction as what it leads to (one fsync).
    const recordAttempt = (): void =>
      journal.updateAttempt(attemptId, {
        outcome: outcome.status,
        settledAt: at,
        sentAt: outcome.attempt.sentAt?.toISOString() ?? null,
        ...(rc !== undefined ? { responseCode: rc } : {}),
        ...(outcome.status === 'unknown' || outcome.status === 'not_sent' ? { reason: outcome.reason } : {}),
      });
    if (rc !== undefined && config.saf.reversalDoneCodes.includes(rc)) {
      const seq = journal.transaction(() => {
        recordAttempt();
        journal.updateSaf(item.id, { status: 'done', lastResponse: rc });
        const current = journal.getOperation(op.id)!;
        if (
          current.state === 'reversing' ||
          current.state === 'unknown' ||
          current.state === 'approved' ||
          current.state === 'partially_approved'
        ) {
          const done = journal.updateOperation(op.id, { state: 'reversed' });
          journal.enqueueOutbox('payment.result', {
            paymentId: done.id,
            kind: done.kind,
            state: done.state,
            reason: done.reason,
            orderId: done.orderId,
            amount: done.amount,
            currency: done.currency,
            at: done.updatedAt,
          });
        }
        journal.erasePan(op.id);
        return journal.appendEvent(op.id, 'operation.state', { state: 'reversed', responseCode: rc, repeat });
      });
      this.d.emitDurable(seq, op.id, 'operation.state', { state: 'reversed' });
      return true;
    }
    if (rc !== undefined && config.saf.reversalFatalCodes.includes(rc)) {
      this.needsAttention(item, `reversal_refused_${rc}`, recordAttempt);
      return true;
    }
    if (item.attempts + 1 >= config.saf.maxAttempts) {
      this.needsAttention(item, 'reversal_attempts_exhausted', recordAttempt);
      return true;
    }
    journal.transaction(() => {
      recordAttempt();
      journal.updateSaf(item.id, {
        nextAt: this.backoff(item.attempts + 1).toISOString(),
        lastResponse: rc ?? outcome.status,
      });
    });
    this.d.logger?.warn(
      { paymentId: op.id, stan, outcome: outcome.status, responseCode: rc },
      'reversal not accepted yet; will repeat',
    );
    return false;
  }

  private needsAttention(item: SafRow, reason: string, alsoWrite?: () => void): void {
    const { journal } = this.d;
    const seq = journal.transaction(() => {
      alsoWrite?.();
      journal.updateSaf(item.id, { status: 'needs_attention', reason });
      const op = journal.getOperation(item.operationId);
      if (
        op &&
        op.state !== 'needs_attention' &&
        op.state !== 'completed' &&
        op.state !== 'declined' &&
        op.state !== 'failed' &&
        op.state !== 'reversed' &&
        op.state !== 'cancelled'
      ) {
        journal.updateOperation(op.id, { state: 'needs_attention', reason });
        journal.enqueueOutbox('payment.needs_attention', {
          paymentId: op.id,
          kind: op.kind,
          amount: op.amount,
          orderId: op.orderId,
          reason,
        });
      }
      return journal.appendEvent(item.operationId, 'operation.state', { state: 'needs_attention', reason });
    });
    this.d.emitDurable(seq, item.operationId, 'operation.state', { state: 'needs_attention', reason });
  }

  private async runAdvices(): Promise<void> {
    const { journal, host } = this.d;
    for (const item of journal.pendingSaf('advice')) {
      if (this.stopped) return;
      if (!this.due(item) || host.state !== 'ready') continue;
      const op = journal.getOperation(item.operationId);
      const pan = op ? journal.openPan(item.operationId) : undefined;
      // The e-signature upload's field 2 is conditional: it goes without the PAN once that is erased.
      const esign = item.kind === 'esign_upload';
      if (!op || (!pan && !esign)) {
        journal.updateSaf(item.id, { status: 'needs_attention', reason: 'pan_unavailable_for_advice' });
        continue;
      }
      const icc = Buffer.from(String(item.message['icc'] ?? ''), 'hex');
      let attemptId = 0;
      const message = journal.transaction(() => {
        const ctx = this.d.context(host.stan.next());
        const m = esign
          ? esignUploadMessage(op, pan, item.message as unknown as StoredSignatureUpload, ctx)
          : item.kind === 'script_advice'
            ? scriptAdviceMessage(op, pan!, icc, ctx)
            : tcUploadMessage(op, pan!, icc, ctx);
        journal.updateSaf(item.id, { attempts: item.attempts + 1 });
        attemptId = journal.insertAttempt({
          operationId: op.id,
          purpose: esign ? 'upload' : 'advice',
          mti: m.mti,
          stan: ctx.stan,
          batch: ctx.batch,
        }).id;
        return m;
      });
      // Advices are MACed; the e-signature upload as the dialect says (cup-pos: not MACed).
      const outcome = await host.request(message, esign ? {} : { mac: true });
      const rc = outcome.status === 'answered' ? String(outcome.response.fields[39] ?? '') : undefined;
      journal.transaction(() => {
        journal.updateAttempt(attemptId, {
          outcome: outcome.status,
          settledAt: this.d.now().toISOString(),
          ...(rc ? { responseCode: rc } : {}),
        });
        if (rc === '00' || rc === '25') {
          journal.updateSaf(item.id, { status: 'done', lastResponse: rc });
        } else if (item.attempts + 1 >= this.d.config.saf.maxAttempts) {
          journal.updateSaf(item.id, {
            status: 'needs_attention',
            reason: 'advice_attempts_exhausted',
            lastResponse: rc ?? outcome.status,
          });
        } else {
          journal.updateSaf(item.id, {
            nextAt: this.backoff(item.attempts + 1).toISOString(),
            lastResponse: rc ?? outcome.status,
          });
        }
      });
    }
  }
}
