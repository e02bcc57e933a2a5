import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Composite, type Dialect, type Iso8583Message, type Iso8583MessageInput } from '../iso8583/index.js';
import { matchFingerprint, type FingerprintKey, type Pan } from '../card/index.js';
import { classifyPresentation } from '../emv/index.js';
import type { HostLink, HostOutcome, StrayResponse } from '../host/index.js';
import {
  FINAL_STATES,
  type CardFacts,
  type Journal,
  type OperationKind,
  type OperationRow,
  type OperationState,
} from '../journal/index.js';
import type {
  CardReader,
  CardResult,
  CompleteResult,
  LastTransactionStatus,
  ReaderProgressEvent,
} from '../terminal/reader.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig, type SafConfig } from './config.js';
import { EngineError } from './errors.js';
import {
  cardRequest,
  inquiryMessage,
  prepareReversal,
  referencedRequest,
  requestIcc,
  type Context,
} from './messages.js';
import { Receipts } from './receipts/index.js';
import type { IntegratedTerminal } from '../terminal/integrated.js';
import { CAPABILITY_OF, IntegratedFlow, integratedMarker, isIntegrated } from './integrated-flow.js';
import type { QrMethod, QrProvider, TradeStatus } from '../qr/index.js';
import {
  DEFAULT_QR_TIMERS,
  QR_METHODS,
  QrFlow,
  qrMarker,
  qrMethodOf,
  type QrNotificationResult,
  type QrTimers,
} from './qr-flow.js';
import { SafWorker } from './saf.js';
import { toView, type OperationView, type OrderSummary } from './views.js';

export interface EngineDeps {
  journal: Journal;
  host: HostLink;
  reader: CardReader;
  /**
   * An integrated terminal (ZVT) that reads the card and authorises itself: when given, every payment
   * goes to it and `host` / `reader` only serve what they still can (nothing, for a ZVT-only desk).
   */
  integrated?: IntegratedTerminal;
  /** Scan-to-pay providers (Alipay, WeChat Pay) this desk takes; none by default. */
  qr?: Partial<Record<QrMethod, QrProvider>>;
  qrTimers?: Partial<QrTimers>;
  dialect: Dialect;
  fingerprintKey: FingerprintKey;
  config: Partial<Omit<EngineConfig, 'saf'>> &
    Pick<EngineConfig, 'terminalId' | 'merchantId'> & { saf?: Partial<SafConfig> };
  logger?: Logger;
  now?: () => Date;
  /**
   * Awaited before a card is asked for (errors ignored): the daemon lets a running parameter download
   * and its push to the reader finish, bounded, so a chip card is not read with missing or stale CAPKs.
   */
  beforeCardRead?: () => Promise<void>;
}

/** What a state change may set besides the state (see `Engine.transition`). */
export interface TransitionPatch {
  reason?: string | null;
  approvedAmount?: number;
  responseCode?: string;
}

export interface OperationRequest {
  kind: OperationKind;
  idempotencyKey: string;
  operatorId: string;
  orderId?: string;
  /** Minor units (fen), a non-negative safe integer. Not for balance, void and pre-auth void. */
  amount?: number;
  currency?: string;
  originalId?: string;
  /** Supervisor approval code for voids and refunds above the configured threshold. */
  approvalCode?: string;
  /** Read the card for a void or refund (checks it is the original card). */
  cardPresent?: boolean;
  /** How the customer pays a sale: the card (default) or scan-to-pay (Alipay, WeChat Pay). */
  method?: 'card' | QrMethod;
  /** Scan-to-pay: the customer's payment code (digits); without it a QR is shown. Never journaled. */
  authCode?: string;
}

/** Durable events carry their journal `seq`; transient progress carries the last durable seq. */
export type EngineEvent =
  | {
      kind: 'durable';
      seq: number;
      operationId: string | null;
      type: string;
      data: Record<string, unknown>;
      /** When it was journaled (set on events read back from the journal). */
      at?: string;
    }
  | {
      kind: 'progress';
      lastSeq: number;
      operationId: string;
      progress: ReaderProgressEvent['progress'];
      digits?: number;
    };

const CARD_KINDS: ReadonlySet<OperationKind> = new Set(['sale', 'balance', 'preauth']);

/**
 * Operations as state machines over the journal (write-ahead), the host link and the card reader.
 * See docs/recovery.md for the order of writes. Every public method either returns a view of a journaled
 * operation or throws an EngineError before anything is journaled.
 */
export class Engine extends EventEmitter {
  readonly config: EngineConfig;
  readonly saf: SafWorker;
  /** Receipts of completed payments, their printing, and cardholder signatures. */
  readonly receipts: Receipts;
  private readonly journal: Journal;
  private readonly host: HostLink;
  private readonly reader: CardReader;
  private readonly dialect: Dialect;
  private readonly fingerprintKey: FingerprintKey;
  private readonly log: Logger | undefined;
  private readonly now: () => Date;
  /** The operation holding the card reader, if any (one transaction per reader). */
  private readerOwner: string | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly partialDecisions = new Map<string, (accept: boolean) => void>();
  private readonly retriedBusy = new Set<string>();
  private readonly onStray = (s: StrayResponse): void => this.recordStray(s);
  private readonly integrated: IntegratedTerminal | undefined;
  private readonly integratedFlow: IntegratedFlow | undefined;
  private readonly qrFlow: QrFlow;
  /** `unknown` operations whose status inquiry waits for the host link to come back. */
  private readonly deferredInquiries = new Set<string>();
  private readonly onHostState = (e: { state: string }): void => {
    if (e.state === 'ready') this.retryDeferredInquiries();
  };
  private stopping = false;
  private readonly beforeCardRead: (() => Promise<void>) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly stopWaiters = new Set<() => void>();

  constructor(deps: EngineDeps) {
    super();
    this.config = {
      ...DEFAULT_ENGINE_CONFIG,
      ...deps.config,
      saf: { ...DEFAULT_ENGINE_CONFIG.saf, ...deps.config.saf },
    };
    this.journal = deps.journal;
    this.host = deps.host;
    this.reader = deps.reader;
    this.dialect = deps.dialect;
    this.fingerprintKey = deps.fingerprintKey;
    this.log = deps.logger?.child({ component: 'engine', terminalId: this.config.terminalId });
    this.now = deps.now ?? (() => new Date());
    this.beforeCardRead = deps.beforeCardRead;
    this.saf = new SafWorker({
      journal: this.journal,
      host: this.host,
      config: this.config,
      now: this.now,
      emitDurable: (seq, operationId, type, data) => this.emitDurable(seq, operationId, type, data),
      context: (stan) => this.context(stan),
      ...(this.log ? { logger: this.log } : {}),
    });
    this.receipts = new Receipts({
      journal: this.journal,
      reader: this.reader,
      config: this.config,
      signatureUpload: this.dialect.spec.exchanges?.signatureUpload,
      saf: this.saf,
      now: this.now,
      logger: this.log,
    });
    this.host.on('stray', this.onStray);
    this.host.on('state', this.onHostState);
    this.qrFlow = new QrFlow({
      journal: this.journal,
      providers: deps.qr ?? {},
      timers: { ...DEFAULT_QR_TIMERS, ...deps.qrTimers },
      terminalId: this.config.terminalId,
      now: this.now,
      ...(this.log ? { logger: this.log } : {}),
      transition: (id, state, patch) => this.transition(id, state, patch),
      emitDurable: (seq, id, type, data) => this.emitDurable(seq, id, type, data),
      cancelRequested: (id) => this.cancelRequested(id),
      stopping: () => this.stopping,
      resume: (op) => {
        if (this.stopping || this.running.has(op.id)) return false;
        this.track(
          op.id,
          this.qrFlow.recover(op).then(() => undefined),
        );
        return true;
      },
    });
    this.integrated = deps.integrated;
    if (this.integrated) {
      this.integratedFlow = new IntegratedFlow({
        journal: this.journal,
        terminal: this.integrated,
        now: this.now,
        ...(this.log ? { logger: this.log } : {}),
        transition: (id, state, patch) => this.transition(id, state, patch),
        emitDurable: (seq, id, type, data) => this.emitDurable(seq, id, type, data),
        emitProgress: (id, e) =>
          this.emit('event', {
            kind: 'progress',
            lastSeq: this.journal.lastSeq(),
            operationId: id,
            progress: e.progress === 'waiting' ? 'processing' : e.progress,
          } satisfies EngineEvent),
        cancelRequested: (id) => this.cancelRequested(id),
        stopping: () => this.stopping,
        lastResultAttempts: 3,
        lastResultRetryMs: Math.max(50, Math.min(1_000, this.config.saf.pollMs)),
        resultPayload,
      });
    }
  }

  /** Stops background work (not the host link or reader, which the caller owns). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    for (const wake of this.stopWaiters) wake();
    this.qrFlow.wakeAll();
    this.host.off('stray', this.onStray);
    this.host.off('state', this.onHostState);
    await Promise.allSettled([...this.running.values()]);
    await this.saf.stop();
  }

  // ------------------------------------------------------------------ public API

  /** Validates, journals, and starts an operation; returns at once with its view. */
  submit(req: OperationRequest): OperationView {
    this.validate(req);
    const paramsHash = hashParams(req);
    const existing = this.journal.findByIdempotencyKey(req.idempotencyKey);
    if (existing) {
      if (existing.paramsHash !== paramsHash) {
        throw new EngineError(
          'idempotency_conflict',
          'this idempotency key was used with different parameters',
          { path: 'idempotencyKey' },
        );
      }
      return this.view(existing.id);
    }
    const original = req.originalId ? this.checkOriginal(req) : undefined;
    // Scan-to-pay: a QR sale, or the refund of one. It never holds the card reader or the terminal.
    const qrMethod: QrMethod | undefined =
      req.method && req.method !== 'card' ? req.method : original ? qrMethodOf(original) : undefined;
    const needsCard =
      !qrMethod &&
      (CARD_KINDS.has(req.kind) || req.cardPresent === true || (req.kind === 'refund' && !!this.integrated));
    // An integrated terminal does one command at a time, whatever the kind.
    const holdsTerminal = !qrMethod && (needsCard || !!this.integrated);
    if (holdsTerminal && this.readerOwner)
      throw new EngineError('reader_busy', 'the card reader is busy with another payment', {
        retryable: true,
      });
    const supervisor = this.checkSupervisor(req);
    const id = randomUUID();
    const amount =
      req.kind === 'balance'
        ? 0
        : req.kind === 'void' || req.kind === 'preauth_void'
          ? (original!.approvedAmount ?? original!.amount)
          : req.amount!;
    const op = this.journal.transaction(() => {
      const row = this.journal.insertOperation({
        id,
        kind: req.kind,
        idempotencyKey: req.idempotencyKey,
        paramsHash,
        operatorId: req.operatorId,
        orderId: req.orderId ?? original?.orderId ?? null,
        originalId: original?.id ?? null,
        amount,
        currency: req.currency ?? this.config.currency,
        state: needsCard ? 'awaiting_card' : 'created',
        terminalId: this.config.terminalId,
        readerId: qrMethod ? qrMarker(qrMethod) : this.integrated ? integratedMarker(this.integrated) : null,
        batch: batchOf(this.host),
      });
      if (supervisor) {
        this.journal.updateOperation(id, { supervisor });
        this.journal.audit(req.operatorId, 'supervisor_approval', id, supervisor);
      }
      this.journal.audit(req.operatorId, `submit_${req.kind}`, id, {
        amount,
        orderId: row.orderId,
        originalId: row.originalId,
      });
      const seq = this.journal.appendEvent(id, 'operation.state', {
        state: row.state,
        kind: row.kind,
        amount,
        orderId: row.orderId,
      });
      return { row, seq };
    });
    this.emitDurable(op.seq, id, 'operation.state', {
      state: op.row.state,
      kind: op.row.kind,
      amount,
      orderId: op.row.orderId,
    });
    if (holdsTerminal) this.readerOwner = id;
    const run = (
      qrMethod ? this.runQr(op.row, original, qrMethod, req.authCode) : this.run(op.row, original, needsCard)
    )
      .catch((e: unknown) => this.crash(id, e))
      .finally(() => {
        if (this.readerOwner === id) this.readerOwner = undefined;
        this.running.delete(id);
      });
    this.running.set(id, run);
    return this.view(id);
  }

  view(id: string): OperationView {
    const op = this.journal.getOperation(id);
    if (!op) throw new EngineError('not_found', 'no such operation', { path: 'paymentId' });
    return this.toView(op);
  }

  private toView(op: OperationRow): OperationView {
    return toView(op, this.journal.operationsReferencing(op.id), this.receipts.store.hasSignature(op.id));
  }

  /** The operation created with this idempotency key, if any. */
  viewByIdempotencyKey(key: string): OperationView | undefined {
    const op = this.journal.findByIdempotencyKey(key);
    return op ? this.view(op.id) : undefined;
  }

  /** Durable events after `sinceSeq`, from the journal (for `events.replay` after a reconnect). */
  eventsSince(sinceSeq: number, limit = 1000): Extract<EngineEvent, { kind: 'durable' }>[] {
    return this.journal
      .eventsSince(sinceSeq, limit)
      .map((e) => ({
        kind: 'durable',
        seq: e.seq,
        operationId: e.operationId,
        type: e.type,
        data: e.data,
        at: e.at,
      }));
  }

  /** The journal's identity (the fleet hub keys this journal's events by it). */
  journalId(): string {
    return this.journal.journalId;
  }

  /** The last durable event's seq. */
  lastSeq(): number {
    return this.journal.lastSeq();
  }

  /** Recent operations, newest first (for lists and the demo page). */
  recent(limit = 50): OperationView[] {
    return this.journal.recentOperations(limit).map((o) => this.view(o.id));
  }

  /** Operations whose flow is running in this process now (for shutdown: what is being waited for). */
  inFlight(): OperationView[] {
    return [...this.running.keys()].map((id) => this.view(id));
  }

  /** Resolves when the operation's current run has ended (final state, or waiting for a decision). */
  async settled(id: string): Promise<OperationView> {
    await this.running.get(id);
    return this.view(id);
  }

  /** The scan-to-pay provider of this desk for `method` (to verify its notifications), if configured. */
  qrProvider(method: QrMethod): QrProvider | undefined {
    return this.qrFlow.provider(method);
  }

  /**
   * A provider's asynchronous notification, already verified by its adapter: the operations of that trade
   * ask the provider now instead of at their next poll (docs/qr.md "Notifications"). It changes no state
   * itself; duplicates and notifications of final or unknown trades change nothing.
   */
  qrNotification(method: QrMethod, trade: TradeStatus & { outTradeNo: string }): QrNotificationResult {
    return this.qrFlow.onNotification(method, trade);
  }

  /** The CRM's answer to a partial approval: accept the smaller amount, or have it reversed. */
  decidePartial(id: string, accept: boolean): OperationView {
    const op = this.journal.getOperation(id);
    if (!op) throw new EngineError('not_found', 'no such operation', { path: 'paymentId' });
    const decide = this.partialDecisions.get(id);
    if (op.state !== 'partially_approved' || !decide)
      throw new EngineError('wrong_state', `operation is ${op.state}, not partially_approved`);
    this.partialDecisions.delete(id);
    decide(accept);
    return this.view(id);
  }

  /**
   * The operator's cancel. It wins or loses atomically, never half (docs/protocol.md "Cancelling"):
   * - before the card is read: the reader cancels, the payment ends `cancelled`, nothing is sent;
   * - card read, at the host (`authorizing`, `unknown`), approved or completing: the cancel is journaled
   *   and the payment's flow honours it at its next decision point (and start-up recovery after a
   *   crash): nothing is sent if nothing was yet; an approval is reversed (06) and the card told to
   *   decline; a decline stays a decline. It never ends `completed`;
   * - partially approved: the partial approval is declined and reversed;
   * - already reversing, or final without money moved (declined, failed, cancelled, reversed): unchanged;
   * - completed: too late (`already_completed`: void or refund it); needs_attention: `wrong_state`.
   */
  async cancel(id: string, operatorId: string): Promise<OperationView> {
    const op = this.journal.getOperation(id);
    if (!op) throw new EngineError('not_found', 'no such operation', { path: 'paymentId' });
    if (op.state === 'completed')
      throw new EngineError(
        'already_completed',
        'the payment is completed: void it (same batch) or refund it instead',
        { path: 'paymentId' },
      );
    if (op.state === 'needs_attention')
      throw new EngineError('wrong_state', 'the payment needs attention: resolve it by reconciliation', {
        path: 'paymentId',
      });
    if (FINAL_STATES.has(op.state) || op.state === 'reversing') return this.view(id);
    this.journal.audit(operatorId, 'cancel', id, { state: op.state });
    if (op.state === 'partially_approved' && this.partialDecisions.has(id)) {
      this.requestCancel(op, operatorId);
      this.decidePartial(id, false);
      return this.view(id);
    }
    if (qrMethodOf(op)) {
      // The waiting flow sees the journaled cancel at its next poll: it closes or reverses the trade.
      this.requestCancel(op, operatorId);
      return this.view(id);
    }
    if (op.state === 'awaiting_card' || op.state === 'created') {
      // Journaled first: if the card is read before the reader takes the cancel, the flow stops there.
      this.requestCancel(op, operatorId);
      if (this.integrated) {
        await this.integrated.abort().catch(() => undefined);
        return this.view(id);
      }
      const r = await this.reader.cancel();
      if (r.status === 'too_late')
        this.log?.info({ paymentId: id }, 'cancel too late for the reader: card read');
      return this.view(id);
    }
    this.requestCancel(op, operatorId);
    if (this.integrated && isIntegrated(op)) {
      // The terminal is asked to abort; if it approved anyway, the flow voids it.
      if (op.state === 'authorizing') await this.integrated.abort().catch(() => undefined);
      return this.view(id);
    }
    if (!this.running.has(id) && (op.state === 'approved' || op.state === 'completing')) {
      // No flow of this process holds it (left by a crash, before recovery ran): reverse now.
      this.startReversal(this.journal.getOperation(id)!, '06', 'cancelled_by_operator');
    }
    return this.view(id);
  }

  /** Journals the operator's cancel of an in-flight operation (once; later cancels keep the first). */
  private requestCancel(op: OperationRow, operatorId: string): void {
    if (op.cancelRequested) return;
    const request = { operatorId, at: this.now().toISOString(), state: op.state };
    const seq = this.journal.transaction(() => {
      this.journal.updateOperation(op.id, { cancelRequested: request });
      return this.journal.appendEvent(op.id, 'operation.cancel_requested', { ...request });
    });
    this.emitDurable(seq, op.id, 'operation.cancel_requested', { ...request });
  }

  private cancelRequested(id: string): boolean {
    return this.journal.getOperation(id)?.cancelRequested != null;
  }

  orderSummary(orderId: string): OrderSummary {
    const ops = this.journal.operationsOfOrder(orderId);
    const views = ops.map((o) => this.toView(o));
    let captured = 0;
    let refunded = 0;
    let held = 0;
    for (const v of views) {
      if (v.state !== 'completed') continue;
      if ((v.kind === 'sale' || v.kind === 'capture') && !v.voided) captured += v.approvedAmount ?? v.amount;
      if (v.kind === 'refund') refunded += v.approvedAmount ?? v.amount;
      if (v.kind === 'preauth' && !v.voided && v.capturedAmount === 0) held += v.approvedAmount ?? v.amount;
    }
    return {
      orderId,
      currency: views[0]?.currency ?? this.config.currency,
      captured,
      refunded,
      net: captured - refunded,
      held,
      pending: views.filter((v) => !FINAL_STATES.has(v.state)).length,
      operations: views,
    };
  }

  // ------------------------------------------------------------------ validation

  private validate(req: OperationRequest): void {
    const bad = (path: string, msg: string): never => {
      throw new EngineError('invalid_request', msg, { path });
    };
    if (!['sale', 'balance', 'preauth', 'preauth_void', 'capture', 'void', 'refund'].includes(req.kind))
      bad('kind', 'unknown operation kind');
    if (
      typeof req.idempotencyKey !== 'string' ||
      req.idempotencyKey.length < 1 ||
      req.idempotencyKey.length > 128
    )
      bad('idempotencyKey', 'idempotencyKey must be 1 to 128 characters');
    if (typeof req.operatorId !== 'string' || req.operatorId.length < 1 || req.operatorId.length > 64)
      bad('operatorId', 'operatorId must be 1 to 64 characters');
    const needsAmount = ['sale', 'preauth', 'capture', 'refund'].includes(req.kind);
    if (needsAmount) {
      if (typeof req.amount !== 'number' || !Number.isSafeInteger(req.amount) || req.amount <= 0)
        bad('amount', 'amount must be a positive integer of minor units (fen)');
      if (req.amount! > 999_999_999_999) bad('amount', 'amount exceeds 12 digits');
    } else if (req.amount !== undefined && req.kind !== 'void' && req.kind !== 'preauth_void') {
      bad('amount', `${req.kind} takes no amount`);
    }
    if (req.currency !== undefined && req.currency !== this.config.currency)
      bad('currency', `this terminal takes currency ${this.config.currency}`);
    if (req.method !== undefined && req.method !== 'card') {
      if (!QR_METHODS.includes(req.method)) bad('method', 'method must be card, alipay or wechat');
      if (req.kind !== 'sale') bad('method', 'scan-to-pay takes sales; refund a QR payment by its paymentId');
      if (!this.qrFlow.provider(req.method))
        throw new EngineError('not_supported_by_terminal', `${req.method} is not configured on this desk`, {
          path: 'method',
        });
      if (
        req.authCode !== undefined &&
        (typeof req.authCode !== 'string' || !/^[0-9]{16,24}$/.test(req.authCode))
      )
        bad('authCode', 'a payment code is 16 to 24 digits');
    } else if (req.authCode !== undefined) {
      bad('authCode', 'authCode goes with method alipay or wechat');
    }
    const viaQr = (req.method !== undefined && req.method !== 'card') || this.originalIsQr(req);
    if (this.integrated && !viaQr) {
      const cap = CAPABILITY_OF[req.kind];
      if (!cap || !this.integrated.capabilities.has(cap))
        throw new EngineError(
          'not_supported_by_terminal',
          `the ${this.integrated.kind.toUpperCase()} terminal does not support ${req.kind}`,
          { path: 'kind' },
        );
    }
    const needsOriginal = ['preauth_void', 'capture', 'void', 'refund'].includes(req.kind);
    if (needsOriginal && !req.originalId) bad('originalId', `${req.kind} needs originalId`);
    if (!needsOriginal && req.originalId) bad('originalId', `${req.kind} takes no originalId`);
  }

  private originalIsQr(req: OperationRequest): boolean {
    const o = req.originalId ? this.journal.getOperation(req.originalId) : undefined;
    return !!o && qrMethodOf(o) !== undefined;
  }

  /** Scan-to-pay flows (docs/qr.md): a QR sale, or the refund of one. */
  private async runQr(
    op: OperationRow,
    original: OperationRow | undefined,
    method: QrMethod,
    authCode: string | undefined,
  ): Promise<void> {
    if (op.kind === 'refund' && original) return this.qrFlow.refund(op, original, method);
    return this.qrFlow.sale(op, method, authCode);
  }

  private checkOriginal(req: OperationRequest): OperationRow {
    const original = this.journal.getOperation(req.originalId!);
    if (!original) throw new EngineError('not_found', 'original operation not found', { path: 'originalId' });
    const refs = this.journal.operationsReferencing(original.id);
    const live = refs.filter(
      (r) =>
        r.state !== 'declined' && r.state !== 'failed' && r.state !== 'cancelled' && r.state !== 'reversed',
    );
    const wrong = (msg: string): never => {
      throw new EngineError('wrong_state', msg, { path: 'originalId' });
    };
    switch (req.kind) {
      case 'void': {
        if (qrMethodOf(original)) wrong('a scan-to-pay payment is refunded, not voided');
        if (!['sale', 'capture'].includes(original.kind) || original.state !== 'completed')
          wrong('only a completed sale or capture can be voided');
        if (live.some((r) => r.kind === 'void')) wrong('already voided (or a void is in progress)');
        if (live.some((r) => r.kind === 'refund'))
          wrong('refunded operations cannot be voided; refund the rest instead');
        if (original.batch !== batchOf(this.host))
          throw new EngineError(
            'void_not_same_batch',
            'a void must be in the original batch; refund instead',
            { path: 'originalId' },
          );
        if (req.amount !== undefined && req.amount !== (original.approvedAmount ?? original.amount)) {
          throw new EngineError('amount_exceeds_original', 'a void is for the full original amount', {
            path: 'amount',
          });
        }
        break;
      }
      case 'refund': {
        if (!['sale', 'capture'].includes(original.kind) || original.state !== 'completed')
          wrong('only a completed sale or capture can be refunded');
        if (live.some((r) => r.kind === 'void')) wrong('voided operations cannot be refunded');
        const captured = original.approvedAmount ?? original.amount;
        const refunded = live
          .filter((r) => r.kind === 'refund')
          .reduce((s, r) => s + (r.approvedAmount ?? r.amount), 0);
        if (req.amount! > captured - refunded) {
          throw new EngineError(
            'refund_exceeds_captured',
            `at most ${captured - refunded} can still be refunded`,
            { path: 'amount' },
          );
        }
        if (
          !this.integrated &&
          !qrMethodOf(original) &&
          !req.cardPresent &&
          !this.journal.sealedPans().includes(original.id)
        ) {
          throw new EngineError('card_required', 'the card number is no longer kept: present the card', {
            path: 'cardPresent',
          });
        }
        break;
      }
      case 'capture': {
        if (original.kind !== 'preauth' || original.state !== 'completed')
          wrong('only an approved pre-auth can be captured');
        if (live.some((r) => r.kind === 'capture' || r.kind === 'preauth_void'))
          wrong('pre-auth already captured or voided');
        const limit = Math.floor(
          ((original.approvedAmount ?? original.amount) * this.config.captureLimitPercent) / 100,
        );
        if (req.amount! > limit)
          throw new EngineError('amount_exceeds_original', `at most ${limit} can be captured`, {
            path: 'amount',
          });
        break;
      }
      case 'preauth_void': {
        if (original.kind !== 'preauth' || original.state !== 'completed')
          wrong('only an approved pre-auth can be voided');
        if (live.some((r) => r.kind === 'capture' || r.kind === 'preauth_void'))
          wrong('pre-auth already captured or voided');
        break;
      }
      default:
        break;
    }
    return original;
  }

  private checkSupervisor(req: OperationRequest): Record<string, unknown> | undefined {
    const threshold = this.config.supervisorThreshold;
    if (threshold === undefined || !['void', 'refund'].includes(req.kind)) return undefined;
    const amount =
      req.kind === 'void'
        ? (this.journal.getOperation(req.originalId!)?.approvedAmount ?? 0)
        : (req.amount ?? 0);
    if (amount < threshold) return undefined;
    if (!req.approvalCode)
      throw new EngineError(
        'supervisor_approval_required',
        'a supervisor approval code is needed for this amount',
        { path: 'approvalCode' },
      );
    const supervisor = Object.entries(this.config.supervisorCodes ?? {}).find(
      ([, code]) => code === req.approvalCode,
    )?.[0];
    if (!supervisor)
      throw new EngineError('supervisor_approval_invalid', 'approval code not recognised', {
        path: 'approvalCode',
      });
    return { supervisorId: supervisor, approvedAt: this.now().toISOString(), amount };
  }

  // ------------------------------------------------------------------ flows

  private async run(op: OperationRow, original: OperationRow | undefined, needsCard: boolean): Promise<void> {
    if (this.integratedFlow) return this.integratedFlow.run(op, original);
    let card: CardResult | undefined;
    // Never ask for a card that cannot be authorised: wait (bounded) for the host link and its keys.
    const hostReady = (): boolean => this.host.state === 'ready';
    if (!hostReady()) {
      await this.waitForHost(this.config.hostWaitMs);
      if (!hostReady()) {
        this.transition(op.id, 'failed', { reason: 'host_unavailable' });
        return;
      }
    }
    if (needsCard) {
      await this.beforeCardRead?.().catch(() => undefined);
      const started = await this.reader.startTransaction(
        op.id,
        {
          amount: BigInt(op.amount),
          currency: op.currency,
          type:
            op.kind === 'preauth'
              ? 'preauth'
              : op.kind === 'balance'
                ? 'balance'
                : op.kind === 'refund'
                  ? 'refund'
                  : op.kind === 'void'
                    ? 'void'
                    : 'sale',
          timeoutSeconds: this.config.cardTimeoutSeconds,
          interfaces: ['chip', 'contactless', 'magstripe'],
          pinAllowed: true,
        },
        (p) =>
          this.emit('event', {
            kind: 'progress',
            lastSeq: this.journal.lastSeq(),
            operationId: op.id,
            progress: p.progress,
            ...(p.digits !== undefined ? { digits: p.digits } : {}),
          } satisfies EngineEvent),
      );
      if (started.status === 'error' && started.code === 'reader_busy' && !this.retriedBusy.has(op.id)) {
        this.retriedBusy.add(op.id);
        await this.releaseReader(await this.reader.lastTransactionStatus().catch(() => undefined));
        return this.run(op, original, needsCard);
      }
      this.retriedBusy.delete(op.id);
      if (started.status !== 'card_read') {
        const state: OperationState =
          started.status === 'cancelled' || started.status === 'timeout' ? 'cancelled' : 'failed';
        const reason =
          started.status === 'cancelled'
            ? `cancelled_by_${started.by}`
            : started.status === 'timeout'
              ? 'no_card'
              : started.status === 'declined_offline'
                ? `declined_offline:${started.reason}`
                : started.code;
        this.transition(op.id, state, { reason });
        return;
      }
      card = started.card;
      if (this.cancelRequested(op.id)) {
        this.transition(op.id, 'cancelled', { reason: 'cancelled_by_operator' });
        await this.finishCard(op.id, { approved: false, responseCode: '06' });
        return;
      }
      if (original) {
        const mismatch = this.sameCard(original, card);
        if (mismatch) {
          this.transition(op.id, 'failed', { reason: 'card_mismatch' });
          await this.finishCard(op.id, { approved: false, responseCode: '06' });
          return;
        }
      }
    }
    await this.authorize(op, original, card);
  }

  /** undefined when the card is the original's card (fingerprint, or PAR for a device token). */
  private sameCard(original: OperationRow, card: CardResult): string | undefined {
    const facts = original.card;
    if (!facts) return 'original has no card facts';
    const match = matchFingerprint(this.fingerprintKey, facts.fingerprint, card.pan);
    if (match === 'same') return undefined;
    const par = this.presentation(card).par;
    if (par && facts.par && par === facts.par) return undefined;
    return 'different card';
  }

  private presentation(card: CardResult): { facts: CardFacts; par: string | undefined } {
    const fingerprint = this.fingerprintKey.fingerprint(card.pan);
    const classified = classifyPresentation({
      entryMode: card.entryMode,
      ...(card.iccData ? { tlv: card.iccData } : {}),
      pan: card.pan,
    });
    const p = classified.ok ? classified.value : undefined;
    const facts: CardFacts = {
      maskedPan: card.pan.masked,
      fingerprint,
      scheme: p?.scheme ?? 'unknown',
      kind: p?.kind ?? card.interface,
      entryMode: card.entryMode,
      panDisplay: p?.panDisplay ?? card.pan.masked,
      ...(card.cardSequenceNumber ? { cardSequenceNumber: card.cardSequenceNumber } : {}),
      ...(p?.par ? { par: p.par } : {}),
      ...(p?.tokenRequestorId ? { tokenRequestorId: p.tokenRequestorId } : {}),
      ...(p?.deviceAccountLast4 ? { deviceAccountLast4: p.deviceAccountLast4 } : {}),
      ...(p?.fundingLast4 ? { fundingLast4: p.fundingLast4 } : {}),
    };
    return { facts, par: p?.par };
  }

  private context(stan = ''): Context {
    return {
      terminalId: this.config.terminalId,
      merchantId: this.config.merchantId,
      currency: this.config.currency,
      batch: batchOf(this.host),
      stan,
      now: this.now(),
      partialApproval: this.config.partialApproval,
      ...(this.dialect.ksnField !== undefined ? { ksnField: this.dialect.ksnField } : {}),
    };
  }

  /**
   * The write-ahead core: journal the attempt and its prepared reversal (one transaction, one fsync),
   * send, journal the outcome (one fsync), then finish with the card.
   */
  private async authorize(
    op: OperationRow,
    original: OperationRow | undefined,
    card: CardResult | undefined,
  ): Promise<void> {
    // Pending reversals go out before the next financial request, strictly in order.
    if (!(await this.reversalsCleared())) {
      this.transition(op.id, 'failed', { reason: 'reversal_pending' });
      if (card)
        await this.finishCard(op.id, {
          approved: false,
          responseCode: '96',
          unableToGoOnline: true,
        });
      return;
    }
    if (this.cancelRequested(op.id)) {
      // Checked with no await before the write-ahead below: a cancel journaled by now wins, nothing leaves.
      this.transition(op.id, 'cancelled', { reason: 'cancelled_by_operator' });
      if (card) await this.finishCard(op.id, { approved: false, responseCode: '06' });
      return;
    }
    let pan: Pan | undefined = card?.pan;
    if (!pan && original) pan = this.journal.openPan(original.id);
    if (!pan) {
      this.transition(op.id, 'failed', { reason: 'card_required' });
      return;
    }
    const facts = card ? this.presentation(card).facts : (original?.card ?? null);
    const icc = card ? requestIcc(card, this.config.field55Profile) : undefined;
    const reversalIcc = card ? requestIcc(card, this.config.reversalField55Profile) : undefined;
    const moves = op.kind !== 'balance';

    let message!: Iso8583MessageInput;
    let attemptId = 0;
    const prepared = this.journal.transaction(() => {
      const ctx = this.context(this.host.stan.next());
      message = card
        ? cardRequest(op.kind, op, card, icc, ctx, original ? referencedExtras(op, original) : {})
        : referencedRequest(op.kind, op, original!, pan!, ctx);
      const localDate = String((message.fields as Record<number, unknown>)[13] ?? '') || null;
      this.journal.updateOperation(op.id, {
        state: 'authorizing',
        card: facts,
        iccRequest: icc ?? null,
        stan: ctx.stan,
        batch: ctx.batch,
        localDate,
      });
      this.journal.sealPan(op.id, pan!);
      attemptId = this.journal.insertAttempt({
        operationId: op.id,
        purpose: 'request',
        mti: message.mti,
        stan: ctx.stan,
        batch: ctx.batch,
      }).id;
      if (moves) {
        this.journal.insertSaf({
          lane: 'reversal',
          operationId: op.id,
          kind: 'reversal',
          status: 'prepared',
          reason: null,
          message: { ...prepareReversal(message, reversalIcc), attemptId },
        });
      }
      return this.journal.appendEvent(op.id, 'operation.state', { state: 'authorizing', stan: ctx.stan });
    });
    this.emitDurable(prepared, op.id, 'operation.state', { state: 'authorizing' });

    const outcome = await this.host.request(message, {});
    const after = this.recordOutcome(op.id, attemptId, outcome);
    await this.finish(op.id, after, outcome, card);
  }

  /** Journals a host outcome and the state it leads to (one transaction). */
  private recordOutcome(id: string, attemptId: number, outcome: HostOutcome): OperationState {
    const at = this.now().toISOString();
    const op = this.journal.getOperation(id)!;
    let state: OperationState;
    const patch: Parameters<Journal['updateOperation']>[1] = {};
    let reversalReason: string | undefined;
    if (outcome.status === 'answered') {
      const f = outcome.response.fields;
      const rc = String(f[39] ?? '');
      patch.responseCode = rc;
      patch.rrn = typeof f[37] === 'string' ? f[37] : null;
      patch.authCode = typeof f[38] === 'string' ? f[38] : null;
      if (rc === '00') {
        state = 'approved';
        patch.approvedAmount = typeof f[4] === 'string' ? Number(f[4]) : op.amount;
        if (op.kind === 'balance') patch.result = { balance: parseBalance(f[54]) };
      } else if (rc === '10' && op.kind !== 'balance') {
        state = 'partially_approved';
        patch.approvedAmount = typeof f[4] === 'string' ? Number(f[4]) : op.amount;
      } else {
        state = 'declined';
        patch.reason = rc === 'A0' ? 'host_mac_error_sign_on' : `declined_${rc}`;
      }
    } else if (outcome.status === 'mac_error') {
      state = 'reversing';
      patch.reason = 'response_mac_invalid';
      reversalReason = 'A0';
    } else if (outcome.status === 'unknown') {
      const inquiry = this.config.useStatusInquiry && this.dialect.spec.exchanges?.statusInquiry;
      state = inquiry ? 'unknown' : 'reversing';
      patch.reason = `no_answer_${outcome.reason}`;
      if (!inquiry) reversalReason = '98';
    } else {
      state = 'failed';
      patch.reason = `not_sent_${outcome.reason}`;
    }
    if (op.kind === 'balance' && state === 'reversing') state = 'failed'; // a balance inquiry moves no money
    patch.state = state;
    const seq = this.journal.transaction(() => {
      this.journal.updateAttempt(attemptId, {
        outcome: outcome.status,
        sentAt: outcome.attempt.sentAt?.toISOString() ?? null,
        settledAt: at,
        ...(outcome.status === 'unknown' ? { reason: outcome.reason } : {}),
        // The error's message is safe: codec and crypto errors never carry field values.
        ...(outcome.status === 'not_sent'
          ? { reason: outcome.error ? `${outcome.reason}: ${outcome.error.message}` : outcome.reason }
          : {}),
        ...(outcome.status === 'answered'
          ? {
              responseCode: String(outcome.response.fields[39] ?? ''),
              rrn: strOrNull(outcome.response.fields[37]),
              authCode: strOrNull(outcome.response.fields[38]),
            }
          : {}),
      });
      this.journal.updateOperation(id, patch);
      if (state === 'declined' || state === 'failed') {
        this.cancelPreparedReversal(id);
        this.journal.erasePan(id);
        this.journal.enqueueOutbox('payment.result', resultPayload(this.journal.getOperation(id)!));
      }
      if (reversalReason) this.activateReversal(id, reversalReason);
      return this.journal.appendEvent(id, 'operation.state', {
        state,
        reason: patch.reason ?? null,
        responseCode: patch.responseCode ?? null,
      });
    });
    this.emitDurable(seq, id, 'operation.state', { state, reason: patch.reason ?? null });
    return state;
  }

  /** After the host: the chip's second cryptogram, completion, or the reversal and inquiry paths. */
  private async finish(
    id: string,
    state: OperationState,
    outcome: HostOutcome,
    card: CardResult | undefined,
  ): Promise<void> {
    const response =
      outcome.status === 'answered' || outcome.status === 'mac_error' ? outcome.response : undefined;
    if (state === 'declined' || state === 'failed') {
      if (card)
        await this.finishCard(id, {
          approved: false,
          responseCode: String(response?.fields[39] ?? '96'),
          unableToGoOnline: !response,
        });
      return;
    }
    if (state === 'reversing') {
      if (card)
        await this.finishCard(id, {
          approved: false,
          responseCode: '96',
          unableToGoOnline: outcome.status !== 'mac_error',
        });
      void this.saf.drainReversals();
      return;
    }
    if (state === 'unknown') {
      if (card)
        await this.finishCard(id, {
          approved: false,
          responseCode: '96',
          unableToGoOnline: true,
        });
      await this.resolveUnknown(id);
      return;
    }
    if (state === 'partially_approved') {
      const accept =
        !this.cancelRequested(id) &&
        (await new Promise<boolean>((resolve) => this.partialDecisions.set(id, resolve)));
      if (!accept) {
        const why = this.cancelRequested(id) ? 'cancelled_by_operator' : 'partial_declined_by_crm';
        // Reversal first (journaled), then the card: a crash between them still reverses.
        this.startReversal(this.journal.getOperation(id)!, '06', why);
        if (card) await this.finishCard(id, { approved: false, responseCode: '06' });
        return;
      }
      this.journal.audit(this.journal.getOperation(id)!.operatorId, 'partial_accepted', id, {});
    }
    if (this.cancelRequested(id)) {
      // Cancelled after the host approved, before the card was asked: reverse, and the card declines.
      this.startReversal(this.journal.getOperation(id)!, '06', 'cancelled_by_operator');
      if (card) await this.finishCard(id, { approved: false, responseCode: '06' });
      return;
    }
    // approved (or accepted partial): the card decides (TC or AAC) when it is still in the reader.
    let completion: CompleteResult = { status: 'completed', cryptogram: 'none' };
    if (card) {
      completion = await this.reader.completeTransaction(id, {
        approved: true,
        responseCode: String(response?.fields[39] ?? '00'),
        ...(typeof response?.fields[38] === 'string' ? { authCode: response.fields[38] } : {}),
        ...(Buffer.isBuffer(response?.fields[55]) ? { issuerData: response.fields[55] } : {}),
      });
    }
    if (completion.status === 'error' && completion.code === 'reader_disconnected' && card) {
      // The link dropped while the card decided: ask the reader, once it is back, what it did.
      completion = await this.askReaderAfterDrop(id, completion);
    }
    if (completion.status !== 'completed' || completion.cryptogram === 'aac' || this.cancelRequested(id)) {
      // A cancel that came while the card decided wins: the charge is reversed, never completed.
      // (No await between this check and complete(): a cancel is either seen here or finds `completed`.)
      const reason = this.cancelRequested(id)
        ? 'cancelled_by_operator'
        : completion.status === 'completed'
          ? 'chip_declined_after_approval'
          : completion.status === 'card_removed'
            ? 'card_removed_before_completion'
            : 'reader_error_after_approval';
      this.startReversal(this.journal.getOperation(id)!, '06', reason);
      return;
    }
    this.complete(id, completion);
  }

  /** Drains the reversal lane, waiting up to `reversalWaitMs` for items backing off. */
  private async reversalsCleared(): Promise<boolean> {
    const deadline = Date.now() + this.config.reversalWaitMs;
    for (;;) {
      if (await this.saf.drainReversals()) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(200, Math.max(10, deadline - Date.now()))));
    }
  }

  /** Tells the card how it ended when the outcome is already journaled; a reader error changes nothing. */
  private async finishCard(
    id: string,
    answer: Parameters<CardReader['completeTransaction']>[1],
  ): Promise<void> {
    try {
      await this.reader.completeTransaction(id, answer);
    } catch (e) {
      this.log?.warn(
        { paymentId: id, err: { code: (e as { code?: string }).code } },
        'reader did not take the final answer',
      );
    }
  }

  /** Waits for the reader to come back (bounded), then reads its last transaction status for `id`. */
  private async askReaderAfterDrop(id: string, fallback: CompleteResult): Promise<CompleteResult> {
    const deadline = Date.now() + this.config.readerRecoveryMs;
    while (this.reader.state === 'disconnected' || this.reader.state === 'connecting') {
      if (Date.now() > deadline || this.stopping) return fallback;
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      const status = await this.reader.lastTransactionStatus();
      if (status.reference === id && status.stage === 'completed' && status.cryptogram) {
        return {
          status: 'completed',
          cryptogram: status.cryptogram,
          ...(status.iccData ? { iccData: status.iccData } : {}),
        };
      }
    } catch {
      // fall through: unknown card side is reversed
    }
    return fallback;
  }

  /**
   * Start-up recovery: drives every non-final operation to a final state (or to the reversal queue,
   * which then does). Safe to run again: each step looks at what the journal says happened.
   */
  async recover(): Promise<{ examined: number; actions: Record<string, number> }> {
    const actions: Record<string, number> = {};
    const count = (k: string): void => {
      actions[k] = (actions[k] ?? 0) + 1;
    };
    const open = this.journal.openOperations();
    const toReverse: [OperationRow, string, string][] = [];
    // One transaction for every attempt a crash left pending.
    this.journal.transaction(() => {
      for (const op of open) {
        if (this.running.has(op.id) || op.state !== 'authorizing') continue;
        for (const a of this.journal.attemptsOf(op.id)) {
          if (a.outcome === 'pending') {
            this.journal.updateAttempt(a.id, {
              outcome: 'unknown',
              reason: 'process_restart',
              settledAt: this.now().toISOString(),
            });
          }
        }
      }
    });
    // Scan-to-pay needs neither the reader nor the terminal: its flows go on at once, in the background
    // (waiting for a customer can take minutes), not after the wait for an absent or slow reader.
    const qrResumed = new Set<string>();
    for (const op of open) {
      if (this.running.has(op.id) || !qrMethodOf(op)) continue;
      qrResumed.add(op.id);
      this.track(
        op.id,
        this.qrFlow.recover(op).then(() => undefined),
      );
      count('qr_resumed');
    }
    const readerStatus = this.integrated ? undefined : await this.readerStatus();
    for (const op of open) {
      if (this.running.has(op.id) || qrResumed.has(op.id)) continue;
      if (isIntegrated(op)) {
        // Hold the terminal while asking it: a new sale now would become its "last transaction".
        const held = !this.readerOwner;
        if (held) this.readerOwner = op.id;
        try {
          count(await this.recoverIntegrated(op));
        } finally {
          if (held && this.readerOwner === op.id) this.readerOwner = undefined;
        }
        continue;
      }
      if (qrMethodOf(op)) continue; // its flow ran when recovery began (a notification resumed it)
      switch (op.state) {
        case 'created':
        case 'awaiting_card':
        case 'card_read':
          // Nothing was journaled for the host, so nothing was sent.
          this.transition(op.id, 'cancelled', { reason: 'interrupted_before_host' });
          count('cancelled_before_host');
          break;
        case 'authorizing': {
          // The request was journaled: its bytes may have left. Its answer, if any, is lost with the process
          // (its pending attempts were marked `unknown` above).
          const inquiry = this.config.useStatusInquiry && this.dialect.spec.exchanges?.statusInquiry;
          if (op.kind === 'balance') {
            this.transition(op.id, 'failed', { reason: 'no_answer_process_restart' });
            count('balance_failed');
          } else if (inquiry) {
            this.transition(op.id, 'unknown', { reason: 'no_answer_process_restart' });
            await this.resolveUnknown(op.id);
            count('inquired');
          } else {
            toReverse.push([op, '98', 'no_answer_process_restart']);
            count('reversal_queued');
          }
          break;
        }
        case 'unknown':
          await this.resolveUnknown(op.id);
          count('inquired');
          break;
        case 'approved':
        case 'completing': {
          if (op.cancelRequested) {
            toReverse.push([op, '06', 'cancelled_by_operator']);
            count('reversal_queued');
            break;
          }
          if (!op.iccRequest) {
            // No chip decision pending (magstripe, contactless without second AC, or no card at all).
            this.complete(op.id, { status: 'completed', cryptogram: 'none' });
            count('completed');
            break;
          }
          const status = readerStatus;
          if (status?.reference === op.id && status.stage === 'completed' && status.cryptogram === 'tc') {
            this.complete(op.id, {
              status: 'completed',
              cryptogram: 'tc',
              ...(status.iccData ? { iccData: status.iccData } : {}),
            });
            count('completed_from_reader_status');
          } else {
            this.startReversal(op, '06', 'card_side_unknown_after_restart');
            count('reversal_queued');
          }
          break;
        }
        case 'partially_approved':
          this.startReversal(op, '06', 'partial_undecided_at_restart');
          count('reversal_queued');
          break;
        case 'reversing': {
          const saf = this.journal.safOf(op.id).filter((x) => x.lane === 'reversal');
          const live = saf.find((x) => x.status === 'pending');
          if (!live) {
            const prepared = saf.find((x) => x.status === 'prepared');
            if (prepared) this.activateReversal(op.id, '98');
          }
          count('reversal_pending');
          break;
        }
        default:
          break;
      }
    }
    this.startReversals(toReverse);
    await this.releaseReader(readerStatus);
    await this.saf.drainReversals();
    void this.saf.drainAdvices();
    return { examined: open.length, actions };
  }

  /** Start-up recovery of an integrated terminal's operation; returns what it did. */
  private async recoverIntegrated(op: OperationRow): Promise<string> {
    switch (op.state) {
      case 'created':
      case 'awaiting_card':
      case 'card_read':
        this.transition(op.id, 'cancelled', { reason: 'interrupted_before_terminal' });
        return 'cancelled_before_terminal';
      case 'authorizing':
      case 'unknown':
      case 'approved':
        if (!this.integratedFlow) return 'integrated_terminal_not_configured';
        if (op.state !== 'unknown')
          this.transition(op.id, 'unknown', { reason: 'no_answer_process_restart' });
        await this.integratedFlow.resolveUnknown(op.id);
        return 'asked_terminal';
      case 'reversing':
        // A void after a too-late cancel, cut short by the crash: finish it (a second void of a voided
        // receipt is refused by the terminal and ends reversed too).
        if (!this.integratedFlow) return 'integrated_terminal_not_configured';
        if (op.cancelRequested) {
          await this.integratedFlow.voidAfterCancel(op.id);
          return 'void_resumed';
        }
        this.transition(op.id, 'needs_attention', { reason: 'interrupted_reversing' });
        return 'needs_attention';
      default:
        this.transition(op.id, 'needs_attention', { reason: `interrupted_${op.state}` });
        return 'needs_attention';
    }
  }

  /** The reader's last transaction status once it is connected (bounded wait), or undefined. */
  private async readerStatus(): Promise<LastTransactionStatus | undefined> {
    const deadline = Date.now() + this.config.readerRecoveryMs;
    while (this.reader.state === 'disconnected' || this.reader.state === 'connecting') {
      if (Date.now() > deadline || this.stopping) return undefined;
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.reader.lastTransactionStatus().catch(() => undefined);
  }

  /**
   * A transaction a previous process left open on the reader (it was killed mid-payment): nobody will
   * finish it, so end it. Waiting for a card → cancel; card read → "unable to go online" (the chip
   * declines; the journal's recovery has already reversed anything the host approved).
   */
  private async releaseReader(status: LastTransactionStatus | undefined): Promise<void> {
    if (!status?.reference || this.running.has(status.reference)) return;
    if (status.stage === 'waiting_card') await this.reader.cancel(status.reference).catch(() => undefined);
    if (status.stage === 'card_read')
      await this.finishCard(status.reference, {
        approved: false,
        responseCode: '96',
        unableToGoOnline: true,
      });
  }

  /** Marks completed; cancels the prepared reversal; queues TC upload and script advice (their own lane). */
  private complete(id: string, completion: Extract<CompleteResult, { status: 'completed' }>): void {
    const seq = this.journal.transaction(() => {
      const op = this.journal.updateOperation(id, { state: 'completing' });
      this.cancelPreparedReversal(id);
      if (completion.iccData?.length && op.kind !== 'balance') {
        this.journal.updateOperation(id, { iccFinal: completion.iccData });
        this.journal.insertSaf({
          lane: 'advice',
          operationId: id,
          kind: 'tc_upload',
          status: 'pending',
          reason: null,
          message: { icc: completion.iccData.toString('hex').toUpperCase() },
        });
      }
      if (completion.scriptResults?.length) {
        this.journal.insertSaf({
          lane: 'advice',
          operationId: id,
          kind: 'script_advice',
          status: 'pending',
          reason: null,
          message: { icc: completion.scriptResults.toString('hex').toUpperCase() },
        });
      }
      const done = this.journal.updateOperation(id, { state: 'completed', reason: null });
      if (done.kind === 'balance') this.journal.erasePan(id);
      if (done.kind === 'preauth_void' && done.originalId) this.journal.erasePan(done.originalId);
      this.journal.enqueueOutbox('payment.result', resultPayload(done));
      return this.journal.appendEvent(id, 'operation.state', {
        state: 'completed',
        cryptogram: completion.cryptogram,
      });
    });
    this.emitDurable(seq, id, 'operation.state', { state: 'completed' });
    if (this.config.saf.adviceAfterCompletion) void this.saf.drainAdvices();
  }

  /** unknown → ask the host (when the dialect declares an inquiry), else reverse. */
  async resolveUnknown(id: string): Promise<void> {
    const op = this.journal.getOperation(id)!;
    const inquiry = this.dialect.spec.exchanges?.statusInquiry;
    if (!inquiry || !this.config.useStatusInquiry) {
      this.startReversal(op, '98', op.reason ?? 'no_answer');
      return;
    }
    // Ask first, even after a dropped link: wait (bounded) for it; if it stays down, the operation stays
    // `unknown` and is asked about as soon as the link is back (docs/recovery.md, status inquiry).
    if (this.host.state !== 'ready') await this.waitForHost(this.config.inquiryWaitMs);
    if (this.host.state !== 'ready') {
      this.deferInquiry(id, 'host link down');
      return;
    }
    this.deferredInquiries.delete(id);
    let attemptId = 0;
    const message = this.journal.transaction(() => {
      const ctx = this.context(this.host.stan.next());
      attemptId = this.journal.insertAttempt({
        operationId: id,
        purpose: 'inquiry',
        mti: inquiry.mti,
        stan: ctx.stan,
        batch: ctx.batch,
      }).id;
      return inquiryMessage(inquiry.mti, inquiry.networkCode, op, ctx);
    });
    const outcome = await this.host.request(message, { mac: false });
    this.journal.updateAttempt(attemptId, {
      outcome: outcome.status,
      settledAt: this.now().toISOString(),
      ...(outcome.status === 'answered' ? { responseCode: strOrNull(outcome.response.fields[39]) } : {}),
    });
    const asked = this.journal.attemptsOf(id).filter((a) => a.purpose === 'inquiry').length;
    if (
      outcome.status === 'not_sent' ||
      (outcome.status === 'unknown' && outcome.reason !== 'timeout' && asked < this.config.inquiryAttempts)
    ) {
      // Nothing learnt because the link dropped (before or after the inquiry left): ask again when it is
      // back. An inquiry changes nothing at the host, so asking twice is harmless.
      this.deferInquiry(id, `inquiry ${outcome.status}: ${outcome.reason}`);
      return;
    }
    if (outcome.status !== 'answered') {
      // Still no answer: reversing is always safe (a reversal of something the host never saw is answered 00).
      this.startReversal(op, '98', 'no_answer_inquiry_failed');
      return;
    }
    const rc = String(outcome.response.fields[39] ?? '');
    if ((inquiry.notFoundCodes ?? ['25']).includes(rc)) {
      this.settleFinal(id, 'failed', 'host_has_no_record');
      return;
    }
    if (rc === '00' || rc === '10') {
      // The host holds it, but the card already declined it (its answer never came): take it back.
      this.journal.updateOperation(id, {
        rrn: strOrNull(outcome.response.fields[37]),
        authCode: strOrNull(outcome.response.fields[38]),
        responseCode: rc,
      });
      this.startReversal(this.journal.getOperation(id)!, '98', 'approved_at_host_after_timeout');
      return;
    }
    this.settleFinal(id, 'declined', `declined_${rc}`);
  }

  /** Waits for the host link up to `ms`, or until the engine stops. */
  private async waitForHost(ms: number): Promise<void> {
    if (this.stopping) return;
    let wake!: () => void;
    const stopped = new Promise<void>((r) => {
      wake = r;
      this.stopWaiters.add(r);
    });
    try {
      await Promise.race([this.host.whenReady(ms).catch(() => undefined), stopped]);
    } finally {
      this.stopWaiters.delete(wake);
    }
  }

  private deferInquiry(id: string, why: string): void {
    if (this.stopping) return; // start-up recovery asks next time
    this.deferredInquiries.add(id);
    this.log?.info(
      { paymentId: id, why },
      'status inquiry waits for the host link; the payment stays unknown',
    );
    if (this.host.state === 'ready') this.retrySoon();
  }

  /** The link came back while a flow still held the operation: look again shortly. */
  private retrySoon(): void {
    if (this.stopping || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryDeferredInquiries();
    }, this.config.saf.pollMs);
    this.retryTimer.unref?.();
  }

  /** The link is back: ask about every `unknown` operation that waited for it. */
  private retryDeferredInquiries(): void {
    if (this.stopping) return;
    for (const id of [...this.deferredInquiries]) {
      if (this.running.has(id)) {
        if (this.host.state === 'ready') this.retrySoon();
        continue;
      }
      this.deferredInquiries.delete(id);
      if (this.journal.getOperation(id)?.state !== 'unknown') continue;
      this.track(id, this.resolveUnknown(id));
    }
  }

  /** Keeps a background flow of `id` in `running` (stop waits for it; crashes are logged, not lost). */
  private track(id: string, flow: Promise<void>): void {
    const run = flow
      .catch((e: unknown) => this.crash(id, e))
      .finally(() => {
        if (this.running.get(id) === run) this.running.delete(id);
      });
    this.running.set(id, run);
  }

  private settleFinal(id: string, state: 'failed' | 'declined', reason: string): void {
    const seq = this.journal.transaction(() => {
      const op = this.journal.updateOperation(id, { state, reason });
      this.cancelPreparedReversal(id);
      this.journal.erasePan(id);
      this.journal.enqueueOutbox('payment.result', resultPayload(op));
      return this.journal.appendEvent(id, 'operation.state', { state, reason });
    });
    this.emitDurable(seq, id, 'operation.state', { state, reason });
  }

  /** Moves an operation to `reversing` and activates its prepared reversal (one transaction). */
  startReversal(op: OperationRow, reasonCode: string, why: string): void {
    this.startReversals([[op, reasonCode, why]]);
  }

  /** Several reversals in one transaction (one fsync), told after the commit, then one drain. */
  private startReversals(items: readonly (readonly [OperationRow, string, string])[]): void {
    if (!items.length) return;
    const seqs = this.journal.transaction(() =>
      items.map(([op, reasonCode, why]) => {
        this.journal.updateOperation(op.id, { state: 'reversing', reason: why });
        this.activateReversal(op.id, reasonCode);
        return this.journal.appendEvent(op.id, 'operation.state', {
          state: 'reversing',
          reason: why,
          reversalReason: reasonCode,
        });
      }),
    );
    items.forEach(([op, , why], i) =>
      this.emitDurable(seqs[i]!, op.id, 'operation.state', { state: 'reversing', reason: why }),
    );
    void this.saf.drainReversals();
  }

  private activateReversal(id: string, reasonCode: string): void {
    const prepared = this.journal.safOf(id).find((s) => s.lane === 'reversal' && s.status === 'prepared');
    if (prepared)
      this.journal.updateSaf(prepared.id, { status: 'pending', reason: reasonCode, nextAt: null });
  }

  private cancelPreparedReversal(id: string): void {
    for (const s of this.journal.safOf(id))
      if (s.lane === 'reversal' && s.status === 'prepared')
        this.journal.updateSaf(s.id, { status: 'cancelled' });
  }

  /**
   * The one way an operation changes state outside the write-ahead steps: the new state (with the facts
   * that go with it), PAN erased and the result queued for the CRM backend when it is final, the durable
   * event; `within` adds writes of the caller's to the same transaction (one fsync).
   */
  private transition(id: string, state: OperationState, patch: TransitionPatch, within?: () => void): void {
    const reason = patch.reason ?? null;
    const seq = this.journal.transaction(() => {
      within?.();
      const op = this.journal.updateOperation(id, { ...patch, state, reason });
      if (FINAL_STATES.has(state)) {
        this.journal.erasePan(id);
        this.journal.enqueueOutbox(
          state === 'needs_attention' ? 'payment.needs_attention' : 'payment.result',
          resultPayload(op),
        );
      }
      return this.journal.appendEvent(id, 'operation.state', { state, reason });
    });
    this.emitDurable(seq, id, 'operation.state', { state, reason });
  }

  private crash(id: string, e: unknown): void {
    // A bug must not lose the operation: leave it where recovery will find it, and say so.
    if (process.env['POSBRIDGE_DEBUG']) console.error(e);
    this.log?.error(
      {
        paymentId: id,
        err: { message: e instanceof Error ? e.message : String(e), code: (e as { code?: string })?.code },
      },
      'operation failed unexpectedly',
    );
    const op = this.journal.getOperation(id);
    if (op && (op.state === 'awaiting_card' || op.state === 'created'))
      this.transition(id, 'failed', { reason: 'internal_error' });
  }

  private recordStray(s: StrayResponse): void {
    if (s.kind !== 'late' || !s.attempt) return;
    const attempt = this.journal.attemptByStan(s.attempt.stan, batchOf(this.host), s.attempt.mti);
    if (!attempt) return;
    const evidence = {
      mti: s.response.mti,
      responseCode: strOrNull(s.response.fields[39]),
      rrn: strOrNull(s.response.fields[37]),
      authCode: strOrNull(s.response.fields[38]),
      receivedAt: s.receivedAt.toISOString(),
    };
    const seq = this.journal.transaction(() => {
      this.journal.updateAttempt(attempt.id, { lateEvidence: evidence });
      return this.journal.appendEvent(attempt.operationId, 'host.late_response', evidence);
    });
    this.emitDurable(seq, attempt.operationId, 'host.late_response', evidence);
  }

  private emitDurable(
    seq: number,
    operationId: string | null,
    type: string,
    data: Record<string, unknown>,
  ): void {
    this.emit('event', { kind: 'durable', seq, operationId, type, data } satisfies EngineEvent);
  }
}

function referencedExtras(op: OperationRow, original: OperationRow): Record<number, unknown> {
  const extra: Record<number, unknown> = {
    61: `${original.batch ?? '000000'}${original.stan ?? '000000'}${original.localDate ?? '0000'}`,
  };
  if (original.rrn && (op.kind === 'void' || op.kind === 'refund')) extra[37] = original.rrn;
  return extra;
}

function batchOf(host: HostLink): string {
  return String(Math.max(1, host.batch.current)).padStart(6, '0');
}

function hashParams(req: OperationRequest): string {
  const canonical = JSON.stringify([
    req.kind,
    req.amount ?? null,
    req.currency ?? null,
    req.orderId ?? null,
    req.originalId ?? null,
    req.cardPresent ?? false,
    // A QR sale is another payment than a card sale of the same amount (the payment code is not part of
    // it: a retry with a fresh code is the same payment).
    ...(req.method && req.method !== 'card' ? [req.method] : []),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

function strOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : v instanceof Composite ? v.wire : null;
}

/** Field 54 balance: account type 2 + amount type 2 + currency 3 + C/D + amount 12. */
function parseBalance(v: unknown): { amount: number; currency: string } | null {
  if (typeof v !== 'string' || v.length < 20) return null;
  const sign = v.charAt(7) === 'D' ? -1 : 1;
  const amount = Number(v.slice(8, 20));
  return Number.isSafeInteger(amount) ? { amount: sign * amount, currency: v.slice(4, 7) } : null;
}

/** What the result webhook carries: no card data beyond the masked PAN. */
export function resultPayload(op: OperationRow): Record<string, unknown> {
  return {
    paymentId: op.id,
    kind: op.kind,
    state: op.state,
    reason: op.reason,
    orderId: op.orderId,
    originalId: op.originalId,
    amount: op.amount,
    approvedAmount: op.approvedAmount,
    currency: op.currency,
    rrn: op.rrn,
    authCode: op.authCode,
    responseCode: op.responseCode,
    panDisplay: op.card?.panDisplay ?? null,
    at: op.updatedAt,
  };
}

export type { Iso8583Message };
