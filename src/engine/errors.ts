/** Stable codes the API maps to `data.code`. Messages never carry card data. */
export type EngineErrorCode =
  | 'invalid_request'
  | 'idempotency_conflict'
  | 'reader_busy'
  | 'not_found'
  | 'wrong_state'
  | 'already_completed'
  | 'not_supported_by_terminal'
  | 'amount_exceeds_original'
  | 'refund_exceeds_captured'
  | 'void_not_same_batch'
  | 'card_mismatch'
  | 'card_required'
  | 'supervisor_approval_required'
  | 'supervisor_approval_invalid'
  | 'reversal_pending'
  | 'reader_not_connected'
  | 'print_failed'
  | 'signature_too_large'
  | 'signature_invalid'
  | 'signature_exists';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly path: string | undefined;
  readonly retryable: boolean;
  constructor(code: EngineErrorCode, message: string, options: { path?: string; retryable?: boolean } = {}) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.path = options.path;
    this.retryable = options.retryable ?? false;
  }
}
