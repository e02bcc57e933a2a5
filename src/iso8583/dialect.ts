import { Iso8583Error } from './errors.js';
import { readBitmaps, writeBitmaps } from './bitmap.js';
import { compileField, type Cursor, type FieldCodec, type FieldValue } from './field-codec.js';
import type { DialectFile, FieldSpec, MessageRule } from './dialect-spec.js';
import { Writer } from './encodings/writer.js';
import { mtiWidth, readMti, writeMti } from './mti.js';
import type { Iso8583Message, Iso8583MessageInput, PackOptions } from './message.js';
import { Composite } from './composite.js';
import { describeMessage } from './describe.js';

const MAX_FIELD = 192;
const scratch = new Writer(8192);

/** Merges a field override onto a base spec; null attributes remove the base's. */
export function mergeFieldSpec(
  base: FieldSpec | undefined,
  override: Partial<FieldSpec> | null,
): FieldSpec | undefined {
  if (override === null) return undefined;
  const merged: Record<string, unknown> = { ...(base ?? {}), ...override };
  for (const k of Object.keys(merged)) if (merged[k] === null) delete merged[k];
  return merged as unknown as FieldSpec;
}

/**
 * A dialect compiled for speed: one codec per field, plus per-MTI codec tables where the dialect
 * overrides a field for one message type.
 */
export class Dialect {
  readonly name: string;
  readonly spec: DialectFile;
  private readonly base: (FieldCodec | undefined)[];
  private readonly perMti = new Map<string, (FieldCodec | undefined)[]>();
  private readonly tertiary: boolean;

  constructor(spec: DialectFile) {
    this.name = spec.name;
    this.spec = spec;
    this.tertiary = spec.bitmap.tertiary === true;
    this.base = new Array<FieldCodec | undefined>(MAX_FIELD + 1).fill(undefined);
    for (const [k, f] of Object.entries(spec.fields)) if (f) this.base[Number(k)] = compileField(k, f);
    for (const [mti, m] of Object.entries(spec.messages ?? {})) {
      if (!m.fields) continue;
      const table = this.base.slice();
      for (const [k, o] of Object.entries(m.fields)) {
        const merged = mergeFieldSpec(spec.fields[k] ?? undefined, o);
        table[Number(k)] = merged ? compileField(k, merged) : undefined;
      }
      this.perMti.set(mti, table);
    }
  }

  /** The field layout used for `field` in a message of type `mti`. */
  fieldSpec(mti: string, field: number): FieldSpec | undefined {
    return this.codecs(mti)[field]?.spec;
  }

  private codecs(mti: string): (FieldCodec | undefined)[] {
    return this.perMti.get(mti) ?? this.base;
  }

  /** MAC field for a message with or without a secondary bitmap. */
  macField(hasSecondary: boolean): number | undefined {
    const mac = this.spec.mac;
    if (!mac) return undefined;
    return hasSecondary ? (mac.fieldWithSecondary ?? mac.field) : mac.field;
  }

  /** Packs MTI, bitmaps and fields into a message body (no length header, TPDU or header). */
  pack(message: Iso8583MessageInput, options: PackOptions = {}): Buffer {
    const { mti } = message;
    const codecs = this.codecs(mti);
    const numbers: number[] = [];
    for (const key in message.fields) {
      if (message.fields[key] === undefined) continue;
      const n = Number(key);
      if (!Number.isInteger(n) || n < 2 || n > MAX_FIELD || (this.tertiary && n === 65) || !codecs[n]) {
        throw new Iso8583Error('unknown_field', `field is not defined in dialect ${this.name}`, {
          field: key,
        });
      }
      numbers.push(n);
    }
    let macField: number | undefined;
    if (options.mac) {
      macField = this.macField(numbers.some((n) => n > 64));
      if (macField === undefined || !codecs[macField]) {
        throw new Iso8583Error('mac_field_absent', `dialect ${this.name} defines no MAC field`, {
          field: 'mac',
        });
      }
      if (!numbers.includes(macField)) numbers.push(macField);
    }
    numbers.sort((a, b) => a - b);
    if (options.rules !== false) this.checkRules(mti, message.fields, numbers);

    const w = scratch.reset();
    writeMti(mti, this.spec.mti.encoding, w);
    writeBitmaps(numbers, this.spec.bitmap.encoding, this.tertiary, w);
    for (const n of numbers) {
      const codec = codecs[n]!;
      const value = message.fields[n];
      if (value === undefined && n === macField) {
        codec.encode(Buffer.alloc(codec.spec.length), w);
      } else {
        codec.encode(value!, w);
      }
    }
    return w.take();
  }

  /** Unpacks a message body. Strict: any byte left over is an error. */
  unpack(body: Buffer): Iso8583Message {
    const mti = readMti(body, 0, this.spec.mti.encoding);
    const bitmaps = readBitmaps(
      body,
      mtiWidth(this.spec.mti.encoding),
      this.spec.bitmap.encoding,
      this.tertiary,
    );
    const codecs = this.codecs(mti);
    const fields: Record<number, FieldValue> = {};
    const cursor: Cursor = { pos: bitmaps.end };
    for (const n of bitmaps.fields) {
      const codec = codecs[n];
      if (!codec) {
        throw new Iso8583Error('unknown_field', `bit set for a field dialect ${this.name} does not define`, {
          field: String(n),
          offset: cursor.pos,
        });
      }
      fields[n] = codec.decode(body, cursor);
    }
    if (cursor.pos !== body.length) {
      throw new Iso8583Error('trailing_bytes', 'bytes left after the last field', {
        field: 'message',
        offset: cursor.pos,
        expected: 0,
        actual: body.length - cursor.pos,
      });
    }
    return { mti, fields };
  }

  /**
   * The bytes the MAC is computed over (cup-pos: MTI through the field before the MAC). The MAC field
   * must be present (as `pack(..., { mac: true })` leaves it) and last. Returns a view into `body`.
   */
  macInput(body: Buffer): Buffer {
    const { macBytes } = this.locateMac(body);
    return body.subarray(0, body.length - macBytes);
  }

  /** Returns a copy of `body` with the MAC filled in. */
  applyMac(body: Buffer, mac: Uint8Array): Buffer {
    const { codec, macBytes } = this.locateMac(body);
    if (mac.length !== codec.spec.length) {
      throw new Iso8583Error('bad_mac_length', 'MAC has the wrong length', {
        field: codec.id,
        expected: codec.spec.length,
        actual: mac.length,
      });
    }
    const w = new Writer(macBytes);
    codec.encode(Buffer.from(mac), w);
    const out = Buffer.from(body);
    w.buf.copy(out, body.length - macBytes, 0, w.pos);
    return out;
  }

  /** The MAC bytes of a packed body (the last field), for verification. */
  macOf(body: Buffer): Buffer {
    const { codec, macBytes } = this.locateMac(body);
    return codec.decode(body, { pos: body.length - macBytes }) as Buffer;
  }

  private locateMac(body: Buffer): { codec: FieldCodec; macBytes: number } {
    const mti = readMti(body, 0, this.spec.mti.encoding);
    const { fields } = readBitmaps(
      body,
      mtiWidth(this.spec.mti.encoding),
      this.spec.bitmap.encoding,
      this.tertiary,
    );
    const macField = this.macField(fields.some((n) => n > 64));
    const last = fields[fields.length - 1];
    if (macField === undefined || last !== macField) {
      throw new Iso8583Error('mac_field_absent', 'the MAC field is not the last field present', {
        field: macField === undefined ? 'mac' : String(macField),
      });
    }
    const codec = this.codecs(mti)[macField]!;
    const macBytes = codec.spec.encoding === 'hex' ? codec.spec.length * 2 : codec.spec.length;
    if (body.length < macBytes)
      throw new Iso8583Error('field_data_short', 'body shorter than its MAC', { field: String(macField) });
    return { codec, macBytes };
  }

  /** One line per field with the dialect's names; card data masked. */
  describe(message: Iso8583Message): string {
    return describeMessage(this, message);
  }

  private checkRules(mti: string, fields: Iso8583MessageInput['fields'], present: readonly number[]): void {
    const rules = this.spec.messages?.[mti]?.rules;
    if (!rules) return;
    const rule = rules.find((r) => ruleMatches(r, fields));
    if (!rule) return;
    const has = new Set(present);
    for (const m of rule.mandatory ?? []) {
      if (!has.has(m)) {
        throw new Iso8583Error('field_mandatory', `field is mandatory in ${mti} ${rule.name}`, {
          field: String(m),
        });
      }
    }
    for (const f of rule.forbidden ?? []) {
      if (has.has(f))
        throw new Iso8583Error('field_forbidden', `field is not allowed in ${mti} ${rule.name}`, {
          field: String(f),
        });
    }
    if (rule.closed) {
      const allowed = new Set([...(rule.mandatory ?? []), ...(rule.optional ?? [])]);
      for (const f of present) {
        if (!allowed.has(f))
          throw new Iso8583Error('field_forbidden', `field is not allowed in ${mti} ${rule.name}`, {
            field: String(f),
          });
      }
    }
  }
}

function ruleMatches(rule: MessageRule, fields: Iso8583MessageInput['fields']): boolean {
  if (!rule.when) return true;
  for (const [k, want] of Object.entries(rule.when)) {
    const v = fields[k];
    const s = typeof v === 'string' ? v : v instanceof Composite ? v.wire : undefined;
    if (s === undefined) return false;
    if (want.endsWith('*') ? !s.startsWith(want.slice(0, -1)) : s !== want) return false;
  }
  return true;
}
