import type { Logger } from 'pino';
import type { CardFacts, Journal, OperationKind, OperationRow, OperationState } from '../journal/index.js';
import type {
  IntegratedCapability,
  IntegratedOutcome,
  IntegratedProgressEvent,
  IntegratedTerminal,
  PaymentCommand,
  TerminalResult,
} from '../terminal/integrated.js';

/**
 * Operations on an integrated terminal (ZVT): the terminal reads the card and authorises with its own
 * acquirer; posbridge journals the command before its bytes leave, records what the terminal answered,
 * and repairs a lost answer by asking the terminal for its last transaction. The journal, idempotency,
 * orders, views, receipts and webhooks are the engine's own, shared with the card-reader path.
 */

/** The operation kinds and the terminal capability each needs. */
export const CAPABILITY_OF: Readonly<Partial<Record<OperationKind, IntegratedCapability>>> = {
  sale: 'sale',
  preauth: 'preauth',
  refund: 'refund',
  void: 'void',
  capture: 'capture',
  preauth_void: 'preauth_void',
};

/** What the journal keeps of the terminal's answer (in the operation's `result`). */
export interface TerminalFacts {
  terminal: 'zvt';
  receiptNo?: string;
  trace?: string;
  turnoverNo?: string;
  terminalId?: string;
  resultCode?: string;
  cardName?: string;
  aid?: string;
  receipt?: { merchant: string[]; customer: string[] };
  /** The terminal asked for the cardholder's signature (its merchant slip carries the signature line). */
  signatureRequired?: boolean;
}

export interface IntegratedFlowDeps {
  journal: Journal;
  terminal: IntegratedTerminal;
  now: () => Date;
  logger?: Logger;
  /** The engine's state transition (journal + event + outbox for final states). */
  /** The engine's state change (journal, outbox for final states, event); `within` joins its transaction. */
  transition(
    id: string,
    state: OperationState,
    patch: { reason?: string | null; approvedAmount?: number; responseCode?: string },
    within?: () => void,
  ): void;
  emitDurable(seq: number, id: string, type: string, data: Record<string, unknown>): void;
  emitProgress(id: string, e: IntegratedProgressEvent): void;
  cancelRequested(id: string): boolean;
  stopping(): boolean;
  /** How often a lost result is asked about while the terminal is busy, and how long between. */
  lastResultAttempts: number;
  lastResultRetryMs: number;
  /** The engine's result payload for the outbox. */
  resultPayload(op: OperationRow): Record<string, unknown>;
}

/** The operation id an integrated terminal's operations carry in `readerId`. */
export function integratedMarker(t: IntegratedTerminal): string {
  return `${t.kind}:${t.info().address}`;
}

export function isIntegrated(op: OperationRow): boolean {
  return (op.readerId ?? '').startsWith('zvt:');
}

function terminalFacts(op: OperationRow): TerminalFacts | undefined {
  const r = op.result as { terminal?: TerminalFacts } | null;
  return r?.terminal;
}

export class IntegratedFlow {
  constructor(private readonly d: IntegratedFlowDeps) {}

  /** Runs an operation from `awaiting_card` / `created` to a final state (or `unknown`). */
  async run(op: OperationRow, original: OperationRow | undefined): Promise<void> {
    const { terminal } = this.d;
    if (this.d.cancelRequested(op.id)) {
      this.d.transition(op.id, 'cancelled', { reason: 'cancelled_by_operator' });
      return;
    }
    const ready = (): boolean => terminal.state === 'idle' || terminal.state === 'busy';
    if (!ready()) {
      await terminal.whenReady(5_000).catch(() => undefined);
      if (!ready()) {
        this.d.transition(op.id, 'failed', { reason: 'terminal_unavailable' });
        return;
      }
    }
    if (this.d.cancelRequested(op.id)) {
      // Cancelled while the terminal came back: nothing was sent.
      this.d.transition(op.id, 'cancelled', { reason: 'cancelled_by_operator' });
      return;
    }
    const ref = original ? terminalFacts(original) : undefined;
    if (original && !ref?.receiptNo && op.kind !== 'refund') {
      this.d.transition(op.id, 'failed', { reason: 'original_has_no_receipt_number' });
      return;
    }
    // Write-ahead: the command is journaled (one fsync) before its bytes leave.
    const seq = this.d.journal.transaction(() => {
      this.d.journal.updateOperation(op.id, { state: 'authorizing' });
      this.d.journal.insertAttempt({
        operationId: op.id,
        purpose: 'request',
        mti: commandName(op.kind),
        stan: '000000',
        batch: op.batch ?? '000001',
      });
      return this.d.journal.appendEvent(op.id, 'operation.state', { state: 'authorizing' });
    });
    this.d.emitDurable(seq, op.id, 'operation.state', { state: 'authorizing' });
    const cmd: PaymentCommand = { reference: op.id, amount: op.amount, currency: op.currency };
    const progress = (e: IntegratedProgressEvent): void => this.d.emitProgress(op.id, e);
    let outcome: IntegratedOutcome;
    try {
      outcome = await this.send(op.kind, cmd, ref, progress);
    } catch (e) {
      outcome = { status: 'unknown', reason: 'protocol_error', message: (e as Error).message };
    }
    await this.record(op.id, outcome);
  }

  private send(
    kind: OperationKind,
    cmd: PaymentCommand,
    ref: TerminalFacts | undefined,
    progress: (e: IntegratedProgressEvent) => void,
  ): Promise<IntegratedOutcome> {
    const t = this.d.terminal;
    const byReceipt = {
      ...cmd,
      receiptNo: ref?.receiptNo ?? '',
      ...(ref?.trace ? { trace: ref.trace } : {}),
    };
    switch (kind) {
      case 'sale':
        return t.sale(cmd, progress);
      case 'preauth':
        return t.preauth(cmd, progress);
      case 'refund':
        return t.refund(cmd, progress);
      case 'void':
        return t.void(byReceipt);
      case 'capture':
        return t.capture(byReceipt);
      case 'preauth_void':
        return t.preauthVoid(byReceipt);
      default:
        return Promise.resolve({
          status: 'not_supported',
          code: 'not_supported_by_terminal',
          message: `${kind} is not supported by this terminal`,
        });
    }
  }

  /**
   * Journals the terminal's answer with its attempt in one transaction (a sale is four fsyncs: submit,
   * write-ahead, outcome, nothing else); a cancel that came meanwhile turns an approval into a void.
   */
  private async record(id: string, outcome: IntegratedOutcome): Promise<void> {
    const { journal } = this.d;
    const attempt = journal
      .attemptsOf(id)
      .filter((a) => a.purpose === 'request')
      .at(-1);
    const settle = (): void => {
      if (!attempt) return;
      journal.updateAttempt(attempt.id, {
        outcome:
          outcome.status === 'approved' || outcome.status === 'declined'
            ? 'answered'
            : outcome.status === 'unknown'
              ? 'unknown'
              : 'not_sent',
        settledAt: this.d.now().toISOString(),
        ...(outcome.status === 'declined' ? { responseCode: outcome.resultCode } : {}),
        ...(outcome.status === 'approved' ? { responseCode: '00' } : {}),
        ...('reason' in outcome ? { reason: outcome.reason } : {}),
      });
    };
    switch (outcome.status) {
      case 'approved':
        this.approved(id, outcome.result, settle);
        return;
      case 'declined':
        this.final(
          id,
          'declined',
          `declined_${outcome.resultCode}`,
          { resultCode: outcome.resultCode },
          settle,
        );
        return;
      case 'not_supported':
        this.final(id, 'failed', 'not_supported_by_terminal', {}, settle);
        return;
      case 'busy':
        this.final(id, 'failed', 'terminal_busy', {}, settle);
        return;
      case 'not_sent':
        this.final(id, 'failed', `not_sent_${outcome.reason}`, {}, settle);
        return;
      case 'unknown': {
        const reason = `no_answer_${outcome.reason}`;
        const seq = journal.transaction(() => {
          settle();
          journal.updateOperation(id, { state: 'unknown', reason });
          return journal.appendEvent(id, 'operation.state', { state: 'unknown', reason });
        });
        this.d.emitDurable(seq, id, 'operation.state', { state: 'unknown', reason });
        await this.resolveUnknown(id);
        return;
      }
    }
  }

  /** Approved by the terminal: completed in the same transaction, or voided when the operator cancelled. */
  private approved(id: string, r: TerminalResult, settle: () => void = () => undefined): void {
    const { journal } = this.d;
    const op = journal.getOperation(id)!;
    const facts: TerminalFacts = {
      terminal: 'zvt',
      ...(r.receiptNo ? { receiptNo: r.receiptNo } : {}),
      ...(r.trace ? { trace: r.trace } : {}),
      ...(r.turnoverNo ? { turnoverNo: r.turnoverNo } : {}),
      ...(r.terminalId ? { terminalId: r.terminalId } : {}),
      ...(r.resultCode ? { resultCode: r.resultCode } : {}),
      ...(r.cardName ? { cardName: r.cardName } : {}),
      ...(r.aid ? { aid: r.aid } : {}),
      ...(r.receipt ? { receipt: r.receipt } : {}),
      ...(r.signatureRequired ? { signatureRequired: true } : {}),
    };
    const card: CardFacts | null = r.maskedPan
      ? {
          maskedPan: r.maskedPan,
          // The terminal never gives posbridge a PAN: no fingerprint is possible.
          fingerprint: 'none',
          scheme: (r.cardName ?? 'unknown').toLowerCase(),
          kind: 'terminal',
          entryMode: '',
          panDisplay: r.maskedPan,
        }
      : null;
    const voiding = this.d.cancelRequested(id) && (op.kind === 'sale' || op.kind === 'preauth');
    const seqs = journal.transaction(() => {
      settle();
      journal.updateOperation(id, {
        state: 'approved',
        approvedAmount: r.amount ?? op.amount,
        authCode: r.authCode ?? null,
        responseCode: r.resultCode ?? '00',
        ...(card ? { card } : {}),
        result: { ...(op.result ?? {}), terminal: facts },
      });
      const approvedSeq = journal.appendEvent(id, 'operation.state', { state: 'approved', reason: null });
      if (voiding) return [approvedSeq];
      const done = journal.updateOperation(id, { state: 'completed', reason: null });
      journal.enqueueOutbox('payment.result', this.d.resultPayload(done));
      return [approvedSeq, journal.appendEvent(id, 'operation.state', { state: 'completed', reason: null })];
    });
    this.d.emitDurable(seqs[0]!, id, 'operation.state', { state: 'approved', reason: null });
    if (seqs[1] !== undefined)
      this.d.emitDurable(seqs[1], id, 'operation.state', { state: 'completed', reason: null });
    // The terminal approved before it took the abort: void it, never leave it completed.
    if (voiding) void this.voidAfterCancel(id);
  }

  /**
   * A cancel the terminal did not take in time: void what it approved (ZVT reversal by receipt). Also
   * start-up recovery's way to finish a void a crash interrupted.
   */
  async voidAfterCancel(id: string): Promise<void> {
    const { journal } = this.d;
    const op = journal.getOperation(id)!;
    const seq = journal.transaction(() => {
      journal.updateOperation(id, { state: 'reversing', reason: 'cancelled_by_operator' });
      journal.insertAttempt({
        operationId: id,
        purpose: 'reversal',
        mti: op.kind === 'preauth' ? 'zvt-0625' : 'zvt-0630',
        stan: '000000',
        batch: op.batch ?? '000001',
      });
      return journal.appendEvent(id, 'operation.state', {
        state: 'reversing',
        reason: 'cancelled_by_operator',
      });
    });
    this.d.emitDurable(seq, id, 'operation.state', { state: 'reversing', reason: 'cancelled_by_operator' });
    const facts = terminalFacts(op);
    const cmd = {
      reference: `${id}:void`,
      amount: op.approvedAmount ?? op.amount,
      currency: op.currency,
      receiptNo: facts?.receiptNo ?? '',
      ...(facts?.trace ? { trace: facts.trace } : {}),
    };
    await this.d.terminal.whenReady(5_000).catch(() => undefined);
    const outcome =
      op.kind === 'preauth' ? await this.d.terminal.preauthVoid(cmd) : await this.d.terminal.void(cmd);
    if (outcome.status === 'approved') this.final(id, 'reversed', 'cancelled_by_operator', {});
    else if (outcome.status === 'declined' && ['64', '6F'].includes(outcome.resultCode.toUpperCase()))
      // The terminal has no such receipt (already voided by a previous attempt): nothing is held.
      this.final(id, 'reversed', 'cancelled_by_operator', {});
    else
      this.final(id, 'needs_attention', `void_after_cancel_${outcome.status}`, {
        ...('resultCode' in outcome ? { resultCode: outcome.resultCode } : {}),
      });
  }

  /**
   * The answer was lost: ask the terminal for its last transaction (ZVT has no "status by ECR
   * reference"), a few times if it is busy. It is ours when approved for our amount with a receipt
   * number no other operation holds. When the last one belongs to an operation created before ours,
   * ours never ran (`failed`); when it belongs to one created after ours, the terminal's last
   * transaction no longer tells (`needs_attention`: check the terminal's journal), never `failed`.
   */
  async resolveUnknown(id: string): Promise<void> {
    const { journal, terminal } = this.d;
    const op = journal.getOperation(id)!;
    let last: Awaited<ReturnType<IntegratedTerminal['lastResult']>> = {
      status: 'unavailable',
      message: 'not asked',
    };
    for (let i = 0; i < this.d.lastResultAttempts; i++) {
      await terminal.whenReady(5_000).catch(() => undefined);
      last = await terminal
        .lastResult()
        .catch((e: unknown) => ({ status: 'unavailable' as const, message: (e as Error).message }));
      if (last.status !== 'unavailable' || this.d.stopping()) break;
      await new Promise((r) => setTimeout(r, this.d.lastResultRetryMs));
    }
    if (last.status === 'unavailable') {
      // Never `failed`: the terminal may hold it. Start-up recovery and the operator's check resolve it.
      this.d.logger?.warn(
        { paymentId: id, why: last.message },
        "terminal result unknown: check the terminal's last receipt; recovery asks again at the next start",
      );
      return;
    }
    if (last.status === 'none') {
      this.final(id, 'failed', 'terminal_has_no_record', {});
      return;
    }
    const holder = journal
      .recentOperations(500)
      .find((o) => o.id !== id && terminalFacts(o)?.receiptNo === last.result.receiptNo);
    if (!holder && last.result.receiptNo !== undefined && (last.result.amount ?? op.amount) === op.amount) {
      if (last.approved) {
        this.approved(id, last.result);
        return;
      }
      this.final(id, 'declined', `declined_${last.result.resultCode ?? 'unknown'}`, {});
      return;
    }
    if (holder && holder.createdAt > op.createdAt) {
      this.final(id, 'needs_attention', 'terminal_result_unknown_other_payment_since', {});
      return;
    }
    this.final(id, 'failed', 'terminal_has_no_record', {});
  }

  private final(
    id: string,
    state: 'completed' | 'declined' | 'failed' | 'reversed' | 'needs_attention',
    reason: string | null,
    extra: { resultCode?: string },
    settle?: () => void,
  ): void {
    this.d.transition(
      id,
      state,
      { reason, ...(extra.resultCode ? { responseCode: extra.resultCode } : {}) },
      settle,
    );
  }
}

/** The ZVT command an operation kind sends (journaled as the attempt's `mti`). */
function commandName(kind: OperationKind): string {
  const codes: Partial<Record<OperationKind, string>> = {
    sale: 'zvt-0601',
    preauth: 'zvt-0622',
    refund: 'zvt-0631',
    void: 'zvt-0630',
    capture: 'zvt-0624',
    preauth_void: 'zvt-0625',
  };
  return codes[kind] ?? 'zvt';
}
