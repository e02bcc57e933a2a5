/**
 * Typed errors of terminal management (CAPK and IC parameter download). Every error names where
 * (`path`: the field, tag, offset, RID/index) and what was expected; the message carries no key material
 * (CAPKs are public keys, but the message stays short and safe for logs and the CLI anyway).
 */
export type TerminalManagementErrorCode =
  /** A field-62 TLV does not parse: truncated tag, length or value. */
  | 'bad_tlv'
  /** A TLV entry parses but misses a required tag or has a value of the wrong size or format. */
  | 'bad_entry'
  /** A CAPK's SHA-1 check value (RID || index || modulus || exponent) does not match DF03. */
  | 'check_value'
  /** The answer is not what the flow expects (no field 62, unknown status byte, too many rounds). */
  | 'bad_answer'
  /** The host answered with a response code other than 00. */
  | 'host_refused'
  /** No usable answer (link down, timeout, MAC error). */
  | 'not_answered'
  /** The dialect declares no terminal management exchanges. */
  | 'not_supported';

export class TerminalManagementError extends Error {
  readonly code: TerminalManagementErrorCode;
  /** Where: e.g. `field62@17 tag DF02`, `capk A000000333/08`, `0820/372`. */
  readonly path: string;
  /** The TLV tag concerned, when one is. */
  readonly tag: string | undefined;
  /** Byte offset in the field, when the error is about bytes. */
  readonly offset: number | undefined;
  constructor(
    code: TerminalManagementErrorCode,
    message: string,
    where: { path: string; tag?: string; offset?: number },
  ) {
    super(`${code}: ${message} [${where.path}]`);
    this.name = 'TerminalManagementError';
    this.code = code;
    this.path = where.path;
    this.tag = where.tag;
    this.offset = where.offset;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, path: this.path, tag: this.tag, offset: this.offset };
  }
}
