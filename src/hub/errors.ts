/** The hub's errors: a code, an HTTP status, a path naming where, and a message safe to show. */
export type HubErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'revoked'
  | 'bad_code'
  | 'gap'
  | 'too_large'
  | 'busy'
  | 'not_found'
  | 'bad_file';

const STATUS: Record<HubErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  revoked: 401,
  bad_code: 403,
  gap: 409,
  too_large: 413,
  busy: 503,
  not_found: 404,
  bad_file: 400,
};

export class HubError extends Error {
  readonly status: number;
  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
  toBody(): { error: { code: string; message: string; path?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.path ? { path: this.path } : {}) } };
  }
}
