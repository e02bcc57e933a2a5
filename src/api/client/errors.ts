import type { ErrorData, RpcErrorObject } from './types.js';

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
