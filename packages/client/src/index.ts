/**
 * `@posbridge/client`: the typed client of the posbridge daemon's local WebSocket API (JSON-RPC 2.0).
 * ESM, CommonJS and a browser bundle; no dependencies (in Node 20 pass `ws`'s WebSocket).
 *
 *   import { PosbridgeClient } from '@posbridge/client';
 *   const pb = new PosbridgeClient({ url: 'ws://127.0.0.1:7583/ws', token });   // Node 20: add WebSocket from 'ws'
 *   await pb.connect();
 *   const paid = await pb.collectPayment({ orderId: 'ORD-1', amount: 12_345_600, onProgress: (p) => show(p) });
 *   if (paid.outcome === 'completed') ...
 *
 * - One promise per method (`pb.payment.sale`, `pb.terminal.list`, ..., or `pb.call(method, params)`).
 * - Helpers: `discoverTerminals`, `connectTerminal`, `collectPayment` (starts a payment and follows it to
 *   its end), `cancelPayment` (says what it did), `waitForPayment`.
 * - `pb.on('payment', e => ...)`: every `payment.event`, durable ones exactly once and in seq order.
 *   An event name the client does not emit throws UnknownEventError (with the valid names).
 * - Automatic reconnect with back-off; after a reconnect the client replays (`events.replay`) from the
 *   last durable seq it saw, so subscribers never miss or repeat an event.
 * - Errors (all `PosbridgeError` with a stable `code`): DaemonNotRunningError, PermissionDeniedError
 *   (browser Local Network Access), HandshakeRefusedError, UnauthorizedError, RpcError (`code` = the
 *   server's `data.code`), ConnectionLostError, TimeoutError, UnknownEventError, TerminalNotReadyError,
 *   PaymentInterruptedError.
 *
 * This package imports nothing outside itself and no Node modules, so it runs in browsers unchanged.
 */
import {
  ClientClosedError,
  ConnectionLostError,
  DaemonNotRunningError,
  HandshakeRefusedError,
  PermissionDeniedError,
  PosbridgeError,
  RpcError,
  TimeoutError,
  UnauthorizedError,
  UnknownEventError,
  InvalidArgumentError,
} from './errors.js';
import {
  cancelPayment,
  collectPayment,
  connectTerminal,
  discoverTerminals,
  type CancelPaymentOptions,
  type CancelResult,
  type CollectedPayment,
  type CollectPaymentOptions,
  type ConnectTerminalOptions,
  type DiscoveredTerminal,
} from './flows.js';
import { CLIENT_EVENTS, type ClientEvents, type ConnectionState, type FlowClient } from './flow-client.js';
import {
  CLOSE_HELLO_TIMEOUT,
  CLOSE_TOO_MANY_ATTEMPTS,
  CLOSE_UNAUTHORIZED,
  FINAL_PAYMENT_STATES,
  type BalanceParams,
  type CaptureParams,
  type GetPaymentParams,
  type HelloResult,
  type ListPaymentsParams,
  type MethodName,
  type ParamsOf,
  type Payment,
  type PaymentEvent,
  type PaymentRef,
  type PaymentState,
  type PreauthParams,
  type ReceiptGetParams,
  type ReceiptPrintParams,
  type RefundParams,
  type ReplayParams,
  type ResultOf,
  type RpcErrorObject,
  type SaleParams,
  type QrParams,
  type SettlementReportParams,
  type SettlementRunParams,
  type SignatureParams,
  type TerminalInfo,
  type TerminalSelector,
  type VoidParams,
} from './types.js';

export * from './types.js';
export * from './errors.js';
export * from './wording.js';
export {
  CLIENT_EVENTS,
  type ClientEvents,
  type ClientPaymentEvent,
  type ConnectionState,
  type FlowClient,
} from './flow-client.js';
export {
  newIdempotencyKey,
  qrMethodOfTerminal,
  type AbortSignalLike,
  type CancelOutcome,
  type CancelPaymentOptions,
  type CancelResult,
  type CollectedPayment,
  type CollectOutcome,
  type CollectPaymentOptions,
  type ConnectTerminalOptions,
  type DiscoveredTerminal,
  type PaymentMethod,
  type PaymentProgress,
} from './flows.js';

// ------------------------------------------------------------------ WebSocket abstraction

/** The part of the WHATWG WebSocket the client uses (browsers' and `ws`'s both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: unknown) => void): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

interface CloseEventLike {
  code?: number;
  reason?: string;
}
interface ErrorEventLike {
  message?: string;
  error?: { message?: string; code?: string };
}
interface MessageEventLike {
  data?: unknown;
}

const OPEN = 1;

export interface ClientOptions {
  /** Default `ws://127.0.0.1:7583/ws`. */
  url?: string;
  /** The token file's content, or a token from `pair()`. */
  token?: string;
  /** The session's default operator for money-moving calls. */
  operatorId?: string;
  /** Free text the daemon logs, e.g. "crm-web 3.2". */
  clientName?: string;
  /** A WebSocket constructor; default `globalThis.WebSocket` (Node 20 has none: pass `ws`'s). */
  WebSocket?: WebSocketConstructor;
  /** Full control over socket creation (e.g. `ws` options); wins over `WebSocket`. */
  createWebSocket?: (url: string) => WebSocketLike;
  /** Reconnect after a drop (default true). */
  reconnect?: boolean | { initialDelayMs?: number; maxDelayMs?: number };
  /** Per call (default 30 s). Calls made while reconnecting wait within this time. */
  requestTimeoutMs?: number;
  /** Opening the socket (default 10 s). */
  connectTimeoutMs?: number;
  /** Replay durable events after this seq on the first connect (a page that stored `client.lastSeq`). */
  sinceSeq?: number;
}

type Listener<T> = (value: T) => void;

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Queued {
  run: () => void;
  reject: (e: Error) => void;
}

const FINAL: ReadonlySet<string> = new Set(FINAL_PAYMENT_STATES);

/**
 * The browser's Local Network Access permission, when the Permissions API knows it. Chrome 142-144
 * name it `local-network-access`; Chrome 145 split it into `loopback-network` (what reaching
 * 127.0.0.1 needs) and `local-network`.
 */
async function localNetworkPermission(): Promise<{ name: string; state: string } | undefined> {
  const nav = (
    globalThis as { navigator?: { permissions?: { query(d: { name: string }): Promise<{ state: string }> } } }
  ).navigator;
  if (!nav?.permissions?.query) return undefined;
  for (const name of ['loopback-network', 'local-network-access']) {
    try {
      const status = await nav.permissions.query({ name });
      return { name, state: status.state };
    } catch {
      // this browser does not know the name
    }
  }
  return undefined;
}

/**
 * Why a socket closed before it opened. Node (`ws`) tells: ECONNREFUSED → daemon not running; an HTTP
 * status → handshake refused. Browsers tell nothing (an `error` and a 1006 close), so: if the Local
 * Network Access permission is `denied` → permission denied, else daemon not running.
 */
async function classifyFailure(detail: string | undefined): Promise<PosbridgeError> {
  const status = detail ? /Unexpected server response: (\d{3})/.exec(detail) : null;
  if (status) return new HandshakeRefusedError(Number(status[1]));
  if (detail && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|EADDRNOTAVAIL/.test(detail))
    return new DaemonNotRunningError();
  const permission = await localNetworkPermission();
  if (permission?.state === 'denied') return new PermissionDeniedError(permission.name);
  return new DaemonNotRunningError(
    permission
      ? "posbridge did not answer: is it running? (If the browser asked to allow local network access, allow it; the page's Origin must also be on posbridge's allowlist.)"
      : undefined,
  );
}

// ------------------------------------------------------------------ the client

export class PosbridgeClient implements FlowClient {
  readonly url: string;
  private token: string | undefined;
  private readonly opts: ClientOptions;
  private ws: WebSocketLike | undefined;
  private stateValue: ConnectionState = 'idle';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly queued: Queued[] = [];
  private readonly listeners: { [K in keyof ClientEvents]: Set<Listener<ClientEvents[K]>> } = {
    payment: new Set(),
    terminal: new Set(),
    state: new Set(),
    error: new Set(),
  };
  private lastSeqValue: number | undefined;
  /** While catching up, live events wait here (then are delivered after the replayed ones). */
  private buffering = false;
  private buffer: PaymentEvent[] = [];
  private connecting: Promise<HelloResult | undefined> | undefined;
  private helloValue: HelloResult | undefined;
  private userClosed = false;
  private everReady = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectAttempt = 0;

  constructor(options: ClientOptions = {}) {
    this.opts = options;
    this.url = options.url ?? 'ws://127.0.0.1:7583/ws';
    this.token = options.token;
    this.lastSeqValue = options.sinceSeq;
  }

  /** The last durable event seq delivered to subscribers (store it to replay from it after a reload). */
  get lastSeq(): number | undefined {
    return this.lastSeqValue;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** session.hello's answer on the current connection. */
  get session(): HelloResult | undefined {
    return this.helloValue;
  }

  /**
   * Subscribes to `payment` (every payment.event), `terminal` (terminal.event), `state` (the connection's
   * state) or `error` (background trouble). Returns the unsubscribe function. Any other name throws
   * UnknownEventError (`code` `unknown_event`, `validEvents` the names above).
   */
  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    this.listenersOf(event, listener).add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): void {
    this.listenersOf(event, listener).delete(listener);
  }

  private listenersOf<K extends keyof ClientEvents>(
    event: K,
    listener: unknown,
  ): Set<Listener<ClientEvents[K]>> {
    if (typeof event !== 'string' || !(CLIENT_EVENTS as readonly string[]).includes(event))
      throw new UnknownEventError(event, CLIENT_EVENTS);
    if (typeof listener !== 'function')
      throw new InvalidArgumentError(
        'listener',
        `the listener for "${event}" must be a function, not ${typeof listener}`,
      );
    return this.listeners[event];
  }

  // -------------------------------------------------------------- connection

  /**
   * Opens the socket and, with a token, says hello and catches up on missed events. Rejects with
   * DaemonNotRunningError, PermissionDeniedError, HandshakeRefusedError or UnauthorizedError. Without
   * a token it only opens the socket (then call `pair(code)`).
   */
  connect(): Promise<HelloResult | undefined> {
    if (this.stateValue === 'ready' && this.ws) return Promise.resolve(this.helloValue);
    if (this.connecting) return this.connecting;
    this.userClosed = false;
    this.connecting = this.establish().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /**
   * Pairs this page: exchanges a one-time code for a token bound to the page's Origin, then says hello
   * with it. Returns the token: store it (e.g. localStorage) and pass it as `token` next time.
   */
  async pair(code: string): Promise<string> {
    this.userClosed = false;
    const ws = await this.openedSocket();
    const { token } = await this.rawCall(ws, 'session.pair', { code });
    this.token = token;
    await this.handshake(ws);
    return token;
  }

  /** Closes the connection for good (no reconnect). Calls in flight reject with ClientClosedError. */
  close(): void {
    this.userClosed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    this.failAll(() => new ClientClosedError());
    if (ws) {
      try {
        ws.close(1000, 'client closed');
      } catch {
        // already closing
      }
    }
    this.setState('closed');
  }

  /**
   * For tests and diagnostics: drop the socket as if the network failed (the client reconnects and
   * replays as after any drop).
   */
  dropConnection(): void {
    try {
      this.ws?.close(4000, 'client dropped the connection');
    } catch {
      // ignore
    }
  }

  private async establish(): Promise<HelloResult | undefined> {
    this.setState('connecting');
    let ws: WebSocketLike;
    try {
      ws = await this.openSocket();
    } catch (e) {
      this.setState(this.everReady && !this.userClosed ? 'reconnecting' : 'idle');
      throw e;
    }
    if (!this.token) {
      this.setState('open');
      return undefined;
    }
    return this.handshake(ws);
  }

  private async openedSocket(): Promise<WebSocketLike> {
    if (this.ws && this.ws.readyState === OPEN) return this.ws;
    if (this.connecting) {
      await this.connecting.catch(() => undefined);
      if (this.ws && this.ws.readyState === OPEN) return this.ws;
    }
    this.setState('connecting');
    try {
      const ws = await this.openSocket();
      this.setState('open');
      return ws;
    } catch (e) {
      this.setState('idle');
      throw e;
    }
  }

  private createSocket(url: string): WebSocketLike {
    if (this.opts.createWebSocket) return this.opts.createWebSocket(url);
    const Ctor = this.opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor)
      throw new PosbridgeError(
        'no_websocket',
        'no WebSocket implementation: pass { WebSocket } (in Node 20: import { WebSocket } from "ws")',
      );
    return new Ctor(url);
  }

  private openSocket(): Promise<WebSocketLike> {
    return new Promise<WebSocketLike>((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = this.createSocket(this.url);
      } catch (e) {
        reject(e instanceof PosbridgeError ? e : new DaemonNotRunningError(`cannot open ${this.url}`));
        return;
      }
      let opened = false;
      let settled = false;
      let detail: string | undefined;
      const timeoutMs = this.opts.connectTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        try {
          ws.close();
        } catch {
          // ignore
        }
        reject(new DaemonNotRunningError(`posbridge did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.addEventListener('open', () => {
        opened = true;
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.ws = ws;
        resolve(ws);
      });
      ws.addEventListener('error', (event: unknown) => {
        const ev = event as ErrorEventLike | undefined;
        detail = ev?.error?.code ?? ev?.error?.message ?? ev?.message ?? detail;
        if (ev?.error?.message && ev.error.code) detail = `${ev.error.code} ${ev.error.message}`;
      });
      ws.addEventListener('message', (event: unknown) =>
        this.onFrame(ws, (event as MessageEventLike | undefined)?.data),
      );
      ws.addEventListener('close', (event: unknown) => {
        const ev = event as CloseEventLike | undefined;
        if (!opened) {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          void classifyFailure(detail).then(reject);
          return;
        }
        this.onClose(ws, ev?.code ?? 1006);
      });
    });
  }

  /** Hello, then catch up on events missed since lastSeq, then release queued calls. */
  private async handshake(ws: WebSocketLike): Promise<HelloResult> {
    this.setState('authenticating');
    this.buffering = true;
    try {
      let hello: HelloResult;
      try {
        hello = await this.rawCall(ws, 'session.hello', {
          token: this.token!,
          ...(this.opts.operatorId ? { operatorId: this.opts.operatorId } : {}),
          ...(this.opts.clientName ? { client: this.opts.clientName } : {}),
        });
      } catch (e) {
        if (e instanceof RpcError && e.code === 'unauthorized')
          throw new UnauthorizedError('session.hello', e.message);
        throw e;
      }
      this.helloValue = hello;
      if (this.lastSeqValue === undefined) this.lastSeqValue = hello.lastSeq;
      else if (hello.lastSeq < this.lastSeqValue)
        this.lastSeqValue = hello.lastSeq; // a different journal
      else await this.catchUp(ws);
      this.releaseBuffer();
      this.everReady = true;
      this.reconnectAttempt = 0;
      this.setState('ready');
      for (const q of this.queued.splice(0)) q.run();
      return hello;
    } catch (e) {
      this.buffering = false;
      this.buffer = [];
      if (e instanceof UnauthorizedError) {
        this.userClosed = true; // a refused token will not get better by retrying
        this.failAll(() => new UnauthorizedError('session.hello'));
        this.setState('closed');
      }
      throw e;
    }
  }

  private async catchUp(ws: WebSocketLike): Promise<void> {
    for (;;) {
      const r = await this.rawCall(ws, 'events.replay', { sinceSeq: this.lastSeqValue ?? 0 });
      for (const e of r.events) this.deliver(e, true);
      if (!r.more || r.events.length === 0) break;
    }
  }

  private releaseBuffer(): void {
    this.buffering = false;
    const held = this.buffer;
    this.buffer = [];
    for (const e of held) this.deliver(e, false);
  }

  private onClose(ws: WebSocketLike, code: number): void {
    if (this.ws === ws) this.ws = undefined;
    this.helloValue = undefined;
    this.buffering = false;
    this.buffer = [];
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new ConnectionLostError(p.method));
    }
    if (this.userClosed) {
      this.setState('closed');
      return;
    }
    if (code === CLOSE_UNAUTHORIZED || code === CLOSE_TOO_MANY_ATTEMPTS) {
      const err = new UnauthorizedError(
        'session',
        code === CLOSE_UNAUTHORIZED
          ? 'posbridge closed the session: token refused or revoked'
          : 'too many pairing attempts',
      );
      this.userClosed = true;
      this.failAll(() => err);
      this.setState('closed');
      this.emit('error', err);
      return;
    }
    // Only a session that was ready resumes by itself; before that, connect()'s caller sees the error.
    const canResume =
      this.reconnectEnabled() && this.token !== undefined && this.everReady && code !== CLOSE_HELLO_TIMEOUT;
    if (!canResume) {
      this.failAll(() => new ConnectionLostError('the call'));
      this.setState('closed');
      return;
    }
    this.setState('reconnecting');
    this.scheduleReconnect();
  }

  private reconnectEnabled(): boolean {
    return this.opts.reconnect !== false;
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.userClosed) return;
    const cfg = typeof this.opts.reconnect === 'object' ? this.opts.reconnect : {};
    const initial = cfg.initialDelayMs ?? 250;
    const max = cfg.maxDelayMs ?? 5_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.reconnectAttempt, 16));
    const delay = base / 2 + Math.random() * (base / 2); // equal jitter
    this.reconnectAttempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.userClosed) return;
      this.connect().catch((e: unknown) => {
        const err = e instanceof PosbridgeError ? e : new PosbridgeError('reconnect_failed', String(e));
        this.emit('error', err);
        if (!this.userClosed && !(err instanceof UnauthorizedError)) {
          this.setState('reconnecting');
          this.scheduleReconnect();
        }
      });
    }, delay);
  }

  // -------------------------------------------------------------- calls

  /** Any method by name, typed. Waits for the connection (connecting first if the client is idle). */
  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    if (this.userClosed && this.stateValue === 'closed') return Promise.reject(new ClientClosedError());
    if ((this.stateValue === 'ready' || this.stateValue === 'open') && this.ws && this.ws.readyState === OPEN)
      return this.rawCall(this.ws, method, params);
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const timeoutMs = this.opts.requestTimeoutMs ?? 30_000;
      const entry: Queued = {
        run: () => {
          clearTimeout(timer);
          if (!this.ws) return reject(new ConnectionLostError(method));
          this.rawCall(this.ws, method, params).then(resolve, reject);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = this.queued.indexOf(entry);
        if (i >= 0) this.queued.splice(i, 1);
        reject(new TimeoutError(`${method} (waiting for the connection)`, timeoutMs));
      }, timeoutMs);
      this.queued.push(entry);
      if (this.stateValue === 'idle' || (this.stateValue === 'closed' && !this.userClosed)) {
        this.connect().catch((e: unknown) => {
          const i = this.queued.indexOf(entry);
          if (i >= 0) {
            this.queued.splice(i, 1);
            entry.reject(e instanceof Error ? e : new PosbridgeError('connect_failed', String(e)));
          }
        });
      }
    });
  }

  private rawCall<M extends MethodName>(
    ws: WebSocketLike,
    method: M,
    params: ParamsOf<M>,
  ): Promise<ResultOf<M>> {
    return new Promise<ResultOf<M>>((resolve, reject) => {
      if (ws.readyState !== OPEN) return reject(new ConnectionLostError(method));
      const id = this.nextId++;
      const timeoutMs = this.opts.requestTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(method, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      } catch {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new ConnectionLostError(method));
      }
    });
  }

  private failAll(make: () => Error): void {
    for (const q of this.queued.splice(0)) q.reject(make());
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(make());
    }
  }

  // -------------------------------------------------------------- inbound

  private onFrame(ws: WebSocketLike, data: unknown): void {
    if (ws !== this.ws) return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(typeof data === 'string' ? data : String(data)) as Record<string, unknown>;
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (typeof msg['id'] === 'number' && ('result' in msg || 'error' in msg)) {
      const p = this.pending.get(msg['id']);
      if (!p) return;
      this.pending.delete(msg['id']);
      clearTimeout(p.timer);
      if ('error' in msg) {
        const err = msg['error'] as RpcErrorObject;
        p.reject(
          err?.data?.code === 'unauthorized'
            ? new UnauthorizedError(p.method, err.message)
            : new RpcError(p.method, err),
        );
      } else p.resolve(msg['result']);
      return;
    }
    if (msg['method'] === 'payment.event') this.onEvent(msg['params'] as PaymentEvent);
    else if (msg['method'] === 'terminal.event') this.emit('terminal', msg['params'] as TerminalInfo);
  }

  private onEvent(e: PaymentEvent): void {
    if (!e || typeof e.seq !== 'number') return;
    if (this.buffering) {
      this.buffer.push(e);
      return;
    }
    // A durable event beyond the next seq: something was missed (it should not happen): replay the gap.
    const last = this.lastSeqValue;
    if (e.durable && last !== undefined && e.seq > last + 1 && this.ws && this.stateValue === 'ready') {
      this.buffering = true;
      this.buffer.push(e);
      const ws = this.ws;
      this.catchUp(ws)
        .catch(() => undefined)
        .finally(() => {
          if (this.ws === ws) this.releaseBuffer();
        });
      return;
    }
    this.deliver(e, false);
  }

  private deliver(e: PaymentEvent, replayed: boolean): void {
    if (e.durable) {
      if (this.lastSeqValue !== undefined && e.seq <= this.lastSeqValue) return; // seen
      this.lastSeqValue = e.seq;
    }
    this.emit('payment', replayed ? { ...e, replayed: true } : e);
  }

  private emit<K extends keyof ClientEvents>(event: K, value: ClientEvents[K]): void {
    for (const l of [...this.listeners[event]]) {
      try {
        l(value);
      } catch {
        // a subscriber's bug must not break the client
      }
    }
  }

  private setState(s: ConnectionState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.emit('state', s);
  }

  // -------------------------------------------------------------- helpers

  /**
   * Resolves with the payment once it reaches a state `until` accepts (default: a final state, or
   * `partially_approved`, which waits for the CRM's decision). Survives reconnects (events are replayed).
   */
  waitForPayment(
    paymentId: string,
    options: { until?: (state: PaymentState) => boolean; timeoutMs?: number } = {},
  ): Promise<Payment> {
    const until = options.until ?? ((s: PaymentState) => FINAL.has(s) || s === 'partially_approved');
    const timeoutMs = options.timeoutMs ?? 120_000;
    return new Promise<Payment>((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, p?: Payment): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve(p!);
      };
      const fetch = (attempt = 0): void => {
        this.payment.get({ paymentId }).then(
          (p) => {
            if (until(p.state)) finish(undefined, p);
          },
          (e: unknown) => {
            if (e instanceof ConnectionLostError && attempt < 5) fetch(attempt + 1);
            else finish(e instanceof Error ? e : new PosbridgeError('failed', String(e)));
          },
        );
      };
      const off = this.on('payment', (e) => {
        if (e.paymentId === paymentId && e.durable && e.state && until(e.state)) fetch();
      });
      const timer = setTimeout(() => finish(new TimeoutError(`payment ${paymentId}`, timeoutMs)), timeoutMs);
      fetch();
    });
  }

  /**
   * The terminals the daemon knows (card readers over BLE, serial or TCP, and integrated ZVT terminals),
   * with `kind` and `ready`. Readers are configured on the daemon (`posbridge readers`); scan-to-pay
   * providers are not terminals: take them with `collectPayment({ method: 'alipay' | 'wechat' })`.
   */
  discoverTerminals(): Promise<DiscoveredTerminal[]> {
    return discoverTerminals(this);
  }

  /**
   * Connects a terminal (omitted: the default one) and waits until it is ready to take a payment.
   * Rejects with TerminalNotReadyError (`code` `terminal_not_ready`, with the terminal's `lastError`)
   * when it is not ready within `timeoutMs` (default 15 s), RpcError `unknown_terminal` for an unknown id.
   */
  connectTerminal(terminalId?: string, options?: ConnectTerminalOptions): Promise<TerminalInfo | DiscoveredTerminal> {
    return connectTerminal(this, terminalId, options);
  }

  /**
   * Starts a payment (card: payment.sale; `method: 'alipay' | 'wechat'`: payment.qr) and follows it to
   * its end, reporting every prompt, QR and state change to `onProgress`. Resolves with the payment and
   * its `outcome`: a final state (`completed`, `declined`, `cancelled`, `reversed`, `failed`,
   * `needs_attention`), `partially_approved` (decide, or pass `acceptPartial`), `unknown` (the
   * acquirer's answer was lost and posbridge is finding out: not a failure, never charge again) or
   * `pending` (still running when `timeoutMs` ran out). Declines resolve too: only errors reject: an
   * RpcError when the daemon refused to start it (`reader_busy`, `invalid_params`, ...), and
   * PaymentInterruptedError when the connection was lost for good (the payment's end is then unknown
   * here; repeating with the same `idempotencyKey` is safe).
   */
  collectPayment(options: CollectPaymentOptions): Promise<CollectedPayment> {
    return collectPayment(this, options);
  }

  /**
   * Cancels a payment and says what that did: `cancelled`, `queued` (applied once the acquirer's
   * answer is known: it never ends completed), `already_completed` (void or refund it instead),
   * `already_final` or `not_cancellable` (needs_attention). With `wait`, a queued cancel is followed to
   * the payment's end. Rejects with RpcError `unknown_payment` for an unknown id.
   */
  cancelPayment(paymentId: string, options?: CancelPaymentOptions): Promise<CancelResult> {
    return cancelPayment(this, paymentId, options);
  }

  readonly terminal = {
    list: () => this.call('terminal.list', {}),
    connect: (p: TerminalSelector = {}) => this.call('terminal.connect', p),
    disconnect: (p: TerminalSelector = {}) => this.call('terminal.disconnect', p),
    status: (p: TerminalSelector = {}) => this.call('terminal.status', p),
  };

  readonly payment = {
    sale: (p: SaleParams) => this.call('payment.sale', p),
    qr: (p: QrParams) => this.call('payment.qr', p),
    preauth: (p: PreauthParams) => this.call('payment.preauth', p),
    balance: (p: BalanceParams) => this.call('payment.balance', p),
    capture: (p: CaptureParams) => this.call('payment.capture', p),
    void: (p: VoidParams) => this.call('payment.void', p),
    refund: (p: RefundParams) => this.call('payment.refund', p),
    get: (p: GetPaymentParams) => this.call('payment.get', p),
    list: (p: ListPaymentsParams = {}) => this.call('payment.list', p),
    cancel: (p: PaymentRef) => this.call('payment.cancel', p),
    acceptPartial: (p: PaymentRef) => this.call('payment.acceptPartial', p),
    declinePartial: (p: PaymentRef) => this.call('payment.declinePartial', p),
    signature: (p: SignatureParams) => this.call('payment.signature', p),
  };

  readonly receipt = {
    get: (p: ReceiptGetParams) => this.call('receipt.get', p),
    print: (p: ReceiptPrintParams = {}) => this.call('receipt.print', p),
  };

  readonly settlement = {
    run: (p: SettlementRunParams = {}) => this.call('settlement.run', p),
    report: (p: SettlementReportParams = {}) => this.call('settlement.report', p),
  };

  readonly order = {
    get: (orderId: string) => this.call('order.get', { orderId }),
  };

  readonly events = {
    replay: (p: ReplayParams) => this.call('events.replay', p),
  };
}
