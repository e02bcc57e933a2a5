import type { ErrorData, PaymentState, RpcErrorObject, TerminalInfo } from './types.js';

/** Base class of every error the client throws or emits. */
export class PosbridgeError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, retryable = false) {
    super(message);
    this.name = 'PosbridgeError';
    this.code = code;
    this.retryable = retryable;
  }
}

/**
 * Nothing answered on the daemon's address: it is not running, or is on another port. In a browser the
 * same symptom can also mean the page's Origin is not on the daemon's allowlist (the handshake is refused
 * with 403 and browsers do not tell pages why), or a browser extension or policy blocked the request.
 */
export class DaemonNotRunningError extends PosbridgeError {
  constructor(message = 'posbridge is not running (nothing answered on its address)') {
    super('daemon_not_running', message, true);
    this.name = 'DaemonNotRunningError';
  }
}

/**
 * The browser refused to let this page reach the loopback address (Chrome's Local Network Access:
 * the user blocked the prompt, or policy forbids it). Detected with the Permissions API
 * (`loopback-network`, or `local-network-access` in Chrome 142-146) after a connection fails before
 * opening. The user must allow it in the site settings (or the fleet policy
 * `LocalNetworkAccessAllowedForUrls` must list the CRM's origin).
 */
export class PermissionDeniedError extends PosbridgeError {
  readonly permission: string;
  constructor(permission: string) {
    super(
      'permission_denied',
      `the browser blocks this page from reaching posbridge on this computer (permission "${permission}" is denied): allow local network access for this site`,
      false,
    );
    this.name = 'PermissionDeniedError';
    this.permission = permission;
  }
}

/**
 * The daemon refused the WebSocket handshake (HTTP status): the Origin is not on its allowlist, or the
 * Host header is not loopback. Only Node (or another client that can see the status) reports this; a
 * browser sees a failed connection (DaemonNotRunningError).
 */
export class HandshakeRefusedError extends PosbridgeError {
  readonly status: number;
  constructor(status: number) {
    super(
      'handshake_refused',
      `posbridge refused the connection (HTTP ${status}): is this Origin on its allowlist?`,
    );
    this.name = 'HandshakeRefusedError';
    this.status = status;
  }
}

/** A JSON-RPC error answer: `code` is the stable `data.code` string, `rpcCode` the JSON-RPC integer. */
export class RpcError extends PosbridgeError {
  readonly rpcCode: number;
  readonly path: string | undefined;
  readonly data: ErrorData | undefined;
  readonly method: string;
  constructor(method: string, error: RpcErrorObject) {
    super(error.data?.code ?? String(error.code), error.message, error.data?.retryable ?? false);
    this.name = 'RpcError';
    this.rpcCode = error.code;
    this.path = error.data?.path;
    this.data = error.data;
    this.method = method;
  }
}

/** The token was refused (wrong, revoked, or bound to another Origin), or a call came before hello. */
export class UnauthorizedError extends RpcError {
  constructor(method: string, message = 'posbridge refused the token') {
    super(method, { code: -32000, message, data: { code: 'unauthorized', retryable: false } });
    this.name = 'UnauthorizedError';
  }
}

/**
 * The connection dropped while the call was in flight: its outcome is unknown. Calls that move money
 * carry an idempotency key, so repeating them with the same key is safe (it never charges twice).
 */
export class ConnectionLostError extends PosbridgeError {
  constructor(method: string) {
    super(
      'connection_lost',
      `the connection to posbridge dropped during ${method}; repeat it (same idempotencyKey) once reconnected`,
      true,
    );
    this.name = 'ConnectionLostError';
  }
}

export class TimeoutError extends PosbridgeError {
  constructor(what: string, ms: number) {
    super('timeout', `${what} did not finish within ${ms} ms`, true);
    this.name = 'TimeoutError';
  }
}

export class ClientClosedError extends PosbridgeError {
  constructor() {
    super('client_closed', 'the client was closed');
    this.name = 'ClientClosedError';
  }
}

/**
 * `pb.on(name, ...)` / `pb.off(name, ...)` with a name the client does not emit. `validEvents` lists the
 * names it does (`payment`, `terminal`, `state`, `error`).
 */
export class UnknownEventError extends PosbridgeError {
  readonly event: string;
  readonly validEvents: readonly string[];
  constructor(event: unknown, validEvents: readonly string[]) {
    const name = typeof event === 'string' ? event : String(event);
    const guess = validEvents.find(
      (v) => name === `${v}.event` || name === `${v}s` || name.startsWith(`${v}.`),
    );
    super(
      'unknown_event',
      `unknown event ${JSON.stringify(name)}: the client emits ${validEvents.map((v) => `"${v}"`).join(', ')}` +
        (guess ? ` (did you mean "${guess}"?)` : ''),
    );
    this.name = 'UnknownEventError';
    this.event = name;
    this.validEvents = [...validEvents];
  }
}

/** An argument the client refuses before sending anything (a listener that is not a function, ...). */
export class InvalidArgumentError extends PosbridgeError {
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('invalid_argument', message);
    this.name = 'InvalidArgumentError';
    this.argument = argument;
  }
}

/**
 * `connectTerminal`: the daemon accepted the connect but the terminal did not become ready in time
 * (switched off, out of range, cable unplugged). `terminal` is its last known status (with `lastError`).
 */
export class TerminalNotReadyError extends PosbridgeError {
  readonly terminal: TerminalInfo;
  constructor(terminal: TerminalInfo, ms: number) {
    super(
      'terminal_not_ready',
      `terminal ${terminal.terminalId} is ${terminal.state} after ${ms} ms` +
        (terminal.lastError ? ` (${terminal.lastError})` : '') +
        ': is it switched on, charged and in range (or plugged in)?',
      true,
    );
    this.name = 'TerminalNotReadyError';
    this.terminal = terminal;
  }
}

/**
 * `collectPayment` lost its connection to posbridge and could not get it back (the client was closed,
 * the token was revoked, or the daemon stayed unreachable): this page no longer knows how the payment
 * ends. It is NOT a statement that the payment failed: the daemon keeps following it. `paymentId` is
 * set when the payment had been started (`undefined`: the start itself may or may not have reached the
 * daemon); calling `collectPayment` again with the same `idempotencyKey` is safe: it never charges twice,
 * it picks up the same payment. `cause` is the transport error.
 */
export class PaymentInterruptedError extends PosbridgeError {
  readonly paymentId: string | undefined;
  readonly idempotencyKey: string;
  readonly lastState: PaymentState | undefined;
  override readonly cause: unknown;
  constructor(args: {
    paymentId: string | undefined;
    idempotencyKey: string;
    lastState: PaymentState | undefined;
    cause: unknown;
  }) {
    const why = args.cause instanceof Error ? args.cause.message : String(args.cause);
    super(
      'payment_interrupted',
      (args.paymentId
        ? `lost track of payment ${args.paymentId} (last seen ${args.lastState ?? 'starting'}): `
        : 'the payment could not be confirmed as started: ') +
        `${why}. Its outcome is not known here, which does not mean it failed: ` +
        'repeat collectPayment with the same idempotencyKey (it never charges twice) or ask payment.get',
      true,
    );
    this.name = 'PaymentInterruptedError';
    this.paymentId = args.paymentId;
    this.idempotencyKey = args.idempotencyKey;
    this.lastState = args.lastState;
    this.cause = args.cause;
  }
}
