/** Stable codes for everything the TLV codec can reject or warn about. */
export type TlvErrorCode =
  /** A tag's first byte announced subsequent tag bytes that are not there. */
  | 'tag_truncated'
  /** More than three tag bytes (EMV tags are one to three bytes). */
  | 'tag_too_long'
  /** The length field (or its long-form bytes) is cut off. */
  | 'length_truncated'
  /** Indefinite length (0x80) or a long form with more than three length bytes (0x84 and up). */
  | 'bad_length'
  /** The declared value runs past the end of the blob or of the enclosing template. */
  | 'value_truncated'
  /** X.690 8.1.2.4.2 c: the first subsequent tag byte has bits 7-1 zero (e.g. FF00). Strict mode only. */
  | 'tag_non_minimal'
  /** A long-form length where a shorter form would do (e.g. 81 05). Strict mode only. */
  | 'length_non_minimal'
  /** Templates nested deeper than the parser allows. Strict mode only. */
  | 'too_deep'
  /** A tag string given to the builder is not a well-formed one- to three-byte BER tag. */
  | 'bad_tag'
  /** A value given to the builder cannot be encoded (over 16 MiB, or children for a primitive tag). */
  | 'bad_value';

export interface TlvErrorDetails {
  /** Tag path of the element that failed, e.g. `72` or `70/57` ('' at the top level before a tag is read). */
  path?: string;
  /** Offset (from the start of the parsed blob) of the first byte of the element that cannot be completed. */
  offset?: number;
  /** Offset of the offending byte: the first missing byte for a truncation, the bad byte otherwise. */
  byteOffset?: number;
}

/**
 * A BER-TLV problem. Messages name tags, offsets and lengths only, never value bytes (a value can be
 * track data or a PAN).
 */
export class TlvError extends Error {
  readonly code: TlvErrorCode;
  readonly path: string;
  readonly offset: number | undefined;
  readonly byteOffset: number | undefined;

  constructor(code: TlvErrorCode, message: string, details: TlvErrorDetails = {}) {
    const where = [
      details.path ? `path ${details.path}` : undefined,
      details.offset !== undefined ? `offset ${details.offset}` : undefined,
      details.byteOffset !== undefined ? `byte ${details.byteOffset}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${code}: ${message}${where ? ` [${where}]` : ''}`);
    this.name = 'TlvError';
    this.code = code;
    this.path = details.path ?? '';
    this.offset = details.offset;
    this.byteOffset = details.byteOffset;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      path: this.path,
      offset: this.offset,
      byteOffset: this.byteOffset,
      message: this.message,
    };
  }
}

/** Something the lenient parser accepted but a strict reader would not; the element is kept as is. */
export interface TlvWarning {
  /**
   * `opaque_container`: a constructed element whose value is not valid BER; kept as opaque bytes.
   * `tag_non_minimal`, `length_non_minimal`: non-minimal encodings, kept byte-exact.
   * `too_deep`: a template nested beyond the depth limit; kept opaque.
   */
  code: 'opaque_container' | 'tag_non_minimal' | 'length_non_minimal' | 'too_deep';
  /** Tag path of the element the warning is about. */
  path: string;
  /** Offset of the element's first byte in the parsed blob. */
  offset: number;
  /** Offset of the byte that caused the warning. */
  byteOffset: number;
  message: string;
  /** For `opaque_container`: why the inside did not parse (offsets count from the blob start). */
  cause?: { code: TlvErrorCode; path: string; offset: number | undefined; byteOffset: number | undefined };
}
