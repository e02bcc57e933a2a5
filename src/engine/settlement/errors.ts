/** Stable codes the API maps to `data.code`. Messages never carry card data. */
export type SettlementErrorCode =
  | 'batch_busy'
  | 'file_unreadable'
  | 'file_invalid'
  | 'invalid_request'
  | 'not_found'
  /** A scan-to-pay provider's bill could not be downloaded (`retryable` says whether trying later may help). */
  | 'bill_unavailable';

export class SettlementError extends Error {
  readonly code: SettlementErrorCode;
  readonly path: string | undefined;
  readonly retryable: boolean;
  constructor(
    code: SettlementErrorCode,
    message: string,
    options: { path?: string; retryable?: boolean } = {},
  ) {
    super(message);
    this.name = 'SettlementError';
    this.code = code;
    this.path = options.path;
    this.retryable = options.retryable ?? false;
  }
}
