import { Iso8583Error } from './errors.js';
import type { SubfieldSpec } from './dialect-spec.js';

/**
 * A positional composite field (e.g. UnionPay field 60: type, batch, network management code, ...).
 * `parts` holds the subfields present; `wire` is the field's value as it travels (digits or text).
 */
export class Composite {
  #parts: Readonly<Record<string, string>> | undefined;
  readonly #subfields: readonly SubfieldSpec[] | undefined;

  /** From a wire value already checked against `subfields`, or from ready parts. */
  constructor(
    readonly wire: string,
    parts: Readonly<Record<string, string>> | readonly SubfieldSpec[],
  ) {
    if (Array.isArray(parts)) this.#subfields = parts as readonly SubfieldSpec[];
    else this.#parts = parts as Readonly<Record<string, string>>;
  }

  /** Subfields present, by id. Split on first use: most consumers only forward the wire form. */
  get parts(): Readonly<Record<string, string>> {
    if (this.#parts === undefined) {
      const parts: Record<string, string> = {};
      let pos = 0;
      for (const sub of this.#subfields!) {
        if (pos >= this.wire.length) break;
        parts[sub.id] = this.wire.slice(pos, pos + sub.length);
        pos += sub.length;
      }
      this.#parts = parts;
    }
    return this.#parts;
  }

  get(id: string): string | undefined {
    return this.parts[id];
  }

  toString(): string {
    return this.wire;
  }

  toJSON(): { wire: string; parts: Readonly<Record<string, string>> } {
    return { wire: this.wire, parts: this.parts };
  }
}

/** Splits a wire value into subfields; it must end on a subfield boundary. */
export function parseComposite(
  fieldId: string,
  wire: string,
  subfields: readonly SubfieldSpec[],
  offset: number | undefined,
): Composite {
  let pos = 0;
  for (const sub of subfields) {
    if (pos >= wire.length) break;
    if (pos + sub.length > wire.length) {
      throw new Iso8583Error('subfield_truncated', 'value ends inside a subfield', {
        field: `${fieldId}.${sub.id}`,
        offset,
        expected: sub.length,
        actual: wire.length - pos,
      });
    }
    if (sub.type === 'n' && !digitsAt(wire, pos, sub.length)) {
      throw new Iso8583Error('not_numeric', 'subfield must be digits', {
        field: `${fieldId}.${sub.id}`,
        offset,
      });
    }
    pos += sub.length;
  }
  if (pos < wire.length) {
    throw new Iso8583Error('too_long', 'value longer than all subfields together', {
      field: fieldId,
      offset,
      expected: pos,
      actual: wire.length,
    });
  }
  return new Composite(wire, subfields);
}

function digitsAt(s: string, from: number, n: number): boolean {
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Builds the wire value from subfield values given in order; trailing subfields may be left out. */
export function composeWire(
  fieldId: string,
  parts: Record<string, unknown>,
  subfields: readonly SubfieldSpec[],
): string {
  let wire = '';
  let missing: string | undefined;
  for (const sub of subfields) {
    const part = parts[sub.id];
    if (part === undefined) {
      missing ??= sub.id;
      continue;
    }
    if (missing !== undefined) {
      throw new Iso8583Error(
        'bad_value',
        `subfield ${fieldId}.${missing} is missing before ${fieldId}.${sub.id}`,
        {
          field: `${fieldId}.${missing}`,
        },
      );
    }
    if (typeof part !== 'string' || part.length !== sub.length) {
      throw new Iso8583Error('bad_value', 'subfield has the wrong length', {
        field: `${fieldId}.${sub.id}`,
        expected: sub.length,
        actual: typeof part === 'string' ? part.length : typeof part,
      });
    }
    if (sub.type === 'n' && !digitsAt(part, 0, part.length)) {
      throw new Iso8583Error('not_numeric', 'subfield must be digits', { field: `${fieldId}.${sub.id}` });
    }
    wire += part;
  }
  for (const key of Object.keys(parts)) {
    if (!subfields.some((s) => s.id === key)) {
      throw new Iso8583Error('unknown_field', 'no such subfield', { field: `${fieldId}.${key}` });
    }
  }
  return wire;
}
