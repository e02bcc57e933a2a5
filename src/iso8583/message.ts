import type { FieldInput, FieldValue } from './field-codec.js';

/** An unpacked message: field number → value (Pan, SensitiveBytes, Composite, string or Buffer). */
export interface Iso8583Message {
  mti: string;
  fields: Record<number, FieldValue>;
}

/** What `pack` takes: the same shapes, plus composite subfields as a plain object. */
export interface Iso8583MessageInput {
  mti: string;
  fields: Readonly<Record<number | string, FieldInput | undefined>>;
}

export interface PackOptions {
  /** Leave the MAC field as a zero placeholder with its bit set, for `applyMac` to fill in. */
  mac?: boolean;
  /** Check the dialect's per-message rules (default true). */
  rules?: boolean;
}
