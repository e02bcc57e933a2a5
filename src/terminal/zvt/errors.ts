/**
 * ZVT problems that are not results: a malformed frame or APDU, a broken link, a refused registration,
 * a bad table file. Messages name commands, BMPs, TLV tags, offsets and lengths only, never card data.
 */
export type ZvtErrorCode =
  | 'bad_frame'
  | 'bad_crc'
  | 'bad_apdu'
  | 'bad_length'
  | 'bad_bcd'
  | 'bad_bmp'
  | 'unknown_bmp'
  | 'bad_tlv'
  | 'bad_field'
  | 'bad_value'
  | 'unexpected_message'
  | 'timeout'
  | 'link_down'
  | 'not_acknowledged'
  | 'registration_refused'
  | 'bad_config'
  | 'bad_table'
  | 'closed';

export interface ZvtErrorDetails {
  /** Byte offset in the APDU data block (or frame) at fault. */
  offset?: number;
  /** The BMP at fault, two hex digits (`22`). */
  bmp?: string;
  /** TLV tag path at fault (`25/07`). */
  tag?: string;
  /** The command (`06 01`) the error is about. */
  command?: string;
  /** APRC or result code the terminal answered with (`83`). */
  status?: string;
  /** JSON path in a table file (`$.bitmaps[3].length`). */
  path?: string;
}

export class ZvtError extends Error {
  readonly code: ZvtErrorCode;
  readonly offset: number | undefined;
  readonly bmp: string | undefined;
  readonly tag: string | undefined;
  readonly command: string | undefined;
  readonly status: string | undefined;
  readonly path: string | undefined;

  constructor(code: ZvtErrorCode, message: string, details: ZvtErrorDetails = {}) {
    const where = [
      details.command ? `command ${details.command}` : undefined,
      details.bmp ? `BMP ${details.bmp}` : undefined,
      details.tag ? `tag ${details.tag}` : undefined,
      details.offset !== undefined ? `offset ${details.offset}` : undefined,
      details.status ? `status ${details.status}` : undefined,
      details.path ? `at ${details.path}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${code}: ${message}${where ? ` [${where}]` : ''}`);
    this.name = 'ZvtError';
    this.code = code;
    this.offset = details.offset;
    this.bmp = details.bmp;
    this.tag = details.tag;
    this.command = details.command;
    this.status = details.status;
    this.path = details.path;
  }

  static isZvtError(value: unknown): value is ZvtError {
    return value instanceof ZvtError;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      offset: this.offset,
      bmp: this.bmp,
      tag: this.tag,
      command: this.command,
      status: this.status,
      path: this.path,
      message: this.message,
    };
  }
}

/** Two upper-case hex digits. */
export function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

/** `06 01` for class 06, instruction 01. */
export function commandCode(cls: number, ins: number): string {
  return `${hex2(cls)} ${hex2(ins)}`;
}
