/** Stable codes for everything the codec can reject. */
export type Iso8583ErrorCode =
  | 'field_data_short'
  | 'length_header_mismatch'
  | 'frame_too_short'
  | 'frame_too_large'
  | 'trailing_bytes'
  | 'not_numeric'
  | 'not_hex'
  | 'bad_character'
  | 'bad_padding'
  | 'bad_sign'
  | 'bad_length_prefix'
  | 'too_long'
  | 'too_short'
  | 'unknown_field'
  | 'bad_mti'
  | 'bad_bitmap'
  | 'bad_value'
  | 'subfield_truncated'
  | 'field_mandatory'
  | 'field_forbidden'
  | 'mac_field_absent'
  | 'bad_mac_length'
  | 'bad_framing'
  | 'unknown_dialect'
  | 'invalid_dialect';

export interface Iso8583ErrorDetails {
  /** Field number, subfield as "60.2", "mti", "bitmap", "frame", "header" or a dialect JSON path. */
  field?: string;
  /** Byte offset in the buffer being decoded (the body for unpack, the frame for unframe). */
  offset?: number;
  expected?: string | number;
  actual?: string | number;
}

/**
 * A typed codec error. The message names where and what was expected; it never carries the value of a
 * sensitive field (callers build details from lengths and shapes, never from card data).
 */
export class Iso8583Error extends Error {
  readonly code: Iso8583ErrorCode;
  readonly field: string | undefined;
  readonly offset: number | undefined;
  readonly expected: string | number | undefined;
  readonly actual: string | number | undefined;

  constructor(code: Iso8583ErrorCode, message: string, details: Iso8583ErrorDetails = {}) {
    const where = [
      details.field !== undefined ? `field ${details.field}` : undefined,
      details.offset !== undefined ? `offset ${details.offset}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    const exp =
      details.expected !== undefined || details.actual !== undefined
        ? ` (expected ${details.expected ?? '?'}, got ${details.actual ?? '?'})`
        : '';
    super(`${code}: ${message}${where ? ` [${where}]` : ''}${exp}`);
    this.name = 'Iso8583Error';
    this.code = code;
    this.field = details.field;
    this.offset = details.offset;
    this.expected = details.expected;
    this.actual = details.actual;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      field: this.field,
      offset: this.offset,
      expected: this.expected,
      actual: this.actual,
      message: this.message,
    };
  }
}
