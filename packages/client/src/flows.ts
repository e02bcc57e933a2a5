/**
 * The Stripe-Terminal-style helpers on top of the protocol: discover and connect terminals, collect a
 * payment and follow it to its end, cancel and say what happened. They use only the client's public
 * methods and events (`PosbridgeClient` delegates to them).
 */
import {
  ClientClosedError,
  ConnectionLostError,
  PaymentInterruptedError,
  PosbridgeError,
  RpcError,
  TerminalNotReadyError,
  TimeoutError,
  UnauthorizedError,
} from './errors.js';
import type { ClientPaymentEvent, FlowClient } from './flow-client.js';
import {
  FINAL_PAYMENT_STATES,
  type Payment,
  type PaymentState,
  type ReaderProgress,
  type Submitted,
  type QrProviderInfo,
  type TerminalInfo,
} from './types.js';

const FINAL: ReadonlySet<string> = new Set(FINAL_PAYMENT_STATES);

// ------------------------------------------------------------------ terminals

/** A terminal as `discoverTerminals` reports it. */
export interface DiscoveredTerminal extends Omit<TerminalInfo, 'kind'> {
  /**
   * `reader`: a card reader (BLE, serial, TCP; posbridge talks to the acquirer). `zvt`: an integrated
   * terminal that authorises by itself. Payments work the same on both. `qr`: a scan-to-pay provider
   * (terminalId `qr:alipay`, `qr:wechat`): always ready, nothing to connect; collectPayment with this
   * terminalId takes the payment by QR (or by the customer's code with `authCode`).
   */
  kind: 'reader' | 'zvt' | 'qr';
  /** Ready to take a payment now (`state` is `idle`). */
  ready: boolean;
  /** `qr` only: the payment.qr method and what it can do. */
  qr?: QrProviderInfo;
}

const QR_PREFIX = 'qr:';

function qrTerminal(p: QrProviderInfo): DiscoveredTerminal {
  return {
    terminalId: `${QR_PREFIX}${p.method}`,
    state: 'idle',
    name: p.name,
    transport: 'https',
    kind: 'qr',
    ready: true,
    // What payment.qr offers: the sale and its (partial) refunds; a QR payment is refunded, not voided.
    capabilities: ['sale', 'refund'],
    qr: p,
  };
}

/** The QR method a `qr:<method>` terminal id names, or undefined for a card terminal. */
export function qrMethodOfTerminal(terminalId: string | undefined): 'alipay' | 'wechat' | undefined {
  if (terminalId === `${QR_PREFIX}alipay`) return 'alipay';
  if (terminalId === `${QR_PREFIX}wechat`) return 'wechat';
  return undefined;
}

/** Card readers, integrated terminals and the configured scan-to-pay providers, in that order. */
export async function discoverTerminals(pb: FlowClient): Promise<DiscoveredTerminal[]> {
  const { terminals, qrProviders = [] } = await pb.terminal.list();
  return [
    ...terminals.map((t): DiscoveredTerminal => ({
      ...t,
      kind: t.kind ?? 'reader',
      ready: t.state === 'idle',
    })),
    ...qrProviders.map(qrTerminal),
  ];
}

export interface ConnectTerminalOptions {
  /** How long to wait for the terminal to become ready (default 15 s). */
  timeoutMs?: number;
}

const READY_STATES: ReadonlySet<string> = new Set(['idle', 'busy']);

/**
 * `terminal.connect`, then waits (terminal events, status polls) until the terminal is `idle` (or `busy`
 * with another payment). Rejects with TerminalNotReadyError when it does not get there in time, with
 * RpcError `unknown_terminal` for an id the daemon does not know.
 */
export async function connectTerminal(
  pb: FlowClient,
  terminalId: string | undefined,
  options: ConnectTerminalOptions = {},
): Promise<TerminalInfo | DiscoveredTerminal> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const qrMethod = qrMethodOfTerminal(terminalId);
  if (qrMethod) {
    // A provider is an HTTPS API the daemon calls per payment: nothing to connect, only to find configured.
    const { qrProviders = [] } = await pb.terminal.list();
    const p = qrProviders.find((q) => q.method === qrMethod);
    if (!p)
      throw new RpcError('terminal.connect', {
        code: -32000,
        message: `${terminalId} is not configured in the daemon (qr in its configuration, docs/qr.md)`,
        data: { code: 'unknown_terminal', retryable: false },
      });
    return qrTerminal(p);
  }
  const selector = terminalId !== undefined ? { terminalId } : {};
  let last: TerminalInfo | undefined;
  const matches = (t: TerminalInfo): boolean =>
    terminalId === undefined || t.terminalId === terminalId || t.terminalId === last?.terminalId;
  let wake: (() => void) | undefined;
  const off = pb.on('terminal', (t) => {
    if (!matches(t)) return;
    last = t;
    wake?.();
  });
  try {
    last = await pb.terminal.connect(selector);
    const end = Date.now() + timeoutMs;
    while (!READY_STATES.has(last.state)) {
      const left = end - Date.now();
      if (left <= 0) throw new TerminalNotReadyError(last, timeoutMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      if (!READY_STATES.has(last.state)) last = await pb.terminal.status({ terminalId: last.terminalId });
    }
    return last;
  } finally {
    off();
  }
}

// ------------------------------------------------------------------ collectPayment

/** How a payment is taken: a card (reader or integrated terminal) or scan-to-pay. */
export type PaymentMethod = 'card' | 'alipay' | 'wechat';

/** One step of a payment as `collectPayment` reports it to `onProgress`. */
export interface PaymentProgress {
  paymentId: string;
  /**
   * What happened: `state` (a state transition), `progress` (a reader prompt: present card, PIN, ...),
   * `qr` (a QR to show the customer), `cancel_requested`, or another event type of the protocol.
   */
  type: string;
  /** The payment's state as far as known (the new one for `state` events). */
  state: PaymentState | undefined;
  /** The state is final: it never changes again. */
  final: boolean;
  reason?: string | null;
  /** For `progress`: the reader's prompt. */
  progress?: ReaderProgress;
  /** For `progress` while the PIN is typed: how many digits so far (never the digits). */
  digits?: number;
  /** For `qr`: the content to render as a QR code, and when it stops being payable. */
  qrContent?: string;
  expiresAt?: string;
  /** The protocol event as it came (`payment.event`). */
  event: ClientPaymentEvent;
}

export interface CollectPaymentOptions {
  /** The CRM's order reference. */
  orderId: string;
  /** Minor units (fen), a positive integer. */
  amount: number;
  /** Default: the terminal's currency (from session.hello). */
  currency?: string;
  /** Default `card`; `alipay` / `wechat` start scan-to-pay (a QR, or `authCode` for the customer's code). */
  method?: PaymentMethod;
  /** Scan-to-pay with the customer's payment code (scanned by the cashier) instead of showing a QR. */
  authCode?: string;
  /**
   * One per intended payment; default a new random key. Keep it (e.g. with the order) to resume after a
   * page reload: calling collectPayment again with the same key follows the same payment, never a second charge.
   */
  idempotencyKey?: string;
  operatorId?: string;
  /** Card payments: which terminal (default the daemon's default). */
  terminalId?: string;
  description?: string;
  /** Every event of this payment as it happens: prompts, QR, state changes. */
  onProgress?: (update: PaymentProgress) => void;
  /**
   * The card approved only part of the amount (`partially_approved`): `true` accepts it (it completes for
   * the approved amount), `false` declines it (it is reversed), a function decides per payment (e.g. asks
   * the cashier). Default: collectPayment resolves with outcome `partially_approved` and the page decides
   * (payment.acceptPartial / payment.declinePartial).
   */
  acceptPartial?: boolean | ((payment: Payment) => boolean | Promise<boolean>);
  /**
   * How long to follow the payment (default 5 minutes; 0 = no limit). When it runs out the promise
   * resolves with the payment as it stands (outcome `unknown` or `pending`), it does not cancel it.
   */
  timeoutMs?: number;
  /** Aborting cancels the payment (as cancelPayment) and collectPayment resolves with how it ended. */
  signal?: AbortSignalLike;
}

/** The part of AbortSignal collectPayment uses. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * How collectPayment ended. The final states as they are (`completed`: paid; `declined`, `cancelled`,
 * `reversed`, `failed`: no money taken; `needs_attention`: someone must look, see docs/recovery.md), and
 * three that are not final:
 * - `partially_approved`: the card approved part of the amount; accept or decline it (or pass `acceptPartial`).
 * - `unknown`: the acquirer's answer was lost; posbridge is finding out (inquiry) and reverses if it
 *   must. Not a failure: do not charge again, follow it (waitForPayment / payment.get).
 * - `pending`: still in progress when collectPayment stopped waiting (timeoutMs).
 */
export type CollectOutcome =
  | 'completed'
  | 'declined'
  | 'cancelled'
  | 'reversed'
  | 'failed'
  | 'needs_attention'
  | 'partially_approved'
  | 'unknown'
  | 'pending';

/** The payment as it ended, with what that means. */
export interface CollectedPayment extends Payment {
  outcome: CollectOutcome;
  /** One sentence for the developer (and support) on what the outcome means and what to do next. */
  message: string;
  /** The key the payment was started with (generated when none was given). */
  idempotencyKey: string;
  /** True when this key already had a payment: collectPayment followed that one, nothing new was started. */
  existing: boolean;
}

function money(amount: number | null, currency: string): string {
  return amount === null ? '?' : `${(amount / 100).toFixed(2)} ${currency}`;
}

function describeOutcome(p: Payment, outcome: CollectOutcome): string {
  const why = p.reason ? ` (${p.reason})` : '';
  switch (outcome) {
    case 'completed':
      return `paid: ${money(p.approvedAmount ?? p.amount, p.currency)}`;
    case 'declined':
      return `declined${why}: no money was taken`;
    case 'cancelled':
      return `cancelled${why}: no money was taken`;
    case 'reversed':
      return `reversed${why}: the approval was given back, no money was taken`;
    case 'failed':
      return `failed${why}: no money was taken (the request never reached the acquirer, or was refused before)`;
    case 'needs_attention':
      return `needs attention${why}: posbridge could not settle it on its own; reconciliation resolves it (do not charge again before it does)`;
    case 'partially_approved':
      return `the card approved only ${money(p.approvedAmount, p.currency)} of ${money(p.amount, p.currency)}: accept (payment.acceptPartial) or decline (payment.declinePartial)`;
    case 'unknown':
      return "the acquirer's answer was lost and posbridge is finding out (inquiry, then a reversal if needed): this is not a failure; do not charge again, follow the payment until it is final";
    case 'pending':
      return `still in progress (${p.state}) when collectPayment stopped waiting: it may still complete; follow the payment (waitForPayment) before doing anything else`;
  }
}

function outcomeOf(p: Payment): CollectOutcome | undefined {
  if (FINAL.has(p.state)) return p.state as CollectOutcome;
  if (p.state === 'partially_approved') return 'partially_approved';
  return undefined;
}

/** The call may or may not have reached the daemon. */
function isAmbiguous(e: unknown): boolean {
  return e instanceof ConnectionLostError || e instanceof TimeoutError || e instanceof ClientClosedError;
}

/** A transport error: the call's outcome (or the payment's) is not known to this page. */
function isTransport(e: unknown): boolean {
  return (
    e instanceof ConnectionLostError ||
    e instanceof TimeoutError ||
    e instanceof ClientClosedError ||
    e instanceof UnauthorizedError ||
    (e instanceof PosbridgeError && !(e instanceof RpcError))
  );
}

export async function collectPayment(pb: FlowClient, o: CollectPaymentOptions): Promise<CollectedPayment> {
  const idempotencyKey = o.idempotencyKey ?? newIdempotencyKey();
  // A `qr:<method>` terminal from discoverTerminals means that scan-to-pay method.
  const method = o.method ?? qrMethodOfTerminal(o.terminalId) ?? 'card';
  const timeoutMs = o.timeoutMs ?? 300_000;
  let paymentId: string | undefined;
  let lastState: PaymentState | undefined;
  const early: ClientPaymentEvent[] = [];
  let onEvent: ((e: ClientPaymentEvent) => void) | undefined;

  const interrupted = (cause: unknown): PaymentInterruptedError =>
    new PaymentInterruptedError({ paymentId, idempotencyKey, lastState, cause });

  // Listen before starting: the payment's first events can arrive before the call's answer.
  const offEvents = pb.on('payment', (e) => {
    if (paymentId === undefined) early.push(e);
    else if (e.paymentId === paymentId) onEvent?.(e);
  });
  try {
    let currency = o.currency;
    if (currency === undefined) {
      // Nothing was sent yet: connection errors (DaemonNotRunningError, ...) reach the caller as they are.
      currency = (pb.session ?? (await pb.connect()))?.currency;
      if (currency === undefined)
        throw new PosbridgeError(
          'not_authorised',
          'collectPayment needs a session: give the client a token (or pair first)',
        );
    }
    const common = {
      idempotencyKey,
      orderId: o.orderId,
      amount: o.amount,
      currency,
      ...(o.operatorId !== undefined ? { operatorId: o.operatorId } : {}),
    };
    const start = (): Promise<Submitted> =>
      method === 'card'
        ? pb.payment.sale({
            ...common,
            ...(o.terminalId !== undefined ? { terminalId: o.terminalId } : {}),
            ...(o.description !== undefined ? { description: o.description } : {}),
          })
        : pb.payment.qr({ ...common, method, ...(o.authCode !== undefined ? { authCode: o.authCode } : {}) });

    // The same key never charges twice, so a start whose answer was lost is repeated once reconnected.
    let submitted: Submitted | undefined;
    for (let attempt = 0; submitted === undefined; attempt++) {
      try {
        submitted = await start();
      } catch (e) {
        if (e instanceof ConnectionLostError && attempt < 3 && pb.state !== 'closed') continue;
        // Lost, timed out or closed in flight: the start may have reached the daemon. Anything else
        // (RpcError: refused; DaemonNotRunningError: never sent) reaches the caller as it is.
        throw isAmbiguous(e) ? interrupted(e) : e;
      }
    }
    paymentId = submitted.paymentId;
    lastState = submitted.state;
    const id = paymentId;
    const existing = submitted.existing;

    return await new Promise<CollectedPayment>((resolve, reject) => {
      let done = false;
      let deciding = false;
      let checking = false;
      let again = false;
      const cleanup: (() => void)[] = [];
      const finish = (err: unknown, p?: Payment, outcome?: CollectOutcome): void => {
        if (done) return;
        done = true;
        for (const c of cleanup) c();
        if (err !== undefined) reject(err);
        else
          resolve({
            ...p!,
            outcome: outcome!,
            message: describeOutcome(p!, outcome!),
            idempotencyKey,
            existing,
          });
      };

      const progress = (e: ClientPaymentEvent): void => {
        if (e.durable && e.state) lastState = e.state;
        if (!o.onProgress) return;
        const update: PaymentProgress = {
          paymentId: id,
          type: e.type,
          state: lastState,
          final: lastState !== undefined && FINAL.has(lastState),
          event: e,
        };
        if (e.reason !== undefined) update.reason = e.reason;
        if (e.progress !== undefined) update.progress = e.progress;
        if (e.digits !== undefined) update.digits = e.digits;
        if (e.qrContent !== undefined) update.qrContent = e.qrContent;
        if (e.expiresAt !== undefined) update.expiresAt = e.expiresAt;
        try {
          o.onProgress(update);
        } catch {
          // the page's callback must not break the payment's follow-up
        }
      };

      const decidePartial = async (p: Payment): Promise<void> => {
        const rule = o.acceptPartial!;
        const accept = typeof rule === 'function' ? await rule(p) : rule;
        const ref = { paymentId: id, ...(o.operatorId !== undefined ? { operatorId: o.operatorId } : {}) };
        if (accept) await pb.payment.acceptPartial(ref);
        else await pb.payment.declinePartial(ref);
      };

      /** Reads the payment and ends when it is final (or partially approved and the page decides). */
      const check = async (): Promise<void> => {
        if (done) return;
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        let retry = false;
        try {
          do {
            again = false;
            const p = await pb.payment.get({ paymentId: id });
            lastState = p.state;
            const outcome = outcomeOf(p);
            if (outcome === 'partially_approved' && o.acceptPartial !== undefined && !deciding) {
              deciding = true;
              await decidePartial(p);
              again = true;
            } else if (outcome !== undefined && !(outcome === 'partially_approved' && deciding)) {
              finish(undefined, p, outcome);
            }
          } while (again && !done);
        } catch (e) {
          if (e instanceof ConnectionLostError && pb.state !== 'closed') {
            // read again once the client is ready (the 'state' listener)
          } else if (e instanceof RpcError && e.code === 'wrong_state' && deciding) {
            retry = true; // the partial approval was decided meanwhile (another page, a timeout)
          } else finish(isTransport(e) ? interrupted(e) : e);
        } finally {
          checking = false;
        }
        if (!done && (retry || again)) void check();
      };

      onEvent = (e) => {
        progress(e);
        if (e.durable && e.state && (FINAL.has(e.state) || e.state === 'partially_approved' || e.final))
          void check();
      };
      for (const e of early.splice(0)) if (e.paymentId === id) onEvent(e);

      // A repeated start (the same key: a reload, a lost answer) brings no new `qr` event: the QR of a
      // scan-to-pay payment still open is reported again from the payment itself, marked `replayed`.
      if (existing && method !== 'card' && o.onProgress) {
        pb.payment.get({ paymentId: id }).then(
          (p) => {
            const qr = p.qr;
            if (done || !qr?.qrContent || FINAL.has(p.state)) return;
            progress({
              paymentId: id,
              seq: 0,
              durable: false,
              type: 'qr',
              qrContent: qr.qrContent,
              ...(qr.expiresAt ? { expiresAt: qr.expiresAt } : {}),
              replayed: true,
            });
          },
          () => undefined, // check() reports a read that fails
        );
      }

      // After a reconnect the client replays what was missed; read the payment again anyway.
      cleanup.push(
        pb.on('state', (s) => {
          if (s === 'ready') void check();
          else if (s === 'closed') finish(interrupted(new ClientClosedError()));
        }),
      );

      if (timeoutMs > 0) {
        const timer = setTimeout(() => {
          pb.payment.get({ paymentId: id }).then(
            (p) => finish(undefined, p, outcomeOf(p) ?? (p.state === 'unknown' ? 'unknown' : 'pending')),
            (e: unknown) => finish(interrupted(e)),
          );
        }, timeoutMs);
        cleanup.push(() => clearTimeout(timer));
      }

      if (o.signal) {
        const signal = o.signal;
        const abort = (): void => {
          cancelPayment(pb, id, o.operatorId !== undefined ? { operatorId: o.operatorId } : {}).then(
            () => void check(),
            (e: unknown) => {
              if (isTransport(e)) finish(interrupted(e));
              else void check();
            },
          );
        };
        if (signal.aborted) abort();
        else {
          signal.addEventListener('abort', abort);
          cleanup.push(() => signal.removeEventListener('abort', abort));
        }
      }

      void check();
    });
  } finally {
    onEvent = undefined;
    offEvents();
  }
}

/** A random idempotency key (UUID v4 when the platform has crypto.randomUUID). */
export function newIdempotencyKey(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  let s = '';
  for (let i = 0; i < 32; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

// ------------------------------------------------------------------ cancelPayment

/**
 * What `cancelPayment` did (docs/protocol.md, "Cancelling a payment"):
 * - `cancelled`: stopped; no money was taken (the payment is, or, with `wait`, ended, cancelled,
 *   reversed, declined or failed).
 * - `queued`: the request may be at the acquirer: the cancel is recorded and applied when the answer is
 *   known (an approval is reversed); the payment ends reversed, declined or failed, never completed.
 *   Also: it was already being reversed.
 * - `already_completed`: too late, it completed; void it (same batch) or refund it.
 * - `already_final`: it had already ended without money taken (declined, failed, reversed): nothing to do.
 * - `not_cancellable`: `needs_attention`; reconciliation resolves it.
 */
export type CancelOutcome =
  'cancelled' | 'queued' | 'already_completed' | 'already_final' | 'not_cancellable';

export interface CancelResult {
  outcome: CancelOutcome;
  /** The payment as it stands (with `wait`: as it ended). */
  payment: Payment;
  message: string;
}

export interface CancelPaymentOptions {
  operatorId?: string;
  /** When the cancel is queued, wait until the payment is final and report that (default false). */
  wait?: boolean;
  /** With `wait`: how long (default 120 s; then the result stays `queued`). */
  timeoutMs?: number;
}

const CANCEL_MESSAGES: Record<CancelOutcome, string> = {
  cancelled: 'cancelled: no money was taken',
  queued:
    'cancel recorded: the request may be at the acquirer, so the cancel is applied when its answer is known (an approval is reversed); the payment ends reversed, declined or failed, never completed',
  already_completed: 'too late: the payment completed; void it (same batch) or refund it',
  already_final: 'nothing to cancel: the payment had already ended without taking money',
  not_cancellable: 'cannot be cancelled: the payment needs attention; reconciliation resolves it',
};

function cancelOutcome(p: Payment): CancelOutcome {
  if (p.state === 'cancelled') return 'cancelled';
  if (p.state === 'completed') return 'already_completed';
  if (p.state === 'needs_attention') return 'not_cancellable';
  if (FINAL.has(p.state)) return p.cancelRequested ? 'cancelled' : 'already_final';
  return 'queued';
}

export async function cancelPayment(
  pb: FlowClient,
  paymentId: string,
  options: CancelPaymentOptions = {},
): Promise<CancelResult> {
  const ref = { paymentId, ...(options.operatorId !== undefined ? { operatorId: options.operatorId } : {}) };
  let payment: Payment;
  try {
    payment = await pb.payment.cancel(ref);
  } catch (e) {
    if (e instanceof RpcError && (e.code === 'already_completed' || e.code === 'wrong_state')) {
      const p = await pb.payment.get({ paymentId });
      const outcome = e.code === 'already_completed' ? 'already_completed' : cancelOutcome(p);
      return { outcome, payment: p, message: CANCEL_MESSAGES[outcome] };
    }
    throw e;
  }
  let outcome = cancelOutcome(payment);
  if (outcome === 'queued' && options.wait) {
    try {
      payment = await pb.waitForPayment(paymentId, {
        until: (s) => FINAL.has(s),
        timeoutMs: options.timeoutMs ?? 120_000,
      });
      outcome = cancelOutcome(payment);
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      payment = await pb.payment.get({ paymentId });
      outcome = cancelOutcome(payment);
    }
  }
  const how = outcome === 'queued' && payment.state === 'reversing' ? ' (it is already being reversed)' : '';
  const ended =
    outcome === 'cancelled' && payment.state !== 'cancelled' ? ` (it ended ${payment.state})` : '';
  return { outcome, payment, message: CANCEL_MESSAGES[outcome] + how + ended };
}
