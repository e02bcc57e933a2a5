/**
 * What `<posbridge-pay>` does, without a DOM: checks its attributes, takes the payment with
 * collectPayment, follows prompts and states, cancels, asks for the customer's signature, loads the
 * receipt, and composes everything into a `PayView` in the cashier's language. The element only renders
 * the view and forwards clicks; tests drive this class against a real API server.
 *
 * Idempotency: one key per attempt. It is kept (in memory, and in `storage` across a page reload) until
 * the payment reaches an outcome, so "try again" after a lost connection follows the same payment and
 * never charges twice; after an outcome the next attempt gets a new key.
 */
import { PaymentInterruptedError, PosbridgeError } from '../errors.js';
import type { ConnectionState, FlowClient } from '../flow-client.js';
import {
  cancelPayment,
  collectPayment,
  newIdempotencyKey,
  qrMethodOfTerminal,
  type CancelOutcome,
  type CollectOutcome,
  type PaymentProgress,
} from '../flows.js';
import {
  FINAL_PAYMENT_STATES,
  type Payment,
  type PaymentState,
  type ReaderProgress,
  type ReceiptCopy,
  type ReceiptGetParams,
  type ReceiptGetResult,
  type SignatureParams,
  type SignatureResult,
} from '../types.js';
import { describeError, describeProgress, describeState, type CashierText, type Lang } from '../wording.js';
import { LABELS, type Labels } from './labels.js';
import { formatMoney, parseAmount, parseCurrency, parseOrder, type InputError } from './money.js';

const FINAL: ReadonlySet<string> = new Set(FINAL_PAYMENT_STATES);

/** What the element needs of a client (`PosbridgeClient` fits). */
export interface PayClient extends FlowClient {
  readonly payment: FlowClient['payment'] & {
    signature(p: SignatureParams): Promise<SignatureResult>;
  };
  readonly receipt: { get(p: ReceiptGetParams): Promise<ReceiptGetResult> };
}

/**
 * - `idle`: ready to pay (or nothing to do: see `canPay`). `invalid`: an attribute is wrong.
 * - `paying`: started, following prompts and states. `partial`: the card covered part, the cashier decides.
 * - `following`: the answer is not known yet (`unknown`, or still running): waiting, never paying again.
 * - `done`: paid (signature and receipt follow). `failed`: no money taken, or an error (see `status`).
 */
export type Phase = 'idle' | 'invalid' | 'paying' | 'partial' | 'following' | 'done' | 'failed';

/** The payment as the element knows it; the `detail.payment` of `posbridge-state`. */
export interface PaymentSnapshot {
  paymentId: string;
  orderId: string;
  amount: number;
  approvedAmount: number | null;
  currency: string | undefined;
  state: PaymentState;
  final: boolean;
  reason: string | null;
  responseCode: string | null;
}

export type SignatureStatus = 'needed' | 'saving' | 'saved' | 'existing' | 'failed';

/** Everything the element shows, already in the cashier's language. */
export interface PayView {
  phase: Phase;
  lang: Lang;
  labels: Labels;
  order: string | undefined;
  amount: number | undefined;
  currency: string | undefined;
  /** "¥12,800.00". */
  amountText: string | undefined;
  /** The attribute that is wrong (phase `invalid`). */
  inputError: InputError | undefined;
  /** The pay button's words ("Pay ¥12,800.00", "Continue the same payment") and whether it works now. */
  payLabel: string;
  canPay: boolean;
  canCancel: boolean;
  cancelling: boolean;
  /** The payment's state (or the error) in words, with the code for support. */
  status: CashierText | undefined;
  /** The reader's prompt ("Present the card"), PIN digits as dots. */
  prompt: string | undefined;
  /** The host has been silent for a while: seconds, and the sentence for the cashier. */
  hostWait: { seconds: number; text: string } | undefined;
  /**
   * Scan-to-pay (terminal `qr:alipay` / `qr:wechat`): the content to render as a QR code while the
   * customer can pay it, with the sentence under it, an image description, and when it stops being payable.
   */
  qr:
    | { method: 'alipay' | 'wechat'; content: string; text: string; alt: string; until: string | undefined }
    | undefined;
  /** What a cancel did, or the connection trouble, in words. */
  note: string | undefined;
  /** Phase `partial`: what the card covers. */
  partialText: string | undefined;
  signature: { status: SignatureStatus; text: string | undefined } | undefined;
  receipt:
    { copy: ReceiptCopy; loading: boolean; html: string | undefined; error: string | undefined } | undefined;
  payment: PaymentSnapshot | undefined;
}

export type PayEventType = 'posbridge-state' | 'posbridge-completed' | 'posbridge-failed' | 'error';

/** Where the controller sends its view and its events (the element; a test's recorder). */
export interface PayHost {
  update(view: PayView): void;
  emit(type: PayEventType, detail: unknown): void;
}

/** Keeps an attempt's key across a page reload (sessionStorage in the element). */
export interface KeyStore {
  get(slot: string): string | undefined;
  set(slot: string, key: string): void;
  delete(slot: string): void;
}

export interface PayControllerOptions {
  host: PayHost;
  /** Milliseconds clock (default Date.now). */
  now?: () => number;
  /** How often the host-wait seconds are refreshed (default 1000 ms). */
  tickMs?: number;
  /** The host wait is shown once it lasts this long (default 2000 ms). */
  longWaitMs?: number;
  storage?: KeyStore;
  newKey?: () => string;
  /** How long collectPayment follows the payment before handing over to `following` (default 5 min). */
  followMs?: number;
  /** Ask for the customer's signature on a completed card sale (default true). */
  signature?: boolean;
}

/** The element's attributes, as given (checked here). */
export interface PayConfig {
  order: unknown;
  amount: unknown;
  currency: unknown;
  lang: Lang;
  terminal?: string | null | undefined;
  operator?: string | null | undefined;
}

interface Input {
  order: string;
  amount: number;
  currency: string | undefined;
  terminal: string | undefined;
  operator: string | undefined;
  slot: string;
}

/** The language-neutral state; `compose` turns it into words. */
interface Inner {
  phase: Phase;
  payment?: PaymentSnapshot;
  progress?: { progress: ReaderProgress; digits?: number };
  hostWaitSince?: number;
  cancel?: 'pending' | CancelOutcome | { error: string };
  failure?: { code: string; message: string };
  connection?: ConnectionState;
  signature?: SignatureStatus;
  signatureError?: string;
  receipt?: { copy: ReceiptCopy; loading: boolean; html?: string; error?: string };
  /** The payment was taken by card (a signature applies). */
  card?: boolean;
  /** Scan-to-pay: the method, and the QR to show while the payment is open. */
  qrMethod?: 'alipay' | 'wechat';
  qr?: { content: string; expiresAt?: string };
}

const BUSY: ReadonlySet<Phase> = new Set(['paying', 'partial', 'following']);
/** Ends in which no money was taken. */
const NO_MONEY: ReadonlySet<string> = new Set(['cancelled', 'declined', 'reversed', 'failed']);
/** The payment has not reached the acquirer yet. */
const BEFORE_HOST: ReadonlySet<string> = new Set(['created', 'awaiting_card', 'card_read']);
/** States in which the cashier waits for the acquirer (the elapsed time is shown). */
const HOST_WAIT: ReadonlySet<string> = new Set(['authorizing', 'unknown']);

export class PayController {
  private readonly o: PayControllerOptions;
  private config: PayConfig = { order: undefined, amount: undefined, currency: undefined, lang: 'en' };
  private input: { ok: true; value: Input } | { ok: false; error: InputError } = checkInput(this.config);
  private inner: Inner = { phase: 'idle' };
  /** The attempt's key (and the inputs it was made for). */
  private attempt: { slot: string; key: string } | undefined;
  private source: (() => Promise<PayClient>) | undefined;
  private client: PayClient | undefined;
  private offState: (() => void) | undefined;
  private ticker: ReturnType<typeof setTimeout> | undefined;
  /** Bumped when the order context changes: late answers of an older one are dropped. */
  private generation = 0;
  private lastErrorEmitted: string | undefined;
  private disposed = false;

  constructor(options: PayControllerOptions) {
    this.o = options;
  }

  /** The view as it stands. */
  get view(): PayView {
    return this.compose();
  }

  /** Where the client comes from: a connected one (the `client` property) or made on first use (url/token). */
  setClient(source: PayClient | (() => Promise<PayClient>) | undefined): void {
    this.source = typeof source === 'function' ? source : source ? () => Promise.resolve(source) : undefined;
    if (!BUSY.has(this.inner.phase)) {
      this.offState?.();
      this.offState = undefined;
      this.client = undefined;
    }
  }

  /**
   * The element's attributes changed. While a payment runs it keeps the values it started with; otherwise
   * a different order, amount, currency or terminal starts afresh (no receipt or signature of another order).
   */
  configure(config: PayConfig): void {
    this.config = config;
    const input = checkInput(config);
    const before = this.input.ok ? this.input.value.slot : undefined;
    this.input = input;
    if (!BUSY.has(this.inner.phase)) {
      const after = input.ok ? input.value.slot : undefined;
      if (!input.ok) {
        this.generation++;
        this.inner = { phase: 'invalid' };
        const sig = `${input.error.code}:${input.error.message}`;
        if (sig !== this.lastErrorEmitted) {
          this.lastErrorEmitted = sig;
          this.o.host.emit('error', input.error);
        }
      } else if (after !== before || this.inner.phase === 'invalid') {
        this.generation++;
        this.lastErrorEmitted = undefined;
        this.inner = { phase: 'idle' };
      }
    }
    this.publish();
  }

  /** The pay button: starts (or, after a lost connection, resumes) the payment. */
  async pay(): Promise<void> {
    if (this.disposed || BUSY.has(this.inner.phase)) return;
    if (!this.input.ok) {
      this.inner = { phase: 'invalid' };
      this.o.host.emit('error', this.input.error);
      this.publish();
      return;
    }
    const input = this.input.value;
    if (!this.canPay()) return;
    const gen = ++this.generation;
    const key =
      (this.attempt?.slot === input.slot ? this.attempt.key : undefined) ??
      this.o.storage?.get(input.slot) ??
      (this.o.newKey ?? newIdempotencyKey)();
    this.attempt = { slot: input.slot, key };
    this.o.storage?.set(input.slot, key);
    const qrMethod = qrMethodOfTerminal(input.terminal);
    this.inner = qrMethod ? { phase: 'paying', card: false, qrMethod } : { phase: 'paying', card: true };
    this.publish();

    let pb: PayClient;
    try {
      pb = await this.obtainClient();
    } catch (e) {
      if (gen === this.generation) this.fail(e);
      return;
    }
    let result;
    try {
      result = await collectPayment(pb, {
        orderId: input.order,
        amount: input.amount,
        ...(input.currency !== undefined ? { currency: input.currency } : {}),
        ...(input.terminal !== undefined ? { terminalId: input.terminal } : {}),
        ...(input.operator !== undefined ? { operatorId: input.operator } : {}),
        idempotencyKey: key,
        onProgress: (u) => {
          if (gen === this.generation) this.onProgress(u, input);
        },
        ...(this.o.followMs !== undefined ? { timeoutMs: this.o.followMs } : {}),
      });
    } catch (e) {
      if (gen === this.generation) this.fail(e);
      return;
    }
    if (gen !== this.generation) return;
    this.inner.card = (result.method ?? 'card') === 'card';
    await this.settle(pb, result, result.outcome, input, gen);
  }

  /** The cancel button: cancels the running payment and says what that did. */
  async cancel(): Promise<void> {
    const id = this.inner.payment?.paymentId;
    if (!id || !this.client || this.inner.cancel === 'pending' || !BUSY.has(this.inner.phase)) return;
    const gen = this.generation;
    this.inner.cancel = 'pending';
    this.publish();
    const operator = this.input.ok ? this.input.value.operator : undefined;
    try {
      const r = await cancelPayment(this.client, id, operator !== undefined ? { operatorId: operator } : {});
      // Queued before the card reached the acquirer: the reader is stopping, no bank involved yet.
      if (gen === this.generation)
        this.inner.cancel =
          r.outcome === 'queued' && BEFORE_HOST.has(r.payment.state) ? 'pending' : r.outcome;
    } catch (e) {
      if (gen === this.generation) this.inner.cancel = { error: codeOf(e) };
    }
    this.publish();
  }

  /** Phase `partial`: the cashier accepts the part payment (it completes) or declines it (it is given back). */
  async decidePartial(accept: boolean): Promise<void> {
    const p = this.inner.payment;
    const pb = this.client;
    if (this.inner.phase !== 'partial' || !p || !pb || !this.input.ok) return;
    const input = this.input.value;
    const gen = this.generation;
    this.inner.phase = 'following';
    this.publish();
    try {
      const ref = {
        paymentId: p.paymentId,
        ...(input.operator !== undefined ? { operatorId: input.operator } : {}),
      };
      if (accept) await pb.payment.acceptPartial(ref);
      else await pb.payment.declinePartial(ref);
      const final = await pb.waitForPayment(p.paymentId, { until: (s) => FINAL.has(s), timeoutMs: 120_000 });
      if (gen === this.generation) await this.settle(pb, final, final.state as CollectOutcome, input, gen);
    } catch (e) {
      if (gen === this.generation) this.fail(e);
    }
  }

  /** The signature pad's image (a PNG data: URI or base64) for the completed payment. */
  async sign(png: string): Promise<void> {
    const p = this.inner.payment;
    const pb = this.client;
    if (!p || !pb || this.inner.phase !== 'done' || this.inner.signature === 'saving') return;
    const gen = this.generation;
    this.inner.signature = 'saving';
    delete this.inner.signatureError;
    this.publish();
    const operator = this.input.ok ? this.input.value.operator : undefined;
    try {
      await pb.payment.signature({
        paymentId: p.paymentId,
        png,
        ...(operator !== undefined ? { operatorId: operator } : {}),
      });
      if (gen !== this.generation) return;
      this.inner.signature = 'saved';
    } catch (e) {
      if (gen !== this.generation) return;
      if (codeOf(e) === 'signature_exists') this.inner.signature = 'existing';
      else {
        this.inner.signature = 'failed';
        this.inner.signatureError = codeOf(e);
        this.publish();
        return;
      }
    }
    this.publish();
    // The merchant copy carries the signature.
    await this.showReceipt('merchant');
  }

  /** Loads the receipt of the completed payment (customer or merchant copy) as the daemon renders it. */
  async showReceipt(copy: ReceiptCopy): Promise<void> {
    const p = this.inner.payment;
    const pb = this.client;
    if (!p || !pb || this.inner.phase !== 'done') return;
    const gen = this.generation;
    this.inner.receipt = { copy, loading: true };
    this.publish();
    try {
      const r = await pb.receipt.get({ paymentId: p.paymentId, copy, format: 'html' });
      if (gen !== this.generation) return;
      this.inner.receipt = { copy, loading: false, ...(r.html !== undefined ? { html: r.html } : {}) };
    } catch (e) {
      if (gen !== this.generation) return;
      this.inner.receipt = { copy, loading: false, error: codeOf(e) };
    }
    this.publish();
  }

  /** The element left the page: stop timers and listeners (a running payment goes on in the daemon). */
  dispose(): void {
    this.disposed = true;
    this.generation++;
    this.stopTicker();
    this.offState?.();
    this.offState = undefined;
  }

  // -------------------------------------------------------------- inside

  private canPay(): boolean {
    const { phase } = this.inner;
    if (BUSY.has(phase) || phase === 'invalid' || !this.input.ok) return false;
    if (phase === 'done') return false; // paid: a new amount (attribute) starts afresh
    // needs_attention: reconciliation settles it; charging again could charge twice.
    if (phase === 'failed' && this.inner.payment?.state === 'needs_attention') return false;
    return true;
  }

  private async obtainClient(): Promise<PayClient> {
    if (this.client) return this.client;
    if (!this.source)
      throw new PosbridgeError(
        'no_client',
        '<posbridge-pay> has no connection: set its `client` property, or its `url` and `token` attributes',
      );
    const pb = await this.source();
    this.client = pb;
    this.offState?.();
    this.offState = pb.on('state', (s) => {
      this.inner.connection = s;
      this.publish();
    });
    return pb;
  }

  private onProgress(u: PaymentProgress, input: Input): void {
    const e = u.event;
    const prev = this.inner.payment;
    const state = u.state ?? prev?.state ?? 'created';
    this.inner.payment = {
      paymentId: u.paymentId,
      orderId: input.order,
      amount: input.amount,
      approvedAmount: prev?.approvedAmount ?? null,
      currency: input.currency ?? prev?.currency,
      state,
      final: FINAL.has(state),
      reason: e.durable && e.type === 'state' ? (e.reason ?? null) : (prev?.reason ?? null),
      responseCode: e.responseCode ?? prev?.responseCode ?? null,
    };
    if (u.qrContent !== undefined)
      this.inner.qr = {
        content: u.qrContent,
        ...(u.expiresAt !== undefined ? { expiresAt: u.expiresAt } : {}),
      };
    if (u.type === 'progress' && u.progress) {
      this.inner.progress = { progress: u.progress, ...(u.digits !== undefined ? { digits: u.digits } : {}) };
    }
    if (e.durable && e.type === 'state' && e.state) {
      if (HOST_WAIT.has(e.state)) this.inner.hostWaitSince ??= this.now();
      else delete this.inner.hostWaitSince;
      if (FINAL.has(e.state)) {
        delete this.inner.progress;
        delete this.inner.qr;
      }
      this.syncTicker();
      this.publish();
      this.o.host.emit('posbridge-state', { payment: { ...this.inner.payment } });
      return;
    }
    this.publish();
  }

  /** An outcome (collectPayment's, or after following): the phase, the events, what comes next. */
  private async settle(
    pb: PayClient,
    p: Payment,
    outcome: CollectOutcome,
    input: Input,
    gen: number,
  ): Promise<void> {
    this.inner.payment = snapshotOf(p, input);
    // A cancel that waited for the acquirer's answer: the payment ended without money taken.
    if ((this.inner.cancel === 'queued' || this.inner.cancel === 'pending') && NO_MONEY.has(p.state))
      this.inner.cancel = 'cancelled';
    delete this.inner.hostWaitSince;
    delete this.inner.progress;
    delete this.inner.qr;
    this.syncTicker();
    const detail = { payment: p };
    switch (outcome) {
      case 'completed': {
        this.forgetKey(input.slot);
        this.inner.phase = 'done';
        const wantsSignature =
          this.o.signature !== false && p.kind === 'sale' && (p.method ?? 'card') === 'card' && !p.signed;
        if (wantsSignature) this.inner.signature = 'needed';
        this.publish();
        this.o.host.emit('posbridge-completed', detail);
        await this.showReceipt(wantsSignature ? 'customer' : p.signed ? 'merchant' : 'customer');
        return;
      }
      case 'partially_approved':
        this.inner.phase = 'partial';
        this.publish();
        return;
      case 'unknown':
      case 'pending': {
        // Not a failure: the key stays, and the element follows the payment until it ends.
        this.inner.phase = 'following';
        if (p.state === 'unknown') this.inner.hostWaitSince ??= this.now();
        this.syncTicker();
        this.publish();
        try {
          const final = await pb.waitForPayment(p.paymentId, {
            until: (s) => FINAL.has(s) || s === 'partially_approved',
            timeoutMs: 10 * 60_000,
          });
          if (gen !== this.generation) return;
          await this.settle(pb, final, final.state as CollectOutcome, input, gen);
        } catch (e) {
          if (gen === this.generation) this.fail(e);
        }
        return;
      }
      default:
        // declined, cancelled, reversed, failed, needs_attention: no money taken (or reconciliation decides).
        this.forgetKey(input.slot);
        this.inner.phase = 'failed';
        this.publish();
        this.o.host.emit('posbridge-failed', detail);
    }
  }

  /** An error instead of an outcome. The key stays: repeating resumes the same payment, never a second one. */
  private fail(e: unknown): void {
    const code = codeOf(e);
    const message = e instanceof Error ? e.message : String(e);
    this.inner.phase = 'failed';
    this.inner.failure = { code, message };
    delete this.inner.hostWaitSince;
    delete this.inner.progress;
    delete this.inner.qr;
    this.syncTicker();
    this.publish();
    const paymentId = e instanceof PaymentInterruptedError ? e.paymentId : this.inner.payment?.paymentId;
    this.o.host.emit('posbridge-failed', {
      error: { code, message },
      ...(this.inner.payment ? { payment: { ...this.inner.payment } } : {}),
      ...(paymentId !== undefined ? { paymentId } : {}),
    });
  }

  private forgetKey(slot: string): void {
    if (this.attempt?.slot === slot) this.attempt = undefined;
    this.o.storage?.delete(slot);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private syncTicker(): void {
    if (this.inner.hostWaitSince === undefined || this.disposed) return this.stopTicker();
    if (this.ticker !== undefined) return;
    const tick = (): void => {
      this.ticker = undefined;
      if (this.inner.hostWaitSince === undefined || this.disposed) return;
      this.publish();
      this.ticker = setTimeout(tick, this.o.tickMs ?? 1000);
    };
    this.ticker = setTimeout(tick, this.o.tickMs ?? 1000);
  }

  private stopTicker(): void {
    if (this.ticker !== undefined) clearTimeout(this.ticker);
    this.ticker = undefined;
  }

  private publish(): void {
    if (!this.disposed) this.o.host.update(this.compose());
  }

  /** The state in the cashier's words (recomputed on every change, so a language switch is immediate). */
  private compose(): PayView {
    const lang = this.config.lang;
    const labels = LABELS[lang];
    const i = this.inner;
    const input = this.input.ok ? this.input.value : undefined;
    const currency = input?.currency ?? i.payment?.currency;
    const amountText = input ? formatMoney(input.amount, currency) : undefined;
    // A key without an outcome (lost connection, or a reload mid-payment): the button follows that payment.
    const resumable =
      (i.phase === 'idle' || (i.phase === 'failed' && i.failure !== undefined)) &&
      input !== undefined &&
      this.hasKey(input.slot);
    const payLabel = !amountText
      ? labels.pay('')
      : resumable
        ? labels.resume
        : i.phase === 'failed'
          ? labels.payAgain(amountText)
          : labels.pay(amountText);

    let status: CashierText | undefined;
    // Who decides, for the words: a scan-to-pay provider ("waiting for the customer to pay"), else the bank.
    const via = i.qrMethod ? { via: i.qrMethod } : {};
    if (i.failure) status = describeError(i.failure.code, lang);
    else if (i.payment)
      status = describeState(i.payment.state, lang, i.payment.reason, i.payment.responseCode, via);
    else if (i.phase === 'paying') status = describeState('created', lang, null, null, via);

    let prompt: string | undefined;
    if (i.progress && (i.phase === 'paying' || i.phase === 'following')) {
      prompt = describeProgress(i.progress.progress, lang);
      if (i.progress.digits) prompt += ` ${'•'.repeat(Math.min(i.progress.digits, 12))}`;
    }

    let qr: PayView['qr'];
    if (i.qr && i.qrMethod && BUSY.has(i.phase)) {
      const provider = labels.providers[i.qrMethod];
      const amount = amountText ?? '';
      const until = i.qr.expiresAt !== undefined ? clockTime(i.qr.expiresAt) : undefined;
      qr = {
        method: i.qrMethod,
        content: i.qr.content,
        text: labels.qrScan(provider, amount),
        alt: labels.qrAlt(provider, amount),
        until: until !== undefined ? labels.qrUntil(until) : undefined,
      };
    }

    let hostWait: PayView['hostWait'];
    // While a QR is up the wait is the customer's, not the bank's: no "keep the card in the reader".
    if (i.hostWaitSince !== undefined && !qr) {
      const ms = this.now() - i.hostWaitSince;
      if (ms >= (this.o.longWaitMs ?? 2000)) {
        const seconds = Math.floor(ms / 1000);
        hostWait = { seconds, text: labels.hostWait(seconds) };
      }
    }

    let note: string | undefined;
    if (i.cancel === 'pending') note = labels.cancelling;
    else if (typeof i.cancel === 'string') note = labels.cancelled[i.cancel];
    else if (i.cancel) note = describeError(i.cancel.error, lang).title;
    if (BUSY.has(i.phase) && (i.connection === 'reconnecting' || i.connection === 'connecting'))
      note = note ? `${note} ${labels.reconnecting}` : labels.reconnecting;

    const partialText =
      i.phase === 'partial' && i.payment
        ? labels.partial(
            formatMoney(i.payment.approvedAmount ?? 0, currency),
            formatMoney(i.payment.amount, currency),
          )
        : undefined;

    let signature: PayView['signature'];
    if (i.signature) {
      const text =
        i.signature === 'saving'
          ? labels.signSaving
          : i.signature === 'saved'
            ? labels.signSaved
            : i.signature === 'existing'
              ? labels.signExisting
              : i.signature === 'failed'
                ? `${labels.signFailed}: ${describeError(i.signatureError ?? 'failed', lang).title}`
                : labels.signHint;
      signature = { status: i.signature, text };
    }

    let receipt: PayView['receipt'];
    if (i.receipt) {
      receipt = {
        copy: i.receipt.copy,
        loading: i.receipt.loading,
        html: i.receipt.html,
        error:
          i.receipt.error !== undefined
            ? `${labels.receiptFailed}: ${describeError(i.receipt.error, lang).title}`
            : undefined,
      };
    }

    return {
      phase: i.phase,
      lang,
      labels,
      order: input?.order,
      amount: input?.amount,
      currency,
      amountText,
      inputError: this.input.ok ? undefined : this.input.error,
      payLabel,
      canPay: this.canPay(),
      canCancel:
        (i.phase === 'paying' || i.phase === 'following') &&
        i.payment !== undefined &&
        !i.payment.final &&
        i.cancel !== 'pending' &&
        i.cancel !== 'queued' &&
        i.cancel !== 'cancelled',
      cancelling: i.cancel === 'pending',
      status,
      prompt,
      hostWait,
      qr,
      note,
      partialText,
      signature,
      receipt,
      payment: i.payment ? { ...i.payment } : undefined,
    };
  }

  private hasKey(slot: string): boolean {
    return this.attempt?.slot === slot || this.o.storage?.get(slot) !== undefined;
  }
}

function checkInput(c: PayConfig): { ok: true; value: Input } | { ok: false; error: InputError } {
  const order = parseOrder(c.order);
  if (!order.ok) return order;
  const amount = parseAmount(c.amount);
  if (!amount.ok) return amount;
  const currency = parseCurrency(c.currency);
  if (!currency.ok) return currency;
  const terminal = c.terminal ? c.terminal : undefined;
  const operator = c.operator ? c.operator : undefined;
  return {
    ok: true,
    value: {
      order: order.order,
      amount: amount.amount,
      currency: currency.currency,
      terminal,
      operator,
      slot: JSON.stringify([order.order, amount.amount, currency.currency ?? '', terminal ?? '']),
    },
  };
}

function snapshotOf(p: Payment, input: Input): PaymentSnapshot {
  return {
    paymentId: p.paymentId,
    orderId: p.orderId ?? input.order,
    amount: p.amount,
    approvedAmount: p.approvedAmount,
    currency: p.currency,
    state: p.state,
    final: p.final,
    reason: p.reason,
    responseCode: p.host.responseCode,
  };
}

/** HH:MM of an ISO time, in the browser's time zone; undefined when it does not parse. */
function clockTime(iso: string): string | undefined {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return undefined;
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** The stable code of an error (PosbridgeError / RpcError `code`), or `failed`. */
function codeOf(e: unknown): string {
  if (e instanceof PosbridgeError) return e.code;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'failed';
}
