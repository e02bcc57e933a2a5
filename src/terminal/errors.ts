import type { ReaderErrorCode } from './reader.js';

/**
 * Finer reasons within a `ReaderErrorCode`, so logs and tests can tell a NAK storm from a missing tag.
 * Stable strings; documented in docs/reader-protocol.md.
 */
export type ReaderErrorReason =
  | 'link_down'
  | 'retransmissions_exhausted'
  | 'transport_error'
  | 'transport_closed'
  | 'open_failed'
  | 'command_timeout'
  | 'handshake_failed'
  | 'bad_frame'
  | 'bad_tlv'
  | 'missing_tag'
  | 'bad_value'
  | 'unknown_status'
  | 'unexpected_response'
  | 'reader_status'
  | 'not_supported'
  | 'not_paired'
  | 'kcv_mismatch'
  | 'key_scheme'
  | 'wrong_reference'
  | 'closed'
  | 'bad_config';

export interface ReaderErrorDetails {
  reason?: ReaderErrorReason;
  /** The command (profile name, e.g. `start_transaction`) the error is about. */
  command?: string;
  /** The TLV tag at fault, e.g. `DF51`. */
  tag?: string;
  /** Byte offset in the frame or payload at fault. */
  offset?: number;
  /** The reader's status name (e.g. `busy`) or code (e.g. `0x7F`) when the reader answered with one. */
  status?: string;
}

/**
 * A reader problem that is not a result: misuse, a broken link, a malformed answer. Messages name
 * commands, tags, offsets and lengths only, never card data, keys or MACs.
 */
export class ReaderError extends Error {
  readonly code: ReaderErrorCode;
  readonly reason: ReaderErrorReason | undefined;
  readonly command: string | undefined;
  readonly tag: string | undefined;
  readonly offset: number | undefined;
  readonly status: string | undefined;

  constructor(code: ReaderErrorCode, message: string, details: ReaderErrorDetails = {}) {
    const where = [
      details.command ? `command ${details.command}` : undefined,
      details.tag ? `tag ${details.tag}` : undefined,
      details.offset !== undefined ? `offset ${details.offset}` : undefined,
      details.status ? `status ${details.status}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${code}: ${message}${where ? ` [${where}]` : ''}`);
    this.name = 'ReaderError';
    this.code = code;
    this.reason = details.reason;
    this.command = details.command;
    this.tag = details.tag;
    this.offset = details.offset;
    this.status = details.status;
  }

  static isReaderError(value: unknown): value is ReaderError {
    return value instanceof ReaderError;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      reason: this.reason,
      command: this.command,
      tag: this.tag,
      offset: this.offset,
      status: this.status,
      message: this.message,
    };
  }
}

/** A profile file that cannot be used; `path` is the JSON path at fault (`framing.check`). */
export class ProfileError extends Error {
  readonly code = 'bad_profile';
  readonly profile: string;
  readonly path: string;
  constructor(profile: string, path: string, message: string) {
    super(`bad_profile: ${profile}${path ? ` ${path}` : ''}: ${message}`);
    this.name = 'ProfileError';
    this.profile = profile;
    this.path = path;
  }
}
