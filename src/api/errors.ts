import { EngineError, SettlementError, type EngineErrorCode } from '../engine/index.js';
import { RPC_APPLICATION_ERROR, type ApiErrorCode, type RpcErrorObject } from './client/types.js';
import { ERROR_CODES } from './schemas.js';

/**
 * An error the API sends to the client as it is. Backends the daemon plugs in (terminals, pairing)
 * throw it to choose the code: `throw new ApiError('reader_not_connected', 'reader is off')`.
 * Messages must never contain card data or secrets.
 */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly rpcCode: number;
  readonly retryable: boolean;
  readonly path: string | undefined;
  constructor(code: ApiErrorCode, message: string, options: { path?: string; retryable?: boolean } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.rpcCode = ERROR_CODES[code]?.rpc ?? RPC_APPLICATION_ERROR;
    this.retryable = options.retryable ?? ERROR_CODES[code]?.retryable ?? false;
    this.path = options.path;
  }

  toRpc(): RpcErrorObject {
    return {
      code: this.rpcCode,
      message: this.message,
      data: {
        code: this.code,
        retryable: this.retryable,
        ...(this.path !== undefined ? { path: this.path } : {}),
      },
    };
  }
}

const ENGINE_CODES: Record<EngineErrorCode, ApiErrorCode> = {
  invalid_request: 'invalid_params',
  idempotency_conflict: 'idempotency_conflict',
  reader_busy: 'reader_busy',
  not_found: 'unknown_payment',
  wrong_state: 'wrong_state',
  already_completed: 'already_completed',
  not_supported_by_terminal: 'not_supported_by_terminal',
  amount_exceeds_original: 'amount_exceeds_original',
  refund_exceeds_captured: 'amount_exceeds_refundable',
  void_not_same_batch: 'void_not_same_batch',
  card_mismatch: 'card_mismatch',
  card_required: 'card_required',
  supervisor_approval_required: 'supervisor_approval_required',
  supervisor_approval_invalid: 'supervisor_approval_invalid',
  reversal_pending: 'reversal_pending',
  reader_not_connected: 'reader_not_connected',
  print_failed: 'print_failed',
  signature_too_large: 'signature_too_large',
  signature_invalid: 'signature_invalid',
  signature_exists: 'signature_exists',
};

/** Engine field names → the API's (`originalId` is the `paymentId` the CRM gave). */
function apiPath(enginePath: string | undefined): string | undefined {
  if (enginePath === undefined) return undefined;
  if (enginePath === 'originalId') return 'params.paymentId';
  return `params.${enginePath}`;
}

export function fromEngineError(e: EngineError): ApiError {
  const code = ENGINE_CODES[e.code] ?? 'internal_error';
  const path = apiPath(e.path);
  if (code === 'invalid_params' && path !== undefined) return invalidParams(path, e.message);
  return new ApiError(code, e.message, {
    retryable: e.retryable || (ERROR_CODES[code]?.retryable ?? false),
    ...(path !== undefined ? { path } : {}),
  });
}

/** Settlement's codes → the API's (`settlement.run`, `settlement.report`). */
export function fromSettlementError(e: SettlementError): ApiError {
  const path = apiPath(e.path);
  switch (e.code) {
    case 'invalid_request':
      return invalidParams(path ?? 'params', e.message);
    case 'batch_busy':
      return new ApiError('batch_busy', e.message, { retryable: true });
    case 'not_found':
      return new ApiError('unknown_batch', e.message, path !== undefined ? { path } : {});
    default:
      return new ApiError('internal_error', e.message);
  }
}

/** Any thrown value → an ApiError; unknown errors become `internal_error` without their message. */
export function toApiError(e: unknown): { error: ApiError; unexpected: boolean } {
  if (e instanceof ApiError) return { error: e, unexpected: false };
  if (e instanceof EngineError) return { error: fromEngineError(e), unexpected: false };
  if (e instanceof SettlementError) return { error: fromSettlementError(e), unexpected: false };
  return { error: new ApiError('internal_error', 'internal error'), unexpected: true };
}

export function invalidParams(path: string, message: string): ApiError {
  return new ApiError('invalid_params', `${path}: ${message}`, { path });
}
