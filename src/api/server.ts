/**
 * The CRM WebSocket API: JSON-RPC 2.0 over `ws://127.0.0.1:<port>/ws`. The daemon owns the HTTP server
 * (bound to loopback) and hands `/ws` upgrades to `handleUpgrade`; this module binds nothing itself.
 *
 * Security, in order: the peer must be on loopback, the Host header a loopback name with the port the
 * connection came in on (DNS rebinding), the Origin (when present) on the allowlist; then the first
 * call must be `session.hello {token}` (or `session.pair {code}`), else `unauthorized`, and a socket
 * without hello is closed after the hello deadline. Every inbound message is validated against the
 * schemas in `schemas.ts`; nothing a client sends can crash the server.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type {
  Engine,
  EngineEvent,
  OperationRequest,
  OperationView,
  SettlementService,
} from '../engine/index.js';
import {
  CLOSE_HELLO_TIMEOUT,
  CLOSE_TOO_MANY_ATTEMPTS,
  CLOSE_UNAUTHORIZED,
  PROTOCOL_VERSION,
  RPC_INVALID_PARAMS,
  RPC_INVALID_REQUEST,
  RPC_METHOD_NOT_FOUND,
  RPC_PARSE_ERROR,
  type MethodName,
  type Methods,
  type PaymentEvent,
  type RpcErrorObject,
  type Submitted,
  type TerminalInfo,
} from './client/types.js';
import { ApiError, invalidParams, toApiError } from './errors.js';
import {
  alphaCurrency,
  durableEvent,
  numericCurrency,
  progressEvent,
  toOrderSummary,
  toPayment,
} from './mapping.js';
import { METHODS, NOTIFICATIONS, SCHEMA_ID, protocolSchema } from './schemas.js';

/** The scan-to-pay providers terminal.list names when they are configured. */
const QR_PROVIDERS: readonly { method: 'alipay' | 'wechat'; name: string; modes: ('qr' | 'code')[] }[] = [
  { method: 'alipay', name: 'Alipay', modes: ['qr', 'code'] },
  { method: 'wechat', name: 'WeChat Pay', modes: ['qr', 'code'] },
];

// ------------------------------------------------------------------ options and interfaces

/** What the API needs of the engine. */
export type ApiEngine = Pick<
  Engine,
  | 'config'
  | 'submit'
  | 'view'
  | 'viewByIdempotencyKey'
  | 'cancel'
  | 'decidePartial'
  | 'orderSummary'
  | 'eventsSince'
  | 'lastSeq'
  | 'recent'
  | 'on'
  | 'off'
  | 'receipts'
  | 'qrProvider'
>;

/** Batch close and reports (`settlement.run`, `settlement.report`): the daemon's SettlementService. */
export type SettlementBackend = Pick<SettlementService, 'start' | 'report'>;

export interface TokenCheck {
  ok: boolean;
  /** A paired token is bound to the Origin it was issued to; the token file's token has none. */
  origin?: string;
  /** A stable, non-secret id of the token (for listing and revocation). */
  tokenId?: string;
}

/** The daemon's token store (token file + paired tokens). */
export interface TokenVerifier {
  verify(token: string): TokenCheck | Promise<TokenCheck>;
}

/**
 * Card readers, as the daemon manages them. Methods throw `ApiError('unknown_terminal' |
 * 'reader_busy' | 'terminal_error', ...)` to choose the error the CRM sees; anything else becomes
 * `terminal_error`. `terminalId` undefined means the default reader.
 */
export interface TerminalsBackend {
  list(): Promise<TerminalInfo[]> | TerminalInfo[];
  status(terminalId?: string): Promise<TerminalInfo> | TerminalInfo;
  connect(terminalId?: string): Promise<TerminalInfo>;
  disconnect(terminalId?: string): Promise<TerminalInfo>;
  /** Optional: reader state changes, pushed to every session as `terminal.event`. Returns an unsubscribe. */
  subscribe?(listener: (t: TerminalInfo) => void): () => void;
}

export interface ApiServerOptions {
  engine: ApiEngine;
  auth: {
    tokens: TokenVerifier;
    /** Exact origins, e.g. "https://crm.example.com" (scheme://host[:port], no path). */
    allowedOrigins: readonly string[];
    /** Close a socket that has not said hello within this time. Default 10 s. */
    helloDeadlineMs?: number;
  };
  terminals: TerminalsBackend;
  /** Operator id for money-moving calls when neither the call nor session.hello gives one. */
  defaultOperatorId: string;
  /**
   * Exchange a one-time code for a token bound to `origin`; undefined = wrong code. It may throw an
   * ApiError to choose the answer (`pairing_rate_limited`, ...).
   */
  pair?: (code: string, origin: string | undefined) => Promise<string | undefined>;
  /** `settlement.run` / `settlement.report`; without it they answer `settlement_unavailable`. */
  settlement?: SettlementBackend;
  logger?: Logger;
  /** Largest inbound frame; a larger one closes that socket with 1009. Default 256 KiB. */
  maxFrameBytes?: number;
  /** Version reported in session.hello. */
  serverVersion?: string;
  /** Calls in flight per socket before `too_many_requests`. Default 64. */
  maxInFlight?: number;
  /** A socket whose unsent output exceeds this is closed with 1013 (its client reconnects and replays). Default 8 MiB. */
  maxBufferedBytes?: number;
  /** session.pair attempts per socket before it is closed (4429). Default 5. */
  maxPairAttempts?: number;
  /** Check every result and notification against its schema (tests). Default false. */
  validateOutput?: boolean;
  /** Path `attach()` routes. Default "/ws". */
  path?: string;
}

export interface SessionInfo {
  sessionId: string;
  origin: string | null;
  authorised: boolean;
  tokenId: string | null;
  operatorId: string;
  client: string | null;
  connectedAt: string;
}

export interface ApiStats {
  sessions: number;
  authorised: number;
  rejectedUpgrades: number;
  requests: number;
  errors: number;
  notificationsSent: number;
}

export interface ApiServer {
  /** Hand an HTTP upgrade for the WebSocket path to the API (checks Host and Origin first). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Convenience: route `upgrade` events of `server` on `path` (default /ws) here; other paths get 404. */
  attach(server: HttpServer): void;
  /** Close every session authorised with this token (the token itself, or its tokenId). */
  revokeToken(tokenOrId: string): number;
  sessions(): SessionInfo[];
  stats(): ApiStats;
  /** Close every socket (1001) and stop listening to the engine. */
  close(): Promise<void>;
}

// ------------------------------------------------------------------ internals

interface Session {
  id: string;
  ws: WebSocket;
  origin: string | undefined;
  authorised: boolean;
  tokenId: string | undefined;
  tokenHash: string | undefined;
  operatorId: string;
  client: string | undefined;
  inFlight: number;
  pairAttempts: number;
  helloTimer: ReturnType<typeof setTimeout> | undefined;
  connectedAt: Date;
  log: Logger | undefined;
}

type RpcId = string | number | null;
type Handler = (s: Session, params: never) => unknown;

const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::(\d{1,5}))?$/i;
const CARD_KINDS: ReadonlySet<OperationRequest['kind']> = new Set(['sale', 'preauth', 'balance']);

function isLoopbackAddress(a: string | undefined): boolean {
  if (!a) return false;
  return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}

/** Origins compare as scheme://host[:port], lower case, no trailing slash. */
function normaliseOrigin(o: string): string {
  return o.trim().toLowerCase().replace(/\/+$/, '');
}

/** Marks an error after whose answer the socket is closed. */
function closeAfter(e: ApiError, code: number, reason: string): ApiError {
  return Object.assign(e, { closeAfter: { code, reason } });
}

const hashToken = (t: string): string => createHash('sha256').update(t).digest('hex');

const STATUS_TEXT: Record<number, string> = {
  403: 'Forbidden',
  404: 'Not Found',
  503: 'Service Unavailable',
};

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = `${message}\n`;
  socket.once('finish', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Ajv's first error → `params.a.b[0]` and a message that names the field. */
function describeSchemaError(
  err: ErrorObject | undefined,
  method: MethodName,
): { path: string; message: string } {
  if (!err) return { path: 'params', message: 'params are not valid' };
  const segments = err.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const p = err.params as Record<string, unknown>;
  if (err.keyword === 'required') segments.push(String(p['missingProperty']));
  if (err.keyword === 'additionalProperties') segments.push(String(p['additionalProperty']));
  const path = `params${segments.map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('')}`;
  const last = segments[segments.length - 1];
  let message: string;
  if (err.keyword === 'required') message = `${path} is required`;
  else if (err.keyword === 'additionalProperties') message = `${path} is not a parameter of ${method}`;
  else if (last === 'amount' && ['type', 'minimum', 'maximum'].includes(err.keyword))
    message = `${path} must be a positive integer of minor units (fen), at most 12 digits`;
  else if (err.keyword === 'minProperties' || err.keyword === 'maxProperties')
    message = `${path}: ${String((METHODS[method].params as { description?: string }).description ?? err.message)}`;
  else if (err.keyword === 'pattern' && last === 'currency')
    message = `${path} must be an ISO 4217 code such as "CNY" or "156"`;
  else if (err.keyword === 'pattern') message = `${path} contains characters that are not allowed`;
  else message = `${path} ${err.message ?? 'is not valid'}`;
  return { path, message };
}

// ------------------------------------------------------------------ the server

export function createApiServer(options: ApiServerOptions): ApiServer {
  const engine = options.engine;
  const terminals = options.terminals;
  const log = options.logger?.child({ component: 'api' });
  const maxFrameBytes = options.maxFrameBytes ?? 256 * 1024;
  const helloDeadlineMs = options.auth.helloDeadlineMs ?? 10_000;
  const maxInFlight = options.maxInFlight ?? 64;
  const maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  const maxPairAttempts = options.maxPairAttempts ?? 5;
  const serverVersion = options.serverVersion ?? '0.0.0';
  const wsPath = options.path ?? '/ws';
  const allowedOrigins = new Set(options.auth.allowedOrigins.map(normaliseOrigin));

  const ajv = new Ajv2020({ strict: true, allErrors: false, validateFormats: false });
  ajv.addSchema(protocolSchema());
  const compile = (name: string): ValidateFunction => ajv.compile({ $ref: `${SCHEMA_ID}#/$defs/${name}` });
  const paramsValidators = new Map<string, ValidateFunction>();
  const resultValidators = new Map<string, ValidateFunction>();
  for (const name of Object.keys(METHODS)) {
    paramsValidators.set(name, compile(`${name}.params`));
    if (options.validateOutput) resultValidators.set(name, compile(`${name}.result`));
  }
  const notificationValidators = new Map<string, ValidateFunction>();
  if (options.validateOutput)
    for (const name of Object.keys(NOTIFICATIONS))
      notificationValidators.set(name, compile(`${name}.params`));

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
  });
  const sessions = new Set<Session>();
  const stats = { rejectedUpgrades: 0, requests: 0, errors: 0, notificationsSent: 0 };
  let closing = false;

  // -------------------------------------------------------------- sending

  function sendText(s: Session, text: string): void {
    const ws = s.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > maxBufferedBytes) {
      // Never drop an event silently: close, and the client replays from its last seq.
      s.log?.warn({ buffered: ws.bufferedAmount }, 'client does not keep up; closing (1013)');
      ws.close(1013, 'too slow: reconnect and replay');
      return;
    }
    ws.send(text);
  }

  function sendError(s: Session, id: RpcId, error: RpcErrorObject): void {
    stats.errors++;
    sendText(s, JSON.stringify({ jsonrpc: '2.0', id, error }));
  }

  function protocolError(
    s: Session,
    id: RpcId,
    rpc: number,
    code: string,
    message: string,
    path?: string,
  ): void {
    sendError(s, id, { code: rpc, message, data: { code, retryable: false, ...(path ? { path } : {}) } });
  }

  // -------------------------------------------------------------- events

  const queue: string[] = [];
  let flushScheduled = false;

  function notificationText(method: string, params: unknown): string | undefined {
    const v = notificationValidators.get(method);
    if (v && !v(params)) {
      log?.error({ method, errors: v.errors }, 'notification fails its schema (not sent)');
      return undefined;
    }
    return JSON.stringify({ jsonrpc: '2.0', method, params });
  }

  function flush(): void {
    flushScheduled = false;
    const texts = queue.splice(0);
    for (const s of sessions) {
      if (!s.authorised) continue;
      for (const t of texts) {
        sendText(s, t);
        stats.notificationsSent++;
      }
    }
  }

  function broadcast(method: string, params: unknown): void {
    const text = notificationText(method, params);
    if (text === undefined) return;
    queue.push(text);
    if (!flushScheduled) {
      flushScheduled = true;
      // After the engine's current step: the payment path never waits for sockets.
      setImmediate(flush);
    }
  }

  /** Live durable events are re-read from the journal, so live and replayed events are identical. */
  function journalVersion(
    e: Extract<EngineEvent, { kind: 'durable' }>,
  ): Extract<EngineEvent, { kind: 'durable' }> {
    const [row] = engine.eventsSince(e.seq - 1, 1);
    return row && row.seq === e.seq ? row : e;
  }

  const onEngineEvent = (e: EngineEvent): void => {
    // Never throw into the engine.
    try {
      const params: PaymentEvent = e.kind === 'durable' ? durableEvent(journalVersion(e)) : progressEvent(e);
      broadcast('payment.event', params);
    } catch (err) {
      log?.error({ err }, 'could not forward an engine event');
    }
  };
  engine.on('event', onEngineEvent);

  const unsubscribeTerminals = terminals.subscribe?.((t) => {
    try {
      broadcast('terminal.event', terminalView(t));
    } catch (err) {
      log?.error({ err }, 'could not forward a terminal event');
    }
  });

  // -------------------------------------------------------------- handlers

  function terminalView(t: TerminalInfo): TerminalInfo {
    return {
      terminalId: String(t.terminalId),
      state: t.state,
      ...(t.transport !== undefined ? { transport: t.transport } : {}),
      ...(t.name !== undefined ? { name: t.name } : {}),
      ...(t.model !== undefined ? { model: t.model } : {}),
      ...(t.serialNumber !== undefined ? { serialNumber: t.serialNumber } : {}),
      ...(t.firmware !== undefined ? { firmware: t.firmware } : {}),
      ...(t.batteryPercent !== undefined ? { batteryPercent: t.batteryPercent } : {}),
      ...(t.lastError !== undefined ? { lastError: t.lastError } : {}),
      ...(t.kind !== undefined ? { kind: t.kind } : {}),
      ...(t.capabilities !== undefined ? { capabilities: [...t.capabilities] } : {}),
    };
  }

  async function viaTerminals<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ApiError) throw e;
      log?.warn({ err: e, what }, 'terminal backend failed');
      throw new ApiError('terminal_error', `the card reader could not be reached (${what})`);
    }
  }

  async function ensureReader(terminalId: string | undefined): Promise<void> {
    const t = await viaTerminals('status', () => terminals.status(terminalId));
    if (t.state === 'disconnected' || t.state === 'connecting')
      throw new ApiError('reader_not_connected', `the card reader is ${t.state}`, {
        ...(terminalId !== undefined ? { path: 'params.terminalId' } : {}),
      });
  }

  function terminalCurrency(currency: string): string {
    const numeric = numericCurrency(currency);
    const ours = engine.config.currency;
    if (numeric === undefined) throw invalidParams('params.currency', `unknown currency ${currency}`);
    if (numeric !== ours)
      throw invalidParams('params.currency', `this terminal takes ${alphaCurrency(ours)} (${ours}) only`);
    return numeric;
  }

  async function submit(
    s: Session,
    req: Omit<OperationRequest, 'operatorId'> & { operatorId?: string | undefined },
    terminalId: string | undefined,
  ): Promise<Submitted> {
    const existing = engine.viewByIdempotencyKey(req.idempotencyKey);
    const scanToPay = req.method !== undefined && req.method !== 'card';
    const needsCard = !scanToPay && (CARD_KINDS.has(req.kind) || req.cardPresent === true);
    if (!existing && needsCard) await ensureReader(terminalId);
    const full: OperationRequest = { ...req, operatorId: req.operatorId ?? s.operatorId };
    for (const k of Object.keys(full) as (keyof OperationRequest)[])
      if (full[k] === undefined) delete full[k];
    const v = engine.submit(full);
    s.log?.info({ paymentId: v.id, kind: v.kind, existing: existing !== undefined }, 'operation submitted');
    return { paymentId: v.id, state: v.state, existing: existing !== undefined };
  }

  async function hello(
    s: Session,
    p: Methods['session.hello']['params'],
  ): Promise<Methods['session.hello']['result']> {
    let check: TokenCheck;
    try {
      check = await options.auth.tokens.verify(p.token);
    } catch (e) {
      log?.error({ err: e }, 'token store failed');
      check = { ok: false };
    }
    const originOk =
      check.origin === undefined || (s.origin !== undefined && normaliseOrigin(check.origin) === s.origin);
    if (!check.ok || !originOk) {
      s.authorised = false;
      s.log?.warn({ reason: check.ok ? 'token bound to another origin' : 'bad token' }, 'hello refused');
      throw closeAfter(
        new ApiError('unauthorized', 'token not accepted'),
        CLOSE_UNAUTHORIZED,
        'unauthorized',
      );
    }
    // Synchronous from here: events committed after lastSeq is read reach this session.
    if (s.helloTimer) clearTimeout(s.helloTimer);
    s.helloTimer = undefined;
    s.authorised = true;
    s.tokenId = check.tokenId;
    s.tokenHash = hashToken(p.token);
    if (p.operatorId !== undefined) s.operatorId = p.operatorId;
    if (p.client !== undefined) s.client = p.client;
    s.log?.info({ tokenId: check.tokenId, client: s.client }, 'session authorised');
    return {
      sessionId: s.id,
      protocolVersion: PROTOCOL_VERSION,
      serverVersion,
      lastSeq: engine.lastSeq(),
      operatorId: s.operatorId,
      currency: alphaCurrency(engine.config.currency),
    };
  }

  async function pair(
    s: Session,
    p: Methods['session.pair']['params'],
  ): Promise<Methods['session.pair']['result']> {
    if (!options.pair) throw new ApiError('pairing_unavailable', 'this daemon does not pair pages');
    s.pairAttempts++;
    if (s.pairAttempts > maxPairAttempts)
      throw closeAfter(
        new ApiError('pairing_code_invalid', 'too many pairing attempts on this connection'),
        CLOSE_TOO_MANY_ATTEMPTS,
        'too many pairing attempts',
      );
    const token = await options.pair(p.code, s.origin);
    if (!token) throw new ApiError('pairing_code_invalid', 'wrong, expired or used pairing code');
    s.log?.info('paired');
    return { token };
  }

  const view = (id: string): OperationView => engine.view(id);

  function settlementBackend(): SettlementBackend {
    if (!options.settlement)
      throw new ApiError('settlement_unavailable', 'this daemon does not settle batches');
    return options.settlement;
  }

  const handlers: {
    [M in MethodName]: (
      s: Session,
      p: Methods[M]['params'],
    ) => Promise<Methods[M]['result']> | Methods[M]['result'];
  } = {
    'session.hello': hello,
    'session.pair': pair,
    'terminal.list': async () => ({
      terminals: (await viaTerminals('list', () => terminals.list())).map(terminalView),
      qrProviders: QR_PROVIDERS.filter((p) => engine.qrProvider(p.method)),
    }),
    'terminal.connect': async (_s, p) =>
      terminalView(await viaTerminals('connect', () => terminals.connect(p.terminalId))),
    'terminal.disconnect': async (_s, p) =>
      terminalView(await viaTerminals('disconnect', () => terminals.disconnect(p.terminalId))),
    'terminal.status': async (_s, p) =>
      terminalView(await viaTerminals('status', () => terminals.status(p.terminalId))),
    'payment.sale': (s, p) =>
      submit(
        s,
        {
          kind: 'sale',
          idempotencyKey: p.idempotencyKey,
          orderId: p.orderId,
          amount: p.amount,
          currency: terminalCurrency(p.currency),
          operatorId: p.operatorId,
        },
        p.terminalId,
      ),
    'payment.qr': (s, p) =>
      submit(
        s,
        {
          kind: 'sale',
          idempotencyKey: p.idempotencyKey,
          orderId: p.orderId,
          amount: p.amount,
          currency: terminalCurrency(p.currency),
          operatorId: p.operatorId,
          method: p.method,
          ...(p.authCode !== undefined ? { authCode: p.authCode } : {}),
        },
        undefined,
      ),
    'payment.preauth': (s, p) =>
      submit(
        s,
        {
          kind: 'preauth',
          idempotencyKey: p.idempotencyKey,
          orderId: p.orderId,
          amount: p.amount,
          currency: terminalCurrency(p.currency),
          operatorId: p.operatorId,
        },
        p.terminalId,
      ),
    'payment.balance': (s, p) =>
      submit(
        s,
        { kind: 'balance', idempotencyKey: p.idempotencyKey, orderId: p.orderId, operatorId: p.operatorId },
        p.terminalId,
      ),
    'payment.capture': (s, p) =>
      submit(
        s,
        {
          kind: 'capture',
          idempotencyKey: p.idempotencyKey,
          originalId: p.paymentId,
          amount: p.amount,
          operatorId: p.operatorId,
        },
        undefined,
      ),
    'payment.void': (s, p) => {
      const original = view(p.paymentId);
      return submit(
        s,
        {
          kind: original.kind === 'preauth' ? 'preauth_void' : 'void',
          idempotencyKey: p.idempotencyKey,
          originalId: p.paymentId,
          operatorId: p.operatorId,
          approvalCode: p.approvalCode,
          cardPresent: p.cardPresent,
        },
        p.terminalId,
      );
    },
    'payment.refund': (s, p) =>
      submit(
        s,
        {
          kind: 'refund',
          idempotencyKey: p.idempotencyKey,
          originalId: p.paymentId,
          amount: p.amount,
          operatorId: p.operatorId,
          approvalCode: p.approvalCode,
          cardPresent: p.cardPresent,
        },
        p.terminalId,
      ),
    'payment.get': (_s, p) => {
      if ('paymentId' in p) return toPayment(view(p.paymentId));
      const v = engine.viewByIdempotencyKey(p.idempotencyKey);
      if (!v)
        throw new ApiError('unknown_payment', 'no payment with this idempotency key', {
          path: 'params.idempotencyKey',
        });
      return toPayment(v);
    },
    'payment.list': (_s, p) => ({ payments: engine.recent(p.limit ?? 50).map(toPayment) }),
    'payment.cancel': async (s, p) =>
      toPayment(await engine.cancel(p.paymentId, p.operatorId ?? s.operatorId)),
    'payment.acceptPartial': (s, p) => {
      const v = engine.decidePartial(p.paymentId, true);
      s.log?.info({ paymentId: v.id, operatorId: p.operatorId ?? s.operatorId }, 'partial approval accepted');
      return toPayment(v);
    },
    'payment.declinePartial': (s, p) => {
      const v = engine.decidePartial(p.paymentId, false);
      s.log?.info({ paymentId: v.id, operatorId: p.operatorId ?? s.operatorId }, 'partial approval declined');
      return toPayment(v);
    },
    'order.get': (_s, p) => toOrderSummary(engine.orderSummary(p.orderId)),
    'receipt.get': (_s, p) =>
      engine.receipts.get({
        paymentId: p.paymentId,
        copy: p.copy,
        format: p.format,
        ...(p.width !== undefined ? { width: p.width } : {}),
      }),
    'receipt.print': (s, p) =>
      engine.receipts.print({
        ...(p.paymentId !== undefined ? { paymentId: p.paymentId } : {}),
        ...(p.copy !== undefined ? { copy: p.copy } : {}),
        operatorId: p.operatorId ?? s.operatorId,
      }),
    'payment.signature': (s, p) => {
      if ((p.svg === undefined) === (p.png === undefined))
        throw invalidParams('params', 'give exactly one of svg, png');
      return engine.receipts.attachSignature({
        paymentId: p.paymentId,
        svg: p.svg,
        png: p.png,
        operatorId: p.operatorId ?? s.operatorId,
      });
    },
    'settlement.run': async (s, p) => {
      const { done, ...accepted } = settlementBackend().start({ operatorId: p.operatorId ?? s.operatorId });
      s.log?.info({ batch: accepted.batch, resumed: accepted.resumed }, 'settlement started');
      if (!p.wait) {
        done.then(
          (r) =>
            log?.info(
              { batch: r.batch, outcome: r.outcome, stoppedReason: r.stoppedReason },
              'settlement ended',
            ),
          (e: unknown) =>
            log?.warn({ batch: accepted.batch, code: (e as { code?: string }).code }, 'settlement stopped'),
        );
        return accepted;
      }
      const { outcome, stoppedReason, boundary: _b, messages: _m, ...settlement } = await done;
      return { ...accepted, outcome, ...(stoppedReason ? { stoppedReason } : {}), settlement };
    },
    'settlement.report': (_s, p) =>
      settlementBackend().report({
        ...(p.batch !== undefined ? { batch: p.batch } : {}),
        ...(p.runId !== undefined ? { runId: p.runId } : {}),
        ...(p.format !== undefined ? { format: p.format } : {}),
      }) as unknown as Methods['settlement.report']['result'],
    'events.replay': (_s, p) => {
      const limit = p.limit ?? 1000;
      const lastSeq = engine.lastSeq();
      const rows = engine.eventsSince(p.sinceSeq, limit);
      const last = rows[rows.length - 1];
      return {
        events: rows.map(durableEvent),
        lastSeq,
        more: rows.length === limit && last !== undefined && last.seq < lastSeq,
      };
    },
  };

  // -------------------------------------------------------------- dispatch

  function onMessage(s: Session, data: RawData, isBinary: boolean): void {
    stats.requests++;
    if (isBinary) {
      protocolError(
        s,
        null,
        RPC_INVALID_REQUEST,
        'invalid_request',
        'binary frames are not accepted: send JSON text',
      );
      return;
    }
    const text = Buffer.isBuffer(data)
      ? data.toString('utf8')
      : Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data).toString('utf8');
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      protocolError(s, null, RPC_PARSE_ERROR, 'parse_error', 'parse error: the frame is not valid JSON');
      return;
    }
    if (Array.isArray(msg)) {
      protocolError(
        s,
        null,
        RPC_INVALID_REQUEST,
        'invalid_request',
        'batch requests are not supported: send one request per frame',
      );
      return;
    }
    if (msg === null || typeof msg !== 'object') {
      protocolError(s, null, RPC_INVALID_REQUEST, 'invalid_request', 'a request must be a JSON object');
      return;
    }
    const m = msg as Record<string, unknown>;
    const rawId = m['id'];
    const idOk =
      (typeof rawId === 'string' && rawId.length <= 128) ||
      (typeof rawId === 'number' && Number.isFinite(rawId));
    const id: RpcId = idOk ? (rawId as string | number) : null;
    if (m['jsonrpc'] !== '2.0') {
      protocolError(s, id, RPC_INVALID_REQUEST, 'invalid_request', 'jsonrpc must be "2.0"', 'jsonrpc');
      return;
    }
    if (!idOk) {
      protocolError(
        s,
        null,
        RPC_INVALID_REQUEST,
        'invalid_request',
        rawId === undefined
          ? 'id is required: notifications are not accepted'
          : 'id must be a string (at most 128 characters) or a number',
        'id',
      );
      return;
    }
    const method = m['method'];
    if (typeof method !== 'string') {
      protocolError(s, id, RPC_INVALID_REQUEST, 'invalid_request', 'method must be a string', 'method');
      return;
    }
    if (!Object.prototype.hasOwnProperty.call(METHODS, method)) {
      protocolError(
        s,
        id,
        RPC_METHOD_NOT_FOUND,
        'method_not_found',
        `unknown method ${method.slice(0, 64)}`,
        'method',
      );
      return;
    }
    const name = method as MethodName;
    const spec = METHODS[name];
    if (!s.authorised && !spec.beforeHello) {
      sendError(s, id, new ApiError('unauthorized', 'call session.hello first').toRpc());
      return;
    }
    const params = m['params'] === undefined ? {} : m['params'];
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      protocolError(
        s,
        id,
        RPC_INVALID_PARAMS,
        'invalid_params',
        'params must be an object (by name)',
        'params',
      );
      return;
    }
    const validate = paramsValidators.get(name)!;
    if (!validate(params)) {
      const { path, message } = describeSchemaError(validate.errors?.[0], name);
      protocolError(s, id, RPC_INVALID_PARAMS, 'invalid_params', message, path);
      return;
    }
    if (s.inFlight >= maxInFlight) {
      sendError(
        s,
        id,
        new ApiError('too_many_requests', `at most ${maxInFlight} calls in flight per connection`).toRpc(),
      );
      return;
    }
    s.inFlight++;
    const started = performance.now();
    const handler = handlers[name] as Handler;
    Promise.resolve()
      .then(() => handler(s, params as never))
      .then(
        (result) => {
          const check = resultValidators.get(name);
          if (check && !check(result)) {
            log?.error({ method: name, errors: check.errors }, 'result fails its schema');
            sendError(
              s,
              id,
              new ApiError(
                'internal_error',
                `result of ${name} fails its schema: ${ajv.errorsText(check.errors)}`,
              ).toRpc(),
            );
            return;
          }
          sendText(s, JSON.stringify({ jsonrpc: '2.0', id, result }));
          s.log?.debug({ method: name, ms: Math.round(performance.now() - started) }, 'call');
        },
        (e: unknown) => {
          const { error, unexpected } = toApiError(e);
          if (unexpected) log?.error({ err: e, method: name }, 'call failed unexpectedly');
          else s.log?.info({ method: name, code: error.code }, 'call refused');
          sendError(s, id, error.toRpc());
          const close = (e as { closeAfter?: { code: number; reason: string } }).closeAfter;
          if (close) s.ws.close(close.code, close.reason);
        },
      )
      .catch((e: unknown) => log?.error({ err: e }, 'could not answer a call'))
      .finally(() => {
        s.inFlight--;
      });
  }

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    const origin = typeof req.headers.origin === 'string' ? normaliseOrigin(req.headers.origin) : undefined;
    const id = randomUUID();
    const s: Session = {
      id,
      ws,
      origin,
      authorised: false,
      tokenId: undefined,
      tokenHash: undefined,
      operatorId: options.defaultOperatorId,
      client: undefined,
      inFlight: 0,
      pairAttempts: 0,
      helloTimer: undefined,
      connectedAt: new Date(),
      log: log?.child({ sessionId: id }),
    };
    sessions.add(s);
    s.log?.info({ origin: origin ?? null }, 'connected');
    s.helloTimer = setTimeout(() => {
      s.helloTimer = undefined;
      if (!s.authorised && ws.readyState === WebSocket.OPEN) {
        s.log?.info('no hello within the deadline; closing');
        ws.close(CLOSE_HELLO_TIMEOUT, 'no session.hello within the deadline');
      }
    }, helloDeadlineMs);
    s.helloTimer.unref?.();
    ws.on('message', (data, isBinary) => {
      try {
        onMessage(s, data, isBinary);
      } catch (e) {
        log?.error({ err: e }, 'message handling failed');
      }
    });
    ws.on('error', (e) => {
      // ws closes the socket itself (1009 too big, 1002 protocol error, 1007 bad UTF-8).
      s.log?.info({ err: { message: e.message, code: (e as { code?: string }).code } }, 'socket error');
    });
    ws.on('close', (code) => {
      if (s.helloTimer) clearTimeout(s.helloTimer);
      sessions.delete(s);
      s.log?.info({ code }, 'disconnected');
    });
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    try {
      socket.on('error', () => socket.destroy());
      const refuse = (status: number, why: string): void => {
        stats.rejectedUpgrades++;
        log?.warn(
          { why, origin: req.headers.origin ?? null, host: req.headers.host ?? null },
          'upgrade refused',
        );
        refuseUpgrade(socket, status, why);
      };
      if (closing) return refuse(503, 'shutting down');
      const local = req.socket;
      if (!isLoopbackAddress(local.remoteAddress)) return refuse(403, 'loopback clients only');
      const host = req.headers.host;
      const hm = host ? LOOPBACK_HOST.exec(host) : null;
      const port = hm ? (hm[1] ? Number(hm[1]) : 80) : undefined;
      if (!hm || port !== local.localPort)
        return refuse(403, 'Host must be 127.0.0.1, localhost or [::1] with this port');
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedOrigins.has(normaliseOrigin(origin)))
        return refuse(403, 'Origin not allowed');
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
    } catch (e) {
      log?.error({ err: e }, 'upgrade failed');
      socket.destroy();
    }
  }

  return {
    handleUpgrade,
    attach(server: HttpServer): void {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const path = (req.url ?? '').split('?')[0];
        if (path === wsPath) handleUpgrade(req, socket, head);
        else refuseUpgrade(socket, 404, 'not found');
      });
    },
    revokeToken(tokenOrId: string): number {
      const hash = hashToken(tokenOrId);
      let n = 0;
      for (const s of sessions) {
        if (s.authorised && (s.tokenId === tokenOrId || s.tokenHash === hash)) {
          s.authorised = false;
          s.ws.close(CLOSE_UNAUTHORIZED, 'token revoked');
          n++;
        }
      }
      return n;
    },
    sessions(): SessionInfo[] {
      return [...sessions].map((s) => ({
        sessionId: s.id,
        origin: s.origin ?? null,
        authorised: s.authorised,
        tokenId: s.tokenId ?? null,
        operatorId: s.operatorId,
        client: s.client ?? null,
        connectedAt: s.connectedAt.toISOString(),
      }));
    },
    stats(): ApiStats {
      let authorised = 0;
      for (const s of sessions) if (s.authorised) authorised++;
      return { sessions: sessions.size, authorised, ...stats };
    },
    async close(): Promise<void> {
      closing = true;
      engine.off('event', onEngineEvent);
      unsubscribeTerminals?.();
      if (flushScheduled) flush();
      const open = [...sessions];
      await Promise.all(
        open.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.helloTimer) clearTimeout(s.helloTimer);
              if (s.ws.readyState === WebSocket.CLOSED) return resolve();
              const t = setTimeout(() => {
                s.ws.terminate();
                resolve();
              }, 1000);
              t.unref?.();
              s.ws.once('close', () => {
                clearTimeout(t);
                resolve();
              });
              s.ws.close(1001, 'server shutting down');
            }),
        ),
      );
      sessions.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
