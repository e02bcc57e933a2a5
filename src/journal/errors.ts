export type JournalErrorCode =
  | 'state_dir_locked'
  | 'not_found'
  | 'idempotency_conflict'
  | 'final_state'
  | 'bad_amount'
  | 'migration_failed';

export class JournalError extends Error {
  readonly code: JournalErrorCode;
  readonly path: string | undefined;
  constructor(code: JournalErrorCode, message: string, path?: string) {
    super(`${code}: ${message}`);
    this.name = 'JournalError';
    this.code = code;
    this.path = path;
  }
}
