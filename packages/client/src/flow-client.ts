/**
 * What the flows (`flows.ts`) need of a client, and the event shapes both share. Its own file so that
 * `flows.ts` and the client (`index.ts`) depend on it and not on each other.
 */
import type { PosbridgeError } from './errors.js';
import type {
  GetPaymentParams,
  HelloResult,
  Payment,
  PaymentEvent,
  PaymentRef,
  PaymentState,
  QrParams,
  ResultOf,
  SaleParams,
  TerminalInfo,
  TerminalSelector,
} from './types.js';

export type ConnectionState =
  /** Not connected yet (call connect()). */
  | 'idle'
  | 'connecting'
  /** Socket open, no token yet (pairing). */
  | 'open'
  /** Socket open, saying hello and catching up on missed events. */
  | 'authenticating'
  | 'ready'
  /** The connection dropped; retrying with back-off. */
  | 'reconnecting'
  | 'closed';

/** A `payment.event` as subscribers see it: `replayed` when it came from `events.replay`. */
export type ClientPaymentEvent = PaymentEvent & { replayed?: boolean };

/** The names `on` / `off` accept. */
export const CLIENT_EVENTS = ['payment', 'terminal', 'state', 'error'] as const;

export interface ClientEvents {
  payment: ClientPaymentEvent;
  terminal: TerminalInfo;
  state: ConnectionState;
  /** Background trouble: a failed reconnect attempt, a fatal refusal. Calls reject on their own. */
  error: PosbridgeError;
}

/** The part of `PosbridgeClient` the flows call (the client implements it). */
export interface FlowClient {
  readonly state: ConnectionState;
  readonly session: HelloResult | undefined;
  connect(): Promise<HelloResult | undefined>;
  on<K extends keyof ClientEvents>(event: K, listener: (value: ClientEvents[K]) => void): () => void;
  waitForPayment(
    paymentId: string,
    options?: { until?: (state: PaymentState) => boolean; timeoutMs?: number },
  ): Promise<Payment>;
  readonly terminal: {
    list(): Promise<ResultOf<'terminal.list'>>;
    connect(p?: TerminalSelector): Promise<ResultOf<'terminal.connect'>>;
    status(p?: TerminalSelector): Promise<ResultOf<'terminal.status'>>;
  };
  readonly payment: {
    sale(p: SaleParams): Promise<ResultOf<'payment.sale'>>;
    qr(p: QrParams): Promise<ResultOf<'payment.qr'>>;
    get(p: GetPaymentParams): Promise<ResultOf<'payment.get'>>;
    cancel(p: PaymentRef): Promise<ResultOf<'payment.cancel'>>;
    acceptPartial(p: PaymentRef): Promise<ResultOf<'payment.acceptPartial'>>;
    declinePartial(p: PaymentRef): Promise<ResultOf<'payment.declinePartial'>>;
  };
}
