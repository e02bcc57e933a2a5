/** Stable codes for everything the crypto module can reject. */
export type CryptoErrorCode =
  | 'bad_key_length'
  | 'bad_block'
  | 'bad_data'
  | 'bad_algorithm'
  | 'bad_layout'
  | 'bad_field62'
  | 'kcv_mismatch'
  | 'no_working_keys'
  | 'no_track_key'
  | 'bad_pin'
  | 'bad_pan'
  | 'bad_pin_block'
  | 'bad_track'
  | 'key_destroyed'
  | 'seal_invalid'
  | 'key_file_invalid'
  | 'key_file_insecure'
  | 'kek_required'
  | 'kek_mismatch'
  | 'kek_unavailable'
  | 'kek_missing'
  | 'kek_inside_state_dir'
  | 'kek_file_invalid';

/** Which key an error is about. Names only: never the key's bytes or check value. */
export type KeyRole = 'tmk' | 'pik' | 'mak' | 'tdk' | 'key' | 'seal' | 'kek';

export interface CryptoErrorDetails {
  key?: KeyRole;
  /** Lengths, counts and other shapes; never data or key material. */
  expected?: string | number;
  actual?: string | number;
  /** A finer reason within the code, e.g. `auth_failed` or `unknown_key` for `seal_invalid`. */
  reason?: string;
}

/**
 * A typed crypto error. Messages name the key role and the shape that was wrong; they never carry key
 * bytes, check values, PINs, clear or encrypted card data, or MACs.
 */
export class CryptoError extends Error {
  readonly code: CryptoErrorCode;
  readonly key: KeyRole | undefined;
  readonly expected: string | number | undefined;
  readonly actual: string | number | undefined;
  readonly reason: string | undefined;

  constructor(code: CryptoErrorCode, message: string, details: CryptoErrorDetails = {}) {
    const exp =
      details.expected !== undefined || details.actual !== undefined
        ? ` (expected ${details.expected ?? '?'}, got ${details.actual ?? '?'})`
        : '';
    super(`${code}: ${message}${exp}`);
    this.name = 'CryptoError';
    this.code = code;
    this.key = details.key;
    this.expected = details.expected;
    this.actual = details.actual;
    this.reason = details.reason;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      key: this.key,
      expected: this.expected,
      actual: this.actual,
      reason: this.reason,
      message: this.message,
    };
  }
}
