import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Journal, OperationRow, OperationState } from '../journal/index.js';
import type { QrMethod, QrProvider, QrResult, TradeStatus } from '../qr/index.js';

/**
 * Scan-to-pay operations (Alipay, WeChat Pay) on the engine's journal: a QR sale is a `sale` whose
 * `readerId` is `qr:<method>`, so orders, refunds, views, webhooks and receipts treat it like a card
 * payment. Every request is journaled before it leaves; every outcome is keyed by the provider order
 * number (`outTradeNo`), derived from the CRM's idempotency key, so a retry can never charge twice and a
 * lost answer is always repaired by `query`. docs/qr.md.
 */

export const QR_METHODS: readonly QrMethod[] = ['alipay', 'wechat'];

export interface QrTimers {
  /** How long a merchant-presented QR stays payable (then it is closed). */
  expirySeconds: number;
  /** How often the flow asks the provider while waiting for the customer. */
  pollMs: number;
  /** How long a payment code may stay USERPAYING before the trade is cancelled (reversed). */
  payingTimeoutMs: number;
}

export const DEFAULT_QR_TIMERS: QrTimers = { expirySeconds: 300, pollMs: 2_000, payingTimeoutMs: 60_000 };

/** The providers' `time_expire` is at least this far ahead (the adapters refuse a minute or less). */
const PROVIDER_EXPIRY_FLOOR_MS = 120_000;

/** What the journal keeps of a QR payment (the operation's `result.qr`): no payment code, no full buyer id. */
export interface QrFacts {
  method: QrMethod;
  mode: 'qr' | 'code';
  outTradeNo: string;
  /** Merchant-presented QR: the content to render and when it stops being payable. */
  qrContent?: string;
  expiresAt?: string;
  tradeNo?: string;
  buyer?: string;
  paidAt?: string;
  /** Refunds: the refund request number (idempotent at the provider). */
  outRequestNo?: string;
}

export interface QrFlowDeps {
  journal: Journal;
  providers: Partial<Record<QrMethod, QrProvider>>;
  timers: QrTimers;
  terminalId: string;
  now: () => Date;
  logger?: Logger;
  /** The engine's state change (journal, outbox for final states, event); `within` joins its transaction. */
  transition(
    id: string,
    state: OperationState,
    patch: { reason?: string | null; approvedAmount?: number; responseCode?: string },
    within?: () => void,
  ): void;
  emitDurable(seq: number, id: string, type: string, data: Record<string, unknown>): void;
  cancelRequested(id: string): boolean;
  stopping(): boolean;
  /**
   * Runs the flow of an open operation no flow of this process holds (as start-up recovery does); false
   * when one already runs (or the engine is stopping): then that flow is nudged instead.
   */
  resume(op: OperationRow): boolean;
}

/** What a verified provider notification did (`Engine.qrNotification`). It never changes a state itself. */
export interface QrNotificationResult {
  /**
   * `resolving`: open operations of this trade ask the provider now (their flow's wait ends at once, or
   * their flow is resumed); `already_final`: the trade's operations are final, nothing to do;
   * `unknown_trade`: no operation of this desk has this trade (another desk's, or not ours).
   */
  outcome: 'resolving' | 'already_final' | 'unknown_trade';
  operationIds: string[];
}

export function qrMarker(method: QrMethod): string {
  return `qr:${method}`;
}

export function qrMethodOf(op: OperationRow): QrMethod | undefined {
  const m = /^qr:(alipay|wechat)$/.exec(op.readerId ?? '');
  return m ? (m[1] as QrMethod) : undefined;
}

export function qrFactsOf(op: OperationRow): QrFacts | undefined {
  return (op.result as { qr?: QrFacts } | null)?.qr;
}

/**
 * The provider order number of an idempotency key: the same key always names the same trade (WeChat
 * allows 6-32 of [A-Za-z0-9_-|*], Alipay up to 64): "PB" + 30 hex digits of SHA-256(terminal, key).
 */
export function outTradeNoOf(terminalId: string, idempotencyKey: string, prefix = 'PB'): string {
  return `${prefix}${createHash('sha256').update(`${terminalId}\n${idempotencyKey}`).digest('hex').slice(0, 30)}`;
}

export class QrFlow {
  /** The current wait of each waiting flow, to end it early (a notification came). */
  private readonly wakers = new Map<string, () => void>();
  /** Flows nudged while they were not waiting: their next wait ends at once. */
  private readonly nudged = new Set<string>();

  constructor(private readonly d: QrFlowDeps) {}

  provider(method: QrMethod): QrProvider | undefined {
    return this.d.providers[method];
  }

  /** A new QR sale (merchant-presented QR, or the customer's payment code when `authCode` is given). */
  async sale(op: OperationRow, method: QrMethod, authCode: string | undefined): Promise<void> {
    const p = this.d.providers[method]!;
    const outTradeNo = outTradeNoOf(this.d.terminalId, op.idempotencyKey);
    const mode = authCode ? 'code' : 'qr';
    const now = this.d.now().getTime();
    // The QR is shown (payable) until `shownUntil`, then this flow closes the trade. The provider's own
    // expiry is only a backstop should the close go unanswered: never under the minute the adapters
    // demand (a shorter QR would otherwise never be created at all).
    const shownUntil = now + this.d.timers.expirySeconds * 1000;
    const expiresAt = new Date(Math.max(shownUntil, now + PROVIDER_EXPIRY_FLOOR_MS));
    this.writeAhead(op, mode === 'qr' ? 'qr-precreate' : 'qr-pay', { method, mode, outTradeNo });
    if (this.d.cancelRequested(op.id)) return this.closeUnpaid(op.id, p, outTradeNo, 'cancelled_by_operator');
    const subject = `Order ${op.orderId ?? op.id.slice(0, 8)}`;
    if (mode === 'qr') {
      const r = await p.precreate({ outTradeNo, amount: op.amount, subject, expiresAt });
      this.settleAttempt(op.id, r);
      if (r.status === 'ok') {
        const until = new Date(Math.min(shownUntil, r.value.expiresAt.getTime())).toISOString();
        this.recordFacts(op.id, { qrContent: r.value.qrContent, expiresAt: until });
        const seq = this.d.journal.appendEvent(op.id, 'qr.created', {
          method,
          qrContent: r.value.qrContent,
          expiresAt: until,
        });
        this.d.emitDurable(seq, op.id, 'qr.created', {
          method,
          qrContent: r.value.qrContent,
          expiresAt: until,
        });
      } else if (r.status === 'rejected' || r.status === 'not_sent') {
        this.d.transition(op.id, r.status === 'rejected' ? 'declined' : 'failed', {
          reason: r.status === 'rejected' ? `qr_${r.code}` : `not_sent_${r.reason}`,
        });
        return;
      }
      // ok, or unknown (the trade may exist): wait for the customer by asking the provider.
      await this.await(op.id, p, outTradeNo, 'qr');
      return;
    }
    const r = await p.payByCode({ outTradeNo, amount: op.amount, subject, authCode: authCode! });
    this.settleAttempt(op.id, r);
    if (r.status === 'ok' && r.value.state === 'paid') return this.paid(op.id, r.value);
    if (r.status === 'rejected') {
      this.d.transition(op.id, 'declined', { reason: `qr_${r.code}` });
      return;
    }
    if (r.status === 'not_sent') {
      this.d.transition(op.id, 'failed', { reason: `not_sent_${r.reason}` });
      return;
    }
    // USERPAYING, or the answer was lost: ask until it ends; a code that never ends is cancelled (reversed).
    await this.await(op.id, p, outTradeNo, 'code');
  }

  /**
   * Waits for the trade's outcome by `query`: paid → completed; closed → cancelled; past expiry (QR) or
   * the paying timeout (payment code), or a cancel from the operator → close / reverse it.
   */
  async await(id: string, p: QrProvider, outTradeNo: string, mode: 'qr' | 'code'): Promise<void> {
    const op = this.d.journal.getOperation(id)!;
    const facts = qrFactsOf(op);
    const deadline =
      mode === 'qr' && facts?.expiresAt
        ? new Date(facts.expiresAt).getTime()
        : new Date(op.createdAt).getTime() + this.d.timers.payingTimeoutMs;
    let unknownStreak = 0;
    for (;;) {
      if (this.d.stopping()) return; // start-up recovery goes on from the journal
      const q = await p.query(outTradeNo);
      if (q.status === 'ok') {
        unknownStreak = 0;
        if (q.value.state === 'paid' || q.value.state === 'refunded') return this.paid(id, q.value);
        if (q.value.state === 'closed') return this.final(id, 'cancelled', 'qr_closed');
      } else if (q.status === 'unknown' || q.status === 'not_sent') {
        unknownStreak++;
        if (unknownStreak === 3)
          this.markUnknown(id, `qr_query_${q.status === 'unknown' ? q.reason : q.reason}`);
      }
      const cancelled = this.d.cancelRequested(id);
      if (cancelled || Date.now() >= deadline) {
        const why = cancelled ? 'cancelled_by_operator' : mode === 'qr' ? 'qr_expired' : 'qr_paying_timeout';
        return mode === 'qr'
          ? this.closeUnpaid(id, p, outTradeNo, why)
          : this.reverse(id, p, outTradeNo, why);
      }
      await this.pause(id, this.d.timers.pollMs);
    }
  }

  /** A merchant-presented QR nobody paid: close it; if it turns out paid meanwhile, it completed. */
  private async closeUnpaid(id: string, p: QrProvider, outTradeNo: string, why: string): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const c = await p.close(outTradeNo);
      if (
        c.status === 'ok' ||
        (c.status === 'rejected' && ['trade_not_exist', 'trade_closed'].includes(c.code))
      )
        return this.final(id, 'cancelled', why);
      if (c.status === 'rejected' && c.code === 'trade_paid') {
        const q = await p.query(outTradeNo);
        if (q.status === 'ok' && (q.value.state === 'paid' || q.value.state === 'refunded')) {
          // Paid just before it was closed: the customer paid, so the payment stands (the CRM sees it).
          if (why === 'cancelled_by_operator') return this.reverse(id, p, outTradeNo, why, q.value);
          return this.paid(id, q.value);
        }
      }
      if (this.d.stopping()) return;
      await this.pause(id, this.d.timers.pollMs);
    }
    this.markUnknown(id, 'qr_close_unanswered');
  }

  /** Cancel (reverse) a trade: nothing paid → cancelled; paid → the money goes back → reversed. */
  private async reverse(
    id: string,
    p: QrProvider,
    outTradeNo: string,
    why: string,
    paid?: TradeStatus,
  ): Promise<void> {
    if (paid) this.recordFacts(id, factsOf(paid));
    for (let i = 0; i < 5; i++) {
      const c = await p.cancel(outTradeNo);
      if (c.status === 'ok') return this.final(id, c.value.reversed || paid ? 'reversed' : 'cancelled', why);
      if (c.status === 'rejected' && c.code === 'trade_not_exist') return this.final(id, 'cancelled', why);
      if (c.status === 'rejected' && c.code === 'reverse_expired')
        return this.final(id, 'needs_attention', 'qr_reverse_expired_refund_it');
      if (this.d.stopping()) return;
      await this.pause(id, this.d.timers.pollMs);
    }
    this.markUnknown(id, 'qr_reverse_unanswered');
  }

  /** A refund of a QR sale, by the refund operation's own request number (idempotent at the provider). */
  async refund(op: OperationRow, original: OperationRow, method: QrMethod): Promise<void> {
    const p = this.d.providers[method]!;
    const of = qrFactsOf(original);
    if (!of) {
      this.d.transition(op.id, 'failed', { reason: 'original_has_no_qr_trade' });
      return;
    }
    const outRequestNo = outTradeNoOf(this.d.terminalId, op.idempotencyKey, 'RF');
    this.writeAhead(op, 'qr-refund', { method, mode: of.mode, outTradeNo: of.outTradeNo, outRequestNo });
    const req = {
      outTradeNo: of.outTradeNo,
      outRequestNo,
      amount: op.amount,
      totalAmount: original.approvedAmount ?? original.amount,
    };
    let r = await p.refund(req);
    this.settleAttempt(op.id, r);
    /** Rounds in which the provider answered the refund without moving money and then found none. */
    let noRefund = 0;
    for (let i = 0; i < 30 && !this.d.stopping(); i++) {
      if (r.status === 'ok' && r.value.state === 'success')
        return this.final(op.id, 'completed', null, op.amount);
      if (r.status === 'ok' && r.value.state === 'failed')
        return this.final(op.id, 'declined', 'qr_refund_failed');
      if (r.status === 'rejected') return this.final(op.id, 'declined', `qr_${r.code}`);
      if (r.status === 'not_sent' && i === 0) return this.final(op.id, 'failed', `not_sent_${r.reason}`);
      await this.pause(op.id, this.d.timers.pollMs);
      // processing, unknown or not found: ask; a refund the provider does not know is repeated (same number).
      const q = await p.refundQuery(of.outTradeNo, outRequestNo);
      if (q.status === 'ok' && q.value.state === 'not_found') {
        // Answered "accepted, no money moved" (Alipay fund_change=N), then "no such refund", again and
        // again: the provider did not make it. Repeating it for ever would leave the refund open for ever.
        if (r.status === 'ok' && r.value.state === 'processing' && ++noRefund >= 3)
          return this.final(op.id, 'declined', 'qr_refund_not_made');
        r = await p.refund(req);
      } else r = q;
    }
    this.markUnknown(op.id, 'qr_refund_unresolved');
  }

  /** Start-up recovery of a QR operation a previous process left open: ask the provider, go on. */
  async recover(op: OperationRow): Promise<string> {
    const method = qrMethodOf(op)!;
    const p = this.d.providers[method];
    if (!p) return 'qr_provider_not_configured';
    const facts = qrFactsOf(op);
    if (!facts || op.state === 'created' || op.state === 'awaiting_card') {
      // Nothing was journaled for the provider: nothing left.
      this.d.transition(op.id, 'cancelled', { reason: 'interrupted_before_provider' });
      return 'cancelled_before_provider';
    }
    if (op.kind === 'refund') {
      const original = op.originalId ? this.d.journal.getOperation(op.originalId) : undefined;
      if (original) await this.refundResume(op, original, p, facts);
      return 'qr_refund_resumed';
    }
    await this.await(op.id, p, facts.outTradeNo, facts.mode);
    return 'qr_resumed';
  }

  private async refundResume(
    op: OperationRow,
    original: OperationRow,
    p: QrProvider,
    f: QrFacts,
  ): Promise<void> {
    const q = await p.refundQuery(f.outTradeNo, f.outRequestNo!);
    if (q.status === 'ok' && q.value.state === 'success')
      return this.final(op.id, 'completed', null, op.amount);
    if (q.status === 'ok' && q.value.state === 'failed')
      return this.final(op.id, 'declined', 'qr_refund_failed');
    // Not found or unknown: the refund request is repeated with the same number (never a second refund).
    const method = qrMethodOf(original)!;
    const again = { ...op, state: 'authorizing' as const };
    await this.refund(again, original, method);
  }

  // -------------------------------------------------------------- notifications

  /**
   * A provider's notification, verified by its adapter (forwarded by the CRM backend: docs/qr.md). It is a
   * trigger, never a state change of its own: every open operation of that trade asks the provider now
   * (its flow's wait ends at once; a flow that is not running, e.g. an operation left `unknown`, is
   * resumed) and that answer moves it, through the one flow that owns the operation. Duplicates and
   * notifications of final or unknown trades change nothing. Polling alone stays enough.
   */
  onNotification(method: QrMethod, trade: TradeStatus & { outTradeNo: string }): QrNotificationResult {
    const ofTrade = (op: OperationRow): boolean =>
      qrMethodOf(op) === method && qrFactsOf(op)?.outTradeNo === trade.outTradeNo;
    const open = this.d.journal.openOperations().filter(ofTrade);
    if (open.length === 0) {
      // Final already (a duplicate, or the poll was first), or not this desk's trade: acknowledged.
      const known = this.d.journal.recentOperations(1000).some(ofTrade);
      return { outcome: known ? 'already_final' : 'unknown_trade', operationIds: [] };
    }
    for (const op of open) if (!this.d.resume(op)) this.nudge(op.id);
    return { outcome: 'resolving', operationIds: open.map((o) => o.id) };
  }

  /** Ends the current wait of `id`'s flow now, or its next one when it is busy asking the provider. */
  nudge(id: string): void {
    const wake = this.wakers.get(id);
    if (wake) wake();
    else this.nudged.add(id);
  }

  /** Ends every wait (the engine stops: each flow sees `stopping` at once instead of after a poll). */
  wakeAll(): void {
    for (const wake of [...this.wakers.values()]) wake();
  }

  /** The flow's wait between two questions to the provider; a nudge ends it early. */
  private pause(id: string, ms: number): Promise<void> {
    if (this.nudged.delete(id)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wakers.get(id) === done) this.wakers.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.set(id, done);
    });
  }

  // -------------------------------------------------------------- journal steps

  private writeAhead(op: OperationRow, purpose: string, facts: QrFacts): void {
    const seq = this.d.journal.transaction(() => {
      const cur = this.d.journal.getOperation(op.id)!;
      this.d.journal.updateOperation(op.id, {
        state: 'authorizing',
        result: { ...(cur.result ?? {}), qr: facts },
      });
      this.d.journal.insertAttempt({
        operationId: op.id,
        purpose: 'request',
        mti: purpose,
        stan: '000000',
        batch: op.batch ?? '000001',
      });
      return this.d.journal.appendEvent(op.id, 'operation.state', {
        state: 'authorizing',
        method: facts.method,
      });
    });
    this.d.emitDurable(seq, op.id, 'operation.state', { state: 'authorizing' });
  }

  private settleAttempt(id: string, r: QrResult<unknown>): void {
    const a = this.d.journal.attemptsOf(id).at(-1);
    if (!a) return;
    this.d.journal.updateAttempt(a.id, {
      outcome:
        r.status === 'ok' || r.status === 'rejected'
          ? 'answered'
          : r.status === 'unknown'
            ? 'unknown'
            : 'not_sent',
      settledAt: this.d.now().toISOString(),
      ...(r.status === 'rejected' ? { responseCode: r.code } : {}),
      ...(r.status === 'unknown' || r.status === 'not_sent' ? { reason: r.reason } : {}),
    });
  }

  private recordFacts(id: string, more: Partial<QrFacts>): void {
    const cur = this.d.journal.getOperation(id)!;
    const facts = { ...qrFactsOf(cur)!, ...more };
    this.d.journal.updateOperation(id, { result: { ...(cur.result ?? {}), qr: facts } });
  }

  private markUnknown(id: string, reason: string): void {
    const op = this.d.journal.getOperation(id)!;
    if (op.state === 'unknown') return;
    const seq = this.d.journal.transaction(() => {
      this.d.journal.updateOperation(id, { state: 'unknown', reason });
      return this.d.journal.appendEvent(id, 'operation.state', { state: 'unknown', reason });
    });
    this.d.emitDurable(seq, id, 'operation.state', { state: 'unknown', reason });
  }

  private async paid(id: string, t: TradeStatus): Promise<void> {
    this.recordFacts(id, factsOf(t));
    const op = this.d.journal.getOperation(id)!;
    if (this.d.cancelRequested(id)) {
      // Paid, but the operator cancelled: give it back (a payment-code reverse refunds a paid trade).
      // Awaited: the reverse is this operation's flow (tracked, so stop waits for it and nothing else
      // starts a second one for the same trade).
      const p = this.d.providers[qrMethodOf(op)!]!;
      return this.reverse(id, p, qrFactsOf(op)!.outTradeNo, 'cancelled_by_operator', t);
    }
    this.final(id, 'completed', null, t.paidAmount ?? op.amount);
  }

  private final(
    id: string,
    state: 'completed' | 'cancelled' | 'declined' | 'failed' | 'reversed' | 'needs_attention',
    reason: string | null,
    approvedAmount?: number,
  ): void {
    this.nudged.delete(id);
    this.d.transition(id, state, { reason, ...(approvedAmount !== undefined ? { approvedAmount } : {}) });
  }
}

function factsOf(t: TradeStatus): Partial<QrFacts> {
  return {
    ...(t.tradeNo ? { tradeNo: t.tradeNo } : {}),
    ...(t.buyer ? { buyer: t.buyer } : {}),
    ...(t.paidAt ? { paidAt: t.paidAt } : {}),
  };
}
