import { Pan, SensitiveBytes } from '../card/index.js';
import { CHARSETS, firstBadChar } from './charsets.js';
import { Composite, composeWire, parseComposite } from './composite.js';
import type { FieldSpec, PrefixSpec } from './dialect-spec.js';
import { Iso8583Error, type Iso8583ErrorCode } from './errors.js';
import { HEX_PAIRS, nibbleOf } from './encodings/hex.js';
import { TEXT_ENCODINGS, isTextEncoding, type TextEncoding } from './encodings/text.js';
import type { Writer } from './encodings/writer.js';
import { prefixWidth, readPrefix, writePrefix } from './length-prefix.js';

/** What a field holds after unpack, and what pack accepts. */
export type FieldValue = string | Buffer | Pan | SensitiveBytes | Composite;

/** Values pack also accepts: subfields of a composite by id. */
export type FieldInput = FieldValue | Readonly<Record<string, string>>;

/** Read position shared by the field decoders of one unpack. */
export interface Cursor {
  pos: number;
}

export interface FieldCodec {
  readonly id: string;
  readonly spec: FieldSpec;
  encode(value: FieldInput, w: Writer): void;
  decode(buf: Buffer, c: Cursor): FieldValue;
}

/*
 * A field codec is composed of parts: a length part (fixed or prefixed), a data part (how units of data
 * become bytes: BCD nibbles, text in some encoding, bytes, signed amounts) and a value part (what the
 * caller sees: a string, a Pan, SensitiveBytes, a Composite, a Buffer).
 *
 * Each part comes from its own small factory. That is for speed as much as for clarity: V8 shares type
 * feedback between closures created at the same place, so one do-everything closure per field would see
 * every type of every field and optimise for none.
 */

// Byte → both nibbles are decimal digits.
const DIGIT_BYTE = new Uint8Array(256).map((_, b) => (b >> 4 <= 9 && (b & 0x0f) <= 9 ? 1 : 0));
// ASCII code → nibble value (0-9, A-F uppercase only), else 255.
const NIBBLE = new Uint8Array(128)
  .fill(255)
  .map((v, c) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : v));
const PAIRS = HEX_PAIRS;
const latin1 = (buf: Buffer, start: number, end: number): string =>
  (buf as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(start, end);

type Fail = (
  code: Iso8583ErrorCode,
  msg: string,
  offset?: number,
  expected?: string | number,
  actual?: string | number,
) => Iso8583Error;

function failer(id: string): Fail {
  return (code, msg, offset, expected, actual) =>
    new Iso8583Error(code, msg, { field: id, offset, expected, actual });
}

// ---------------------------------------------------------------- value parts

interface ValuePart<R> {
  wrap(raw: R, offset: number): FieldValue;
  unwrap(value: FieldInput): R;
}

function plainString(fail: Fail): ValuePart<string> {
  return {
    wrap: (raw) => raw,
    unwrap(value) {
      if (typeof value === 'string') return value;
      throw fail('bad_value', Buffer.isBuffer(value) ? 'expected a string, got bytes' : 'expected a string');
    },
  };
}

function panValue(fail: Fail): ValuePart<string> {
  return {
    wrap(raw, offset) {
      if (raw.length < 1 || raw.length > 19) throw fail('bad_value', 'PAN must be 1 to 19 digits', offset);
      return Pan.fromDigits(raw);
    },
    unwrap(value) {
      if (value instanceof Pan) return value.reveal();
      if (typeof value === 'string') return value;
      throw fail('bad_value', 'expected a Pan');
    },
  };
}

function sensitiveText(id: string, fail: Fail): ValuePart<string> {
  const kind = `field ${id}`;
  return {
    wrap: (raw) => SensitiveBytes.fromText(raw, kind),
    unwrap(value) {
      if (value instanceof SensitiveBytes) return value.reveal('latin1');
      if (typeof value === 'string') return value;
      throw fail('bad_value', 'expected SensitiveBytes');
    },
  };
}

function compositeValue(id: string, spec: FieldSpec, fail: Fail): ValuePart<string> {
  const subfields = spec.subfields!;
  return {
    wrap: (raw, offset) => parseComposite(id, raw, subfields, offset),
    unwrap(value) {
      if (value instanceof Composite) return value.wire;
      if (typeof value === 'string') {
        parseComposite(id, value, subfields, undefined);
        return value;
      }
      if (
        value !== null &&
        typeof value === 'object' &&
        !Buffer.isBuffer(value) &&
        !(value instanceof Pan) &&
        !(value instanceof SensitiveBytes)
      ) {
        return composeWire(id, value as Record<string, unknown>, subfields);
      }
      throw fail('bad_value', 'expected a Composite, its subfields or its wire string');
    },
  };
}

function plainBytes(fail: Fail): ValuePart<Buffer> {
  return {
    wrap: (raw) => raw,
    unwrap(value) {
      if (Buffer.isBuffer(value)) return value;
      throw fail(
        'bad_value',
        typeof value === 'string' ? 'expected bytes (Buffer), got a string' : 'expected bytes (Buffer)',
      );
    },
  };
}

function sensitiveBytes(id: string, fail: Fail): ValuePart<Buffer> {
  const kind = `field ${id}`;
  return {
    wrap: (raw) => SensitiveBytes.adopt(raw, kind),
    unwrap(value) {
      if (value instanceof SensitiveBytes) return value.reveal();
      if (Buffer.isBuffer(value)) return value;
      throw fail('bad_value', 'expected SensitiveBytes');
    },
  };
}

// ---------------------------------------------------------------- data parts (string data)

interface StringData {
  /** Units in `raw` (digits, nibbles, characters, bytes of encoded text); throws on bad characters. */
  units(raw: string): number;
  /** Fills a short value up to `max` units, or throws. */
  pad(raw: string, units: number, max: number): string;
  wireBytes(units: number): number;
  read(buf: Buffer, start: number, units: number, end: number): string;
  /** Writes `raw` at `o`, returns the new offset. The caller made room for wireBytes(units). */
  write(raw: string, b: Buffer, o: number): number;
}

function badCharOf(fail: Fail, numeric: boolean, type: string): (offset: number | undefined) => Iso8583Error {
  return (offset) =>
    fail(numeric ? 'not_numeric' : 'bad_character', `character not allowed in a type ${type} field`, offset);
}

/** n or z packed two per byte; odd counts padded with the declared nibble on the declared side. */
function bcdData(spec: FieldSpec, fail: Fail): StringData {
  const numeric = spec.type === 'n';
  const left = spec.align === 'left';
  const padNibble = spec.pad !== undefined ? nibbleOf(spec.pad.charCodeAt(0)) : 0;
  const countBytes = spec.count === 'bytes';
  const badChar = badCharOf(fail, numeric, spec.type);
  const badPad = (offset: number): Iso8583Error =>
    fail('bad_padding', 'pad nibble differs from the declared pad', offset, spec.pad ?? '0');
  const notNumeric = (offset: number): Iso8583Error => fail('not_numeric', 'expected BCD digits 0-9', offset);
  const nibble = (c: number): number => {
    const v = c < 128 ? NIBBLE[c]! : 255;
    if (v === 255 || (numeric && v > 9)) throw badChar(undefined);
    return v;
  };
  return {
    units: (raw) => (countBytes ? (raw.length + 1) >> 1 : raw.length),
    pad(raw, units, max) {
      if (numeric) return '0'.repeat(max - units) + raw;
      throw fail('too_short', 'value shorter than the fixed length', undefined, max, units);
    },
    wireBytes: (n) => (countBytes ? n : (n + 1) >> 1),
    read(buf, start, units, end) {
      const nibbles = countBytes ? units * 2 : units;
      const odd = (nibbles & 1) === 1;
      let s = '';
      let i = start;
      let last = end;
      if (odd) {
        if (left) {
          last = end - 1;
          if ((buf[last]! & 0x0f) !== padNibble) throw badPad(last);
        } else {
          const b = buf[start]!;
          if (b >> 4 !== padNibble) throw badPad(start);
          if (numeric && (b & 0x0f) > 9) throw notNumeric(start);
          s = PAIRS[b]!.charAt(1);
          i = start + 1;
        }
      }
      if (numeric) {
        for (; i < last; i++) {
          const b = buf[i]!;
          if (DIGIT_BYTE[b] === 0) throw notNumeric(i);
          s += PAIRS[b];
        }
      } else {
        for (; i < last; i++) s += PAIRS[buf[i]!];
      }
      if (odd && left) {
        const b = buf[last]!;
        if (numeric && b >> 4 > 9) throw notNumeric(last);
        s += PAIRS[b]!.charAt(0);
      }
      return s;
    },
    write(raw, b, o) {
      const len = raw.length;
      let i = 0;
      if (len & 1 && !left) b[o++] = (padNibble << 4) | nibble(raw.charCodeAt(i++));
      for (; i + 1 < len; i += 2) b[o++] = (nibble(raw.charCodeAt(i)) << 4) | nibble(raw.charCodeAt(i + 1));
      if (i < len) b[o++] = (nibble(raw.charCodeAt(i)) << 4) | padNibble;
      return o;
    },
  };
}

/** ASCII text (also n and z carried as ASCII characters): one byte per character. */
function asciiData(spec: FieldSpec, fail: Fail): StringData {
  const allowed = CHARSETS[spec.type === 'b' || spec.type === 'x+n' ? 'n' : spec.type];
  const badChar = badCharOf(fail, spec.type === 'n', spec.type);
  return {
    units: (raw) => raw.length,
    pad: textPad(spec, fail),
    wireBytes: (n) => n,
    read(buf, start, _units, end) {
      for (let i = start; i < end; i++) {
        const c = buf[i]!;
        if (c > 127 || allowed[c] === 0) throw badChar(i);
      }
      return latin1(buf, start, end);
    },
    write(raw, b, o) {
      for (let i = 0; i < raw.length; i++) {
        const c = raw.charCodeAt(i);
        if (c > 127 || allowed[c] === 0) throw badChar(undefined);
        b[o++] = c;
      }
      return o;
    },
  };
}

/** GBK or EBCDIC text: the encoding's own tables; length counts encoded bytes. */
function encodedTextData(spec: FieldSpec, text: TextEncoding, fail: Fail): StringData {
  const allowed = CHARSETS[spec.type === 'b' || spec.type === 'x+n' ? 'n' : spec.type];
  const badChar = badCharOf(fail, spec.type === 'n', spec.type);
  return {
    units(raw) {
      if (firstBadChar(raw, allowed, true) >= 0) throw badChar(undefined);
      const n = text.byteLength(raw);
      if (n < 0) throw fail('bad_character', `value cannot be encoded as ${text.name}`);
      return n;
    },
    pad: textPad(spec, fail),
    wireBytes: (n) => n,
    read(buf, start, _units, end) {
      const s = text.read(buf, start, end);
      if (s === undefined) throw fail('bad_character', `bytes are not valid ${text.name}`, start);
      if (firstBadChar(s, allowed, true) >= 0) throw badChar(start);
      return s;
    },
    write: (raw, b, o) => text.write(raw, b, o),
  };
}

function textPad(spec: FieldSpec, fail: Fail): StringData['pad'] {
  return (raw, units, max) => {
    if (spec.type === 'n') return '0'.repeat(max - units) + raw;
    if (spec.pad !== undefined && spec.type !== 'z') {
      const fill = spec.pad.repeat(max - units);
      return spec.align === 'right' ? fill + raw : raw + fill;
    }
    throw fail('too_short', 'value shorter than the fixed length', undefined, max, units);
  };
}

/** x+n: a sign character (EBCDIC in EBCDIC fields, else ASCII) followed by digits in the field's encoding. */
function amountData(spec: FieldSpec, digits: StringData, text: TextEncoding, fail: Fail): StringData {
  const signChars = spec.signChars ?? 'CD';
  const signEncoding = text.name.startsWith('ebcdic') ? text : TEXT_ENCODINGS.ascii;
  return {
    units(raw) {
      if (raw.length < 1 || !signChars.includes(raw.charAt(0))) {
        throw fail('bad_sign', 'amount must start with a sign character', undefined, signChars);
      }
      digits.units(raw.slice(1));
      return raw.length - 1;
    },
    pad: (raw, units, max) => raw.charAt(0) + '0'.repeat(max - units) + raw.slice(1),
    wireBytes: (n) => 1 + digits.wireBytes(n),
    read(buf, start, units, end) {
      const sign = signEncoding.read(buf, start, start + 1);
      if (sign === undefined || !signChars.includes(sign)) {
        throw fail('bad_sign', 'amount sign must be one of the allowed characters', start, signChars);
      }
      return sign + digits.read(buf, start + 1, units, end);
    },
    write(raw, b, o) {
      o = signEncoding.write(raw.charAt(0), b, o);
      return digits.write(raw.slice(1), b, o);
    },
  };
}

// ---------------------------------------------------------------- length part

interface LengthPart {
  fixed: boolean;
  /** Reads the prefix (if any) at c.pos, advances past it, returns the unit count. */
  read(buf: Buffer, c: Cursor): number;
  write(units: number, w: Writer): void;
}

function lengthPart(id: string, spec: FieldSpec, fail: Fail): LengthPart {
  const max = spec.length;
  if (!spec.prefix) {
    return { fixed: true, read: () => max, write: () => undefined };
  }
  const prefix: PrefixSpec = spec.prefix;
  const pw = prefixWidth(prefix);
  return {
    fixed: false,
    read(buf, c) {
      const off = c.pos;
      if (off + pw > buf.length)
        throw fail('field_data_short', 'length prefix cut off', off, pw, buf.length - off);
      const units = readPrefix(prefix, buf, off, id);
      if (units > max)
        throw fail('too_long', 'declared length exceeds the field maximum', off, `<= ${max}`, units);
      c.pos = off + pw;
      return units;
    },
    write: (units, w) => writePrefix(prefix, units, w),
  };
}

// ---------------------------------------------------------------- codecs

function stringCodec(
  id: string,
  spec: FieldSpec,
  len: LengthPart,
  data: StringData,
  value: ValuePart<string>,
  fail: Fail,
): FieldCodec {
  const max = spec.length;
  return {
    id,
    spec,
    decode(buf, c) {
      const units = len.read(buf, c);
      const off = c.pos;
      const n = data.wireBytes(units);
      if (off + n > buf.length) {
        throw fail(
          'field_data_short',
          `field data is ${buf.length - off} bytes, expecting ${n}`,
          off,
          n,
          buf.length - off,
        );
      }
      const raw = data.read(buf, off, units, off + n);
      c.pos = off + n;
      return value.wrap(raw, off);
    },
    encode(input, w) {
      let raw = value.unwrap(input);
      let units = data.units(raw);
      if (len.fixed && units < max) {
        raw = data.pad(raw, units, max);
        units = max;
      }
      if (units > max)
        throw fail('too_long', 'value longer than the field allows', undefined, `<= ${max}`, units);
      len.write(units, w);
      w.ensure(data.wireBytes(units));
      w.pos = data.write(raw, w.buf, w.pos);
    },
  };
}

function bytesCodec(
  id: string,
  spec: FieldSpec,
  len: LengthPart,
  hex: boolean,
  value: ValuePart<Buffer>,
  fail: Fail,
): FieldCodec {
  const max = spec.length;
  return {
    id,
    spec,
    decode(buf, c) {
      const units = len.read(buf, c);
      const off = c.pos;
      const n = hex ? units * 2 : units;
      if (off + n > buf.length) {
        throw fail(
          'field_data_short',
          `field data is ${buf.length - off} bytes, expecting ${n}`,
          off,
          n,
          buf.length - off,
        );
      }
      let raw: Buffer;
      if (hex) {
        raw = Buffer.allocUnsafe(units);
        for (let i = off, j = 0; j < units; i += 2, j++) {
          const hi = buf[i]! < 128 ? NIBBLE[buf[i]!]! : 255;
          const lo = buf[i + 1]! < 128 ? NIBBLE[buf[i + 1]!]! : 255;
          if (hi === 255 || lo === 255) throw fail('not_hex', 'expected uppercase hex characters', i);
          raw[j] = (hi << 4) | lo;
        }
      } else {
        raw = Buffer.allocUnsafe(n);
        // A byte loop beats Buffer#copy's call overhead for short fields.
        if (n <= 32) for (let i = 0; i < n; i++) raw[i] = buf[off + i]!;
        else raw.set(buf.subarray(off, off + n));
      }
      c.pos = off + n;
      return value.wrap(raw, off);
    },
    encode(input, w) {
      const raw = value.unwrap(input);
      const units = raw.length;
      if (len.fixed && units < max)
        throw fail('too_short', 'value shorter than the fixed length', undefined, max, units);
      if (units > max)
        throw fail('too_long', 'value longer than the field allows', undefined, `<= ${max}`, units);
      len.write(units, w);
      w.ensure(hex ? units * 2 : units);
      const b = w.buf;
      let o = w.pos;
      if (hex) {
        for (let i = 0; i < units; i++) {
          const pair = PAIRS[raw[i]!]!;
          b[o++] = pair.charCodeAt(0);
          b[o++] = pair.charCodeAt(1);
        }
      } else if (units <= 32) {
        for (let i = 0; i < units; i++) b[o++] = raw[i]!;
      } else {
        b.set(raw, o);
        o += units;
      }
      w.pos = o;
    },
  };
}

/** Compiles a field spec (already validated by the dialect loader) into an encoder/decoder pair. */
export function compileField(id: string, spec: FieldSpec): FieldCodec {
  const fail = failer(id);
  const len = lengthPart(id, spec, fail);
  if (spec.type === 'b') {
    const value = spec.sensitive === 'bytes' ? sensitiveBytes(id, fail) : plainBytes(fail);
    return bytesCodec(id, spec, len, spec.encoding === 'hex', value, fail);
  }
  const text = isTextEncoding(spec.encoding) ? TEXT_ENCODINGS[spec.encoding] : TEXT_ENCODINGS.ascii;
  const digitsOrText = (): StringData =>
    spec.encoding === 'bcd'
      ? bcdData(spec, fail)
      : text.name === 'ascii'
        ? asciiData(spec, fail)
        : encodedTextData(spec, text, fail);
  const data = spec.type === 'x+n' ? amountData(spec, digitsOrText(), text, fail) : digitsOrText();
  const value =
    spec.sensitive === 'pan'
      ? panValue(fail)
      : spec.sensitive === 'bytes'
        ? sensitiveText(id, fail)
        : spec.subfields
          ? compositeValue(id, spec, fail)
          : plainString(fail);
  return stringCodec(id, spec, len, data, value, fail);
}
