import { Pan, SensitiveBytes } from '../card/index.js';
import { CHARSETS, firstBadChar } from './charsets.js';
import { Composite, composeWire, parseComposite } from './composite.js';
import type { FieldSpec } from './dialect-spec.js';
import { Iso8583Error } from './errors.js';
import { HEX_PAIRS, nibbleOf } from './encodings/hex.js';
import { TEXT_ENCODINGS, isTextEncoding } from './encodings/text.js';
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

// Byte → both nibbles are decimal digits.
const DIGIT_BYTE = new Uint8Array(256).map((_, b) => (b >> 4 <= 9 && (b & 0x0f) <= 9 ? 1 : 0));
// ASCII code → nibble value (0-9, A-F uppercase only), else 255.
const NIBBLE = new Uint8Array(128)
  .fill(255)
  .map((v, c) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : v));
const PAIRS = HEX_PAIRS;
const latin1 = (buf: Buffer, start: number, end: number): string =>
  (buf as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(start, end);

/** A copy of buf[start, end); a byte loop beats Buffer#copy's call overhead for short fields. */
function copyBytes(buf: Buffer, start: number, end: number): Buffer {
  const n = end - start;
  const out = Buffer.allocUnsafe(n);
  if (n <= 32) for (let i = 0; i < n; i++) out[i] = buf[start + i]!;
  else out.set(buf.subarray(start, end));
  return out;
}

/** Compiles a field spec (already validated by the dialect loader) into an encoder/decoder pair. */
export function compileField(id: string, spec: FieldSpec): FieldCodec {
  const fixed = spec.prefix === undefined;
  const prefix = spec.prefix;
  const pw = prefix ? prefixWidth(prefix) : 0;
  const max = spec.length;
  const type = spec.type;
  const sensitive = spec.sensitive;
  const packed = spec.encoding === 'bcd';
  const hexBytes = spec.encoding === 'hex';
  const text = isTextEncoding(spec.encoding) ? TEXT_ENCODINGS[spec.encoding] : TEXT_ENCODINGS.ascii;
  const asciiText = text.name === 'ascii';
  const padNibble = spec.pad !== undefined && packed ? nibbleOf(spec.pad.charCodeAt(0)) : 0;
  const leftAligned = spec.align === 'left';
  const countBytes = spec.count === 'bytes';
  const signChars = spec.signChars ?? 'CD';
  const subfields = spec.subfields;
  const isBytes = type === 'b';
  const numeric = type === 'n' || type === 'x+n';
  const allowed = CHARSETS[type === 'b' ? 'ans' : type === 'x+n' ? 'n' : type];
  // The sign of an x+n amount is a character: EBCDIC in EBCDIC fields, else ASCII (also before BCD digits).
  const signEncoding = text.name.startsWith('ebcdic') ? text : TEXT_ENCODINGS.ascii;

  // Wire bytes for `n` units of data (units: digits, nibbles, bytes or characters).
  const wireBytes = (n: number): number => {
    if (type === 'n' || type === 'z') return packed ? (countBytes ? n : (n + 1) >> 1) : n;
    if (type === 'x+n') return 1 + (packed ? (n + 1) >> 1 : n);
    if (type === 'b') return hexBytes ? n * 2 : n;
    return n;
  };

  const err = (
    code: ConstructorParameters<typeof Iso8583Error>[0],
    msg: string,
    offset?: number,
    expected?: string | number,
    actual?: string | number,
  ) => new Iso8583Error(code, msg, { field: id, offset, expected, actual });

  // ---------- decode ----------
  const readNibbles = (buf: Buffer, start: number, nibbles: number, end: number): string => {
    const odd = (nibbles & 1) === 1;
    let s = '';
    let i = start;
    let last = end;
    if (odd) {
      // The pad nibble sits first (right-aligned) or last (left-aligned); it must be the declared pad.
      if (leftAligned) {
        last = end - 1;
        if ((buf[last]! & 0x0f) !== padNibble)
          throw err('bad_padding', 'pad nibble differs from the declared pad', last, spec.pad ?? '0');
      } else {
        const b = buf[start]!;
        if (b >> 4 !== padNibble)
          throw err('bad_padding', 'pad nibble differs from the declared pad', start, spec.pad ?? '0');
        if (numeric && (b & 0x0f) > 9) throw err('not_numeric', 'expected BCD digits 0-9', start);
        s = PAIRS[b]!.charAt(1);
        i = start + 1;
      }
    }
    if (numeric) {
      for (; i < last; i++) {
        const b = buf[i]!;
        if (DIGIT_BYTE[b] === 0) throw err('not_numeric', 'expected BCD digits 0-9', i);
        s += PAIRS[b];
      }
    } else {
      for (; i < last; i++) s += PAIRS[buf[i]!];
    }
    if (odd && leftAligned) {
      const b = buf[last]!;
      if (numeric && b >> 4 > 9) throw err('not_numeric', 'expected BCD digits 0-9', last);
      s += PAIRS[b]!.charAt(0);
    }
    return s;
  };

  const readText = (buf: Buffer, start: number, end: number): string => {
    if (asciiText) {
      for (let i = start; i < end; i++) {
        const c = buf[i]!;
        if (c > 127 || allowed[c] === 0) throw badChar(i);
      }
      return latin1(buf, start, end);
    }
    const s = text.read(buf, start, end);
    if (s === undefined) throw err('bad_character', `bytes are not valid ${text.name}`, start);
    const bad = firstBadChar(s, allowed, true);
    if (bad >= 0) throw badChar(undefined);
    return s;
  };

  const badChar = (offset: number | undefined): Iso8583Error =>
    err(numeric ? 'not_numeric' : 'bad_character', `character not allowed in a type ${type} field`, offset);

  const readHexBytes = (buf: Buffer, start: number, end: number): Buffer => {
    const out = Buffer.allocUnsafe((end - start) >> 1);
    for (let i = start, j = 0; i < end; i += 2, j++) {
      const hi = buf[i]! < 128 ? NIBBLE[buf[i]!]! : 255;
      const lo = buf[i + 1]! < 128 ? NIBBLE[buf[i + 1]!]! : 255;
      if (hi === 255 || lo === 255) throw err('not_hex', 'expected uppercase hex characters', i);
      out[j] = (hi << 4) | lo;
    }
    return out;
  };

  const decodeRaw = (buf: Buffer, start: number, units: number, end: number): string | Buffer => {
    if (type === 'n' || type === 'z')
      return packed
        ? readNibbles(buf, start, countBytes ? units * 2 : units, end)
        : readText(buf, start, end);
    if (type === 'b') {
      if (hexBytes) return readHexBytes(buf, start, end);
      return copyBytes(buf, start, end);
    }
    if (type === 'x+n') {
      const sign = signEncoding.read(buf, start, start + 1);
      if (sign === undefined || !signChars.includes(sign))
        throw err('bad_sign', 'amount sign must be one of the allowed characters', start, signChars);
      return sign + (packed ? readNibbles(buf, start + 1, units, end) : readText(buf, start + 1, end));
    }
    return readText(buf, start, end);
  };

  const wrap = (raw: string | Buffer, offset: number): FieldValue => {
    if (sensitive === 'pan') {
      if (typeof raw !== 'string' || raw.length < 1 || raw.length > 19)
        throw err('bad_value', 'PAN must be 1 to 19 digits', offset);
      return Pan.fromDigits(raw);
    }
    if (sensitive === 'bytes') {
      return typeof raw === 'string'
        ? SensitiveBytes.fromText(raw, `field ${id}`)
        : SensitiveBytes.adopt(raw, `field ${id}`);
    }
    if (subfields !== undefined && typeof raw === 'string') return parseComposite(id, raw, subfields, offset);
    return raw;
  };

  const decode = (buf: Buffer, c: Cursor): FieldValue => {
    let off = c.pos;
    let units = max;
    if (!fixed) {
      if (off + pw > buf.length)
        throw err('field_data_short', 'length prefix cut off', off, pw, buf.length - off);
      units = readPrefix(prefix!, buf, off, id);
      if (units > max)
        throw err('too_long', 'declared length exceeds the field maximum', off, `<= ${max}`, units);
      off += pw;
    }
    const n = wireBytes(units);
    if (off + n > buf.length) {
      throw err(
        'field_data_short',
        `field data is ${buf.length - off} bytes, expecting ${n}`,
        off,
        n,
        buf.length - off,
      );
    }
    const raw = decodeRaw(buf, off, units, off + n);
    c.pos = off + n;
    return wrap(raw, off);
  };

  // ---------- encode ----------
  const toRaw = (value: FieldInput): string | Buffer => {
    if (typeof value === 'string') {
      if (isBytes) throw err('bad_value', 'expected bytes (Buffer), got a string');
      if (subfields !== undefined) parseComposite(id, value, subfields, undefined);
      return value;
    }
    if (value instanceof Composite) return value.wire;
    if (Buffer.isBuffer(value)) {
      if (isBytes) return value;
      throw err('bad_value', 'expected a string, got bytes');
    }
    if (value instanceof Pan) return value.reveal();
    if (value instanceof SensitiveBytes) return isBytes ? value.reveal() : value.reveal().toString('latin1');
    if (value !== null && typeof value === 'object' && subfields !== undefined)
      return composeWire(id, value as Record<string, unknown>, subfields);
    throw err('bad_value', `expected ${isBytes ? 'bytes' : 'a string'}`);
  };

  const tooShort = (units: number): Iso8583Error =>
    err('too_short', 'value shorter than the fixed length', undefined, max, units);

  // Numeric fixed fields are zero-filled on the left; text fields only when the dialect declares a pad.
  const padValue = (raw: string, units: number): string => {
    const missing = max - units;
    if (type === 'n') return '0'.repeat(missing) + raw;
    if (type === 'x+n') return raw.charAt(0) + '0'.repeat(missing) + raw.slice(1);
    if (spec.pad !== undefined && !packed && type !== 'z') {
      const fill = spec.pad.repeat(missing);
      return spec.align === 'right' ? fill + raw : raw + fill;
    }
    throw tooShort(units);
  };

  const nibble = (c: number): number => {
    const v = c < 128 ? NIBBLE[c]! : 255;
    if (v === 255 || (numeric && v > 9)) throw badChar(undefined);
    return v;
  };

  const writeNibbles = (s: string, from: number, b: Buffer, o: number): number => {
    const len = s.length;
    let i = from;
    if ((len - from) & 1 && !leftAligned) {
      b[o++] = (padNibble << 4) | nibble(s.charCodeAt(i++));
    }
    for (; i + 1 < len; i += 2) b[o++] = (nibble(s.charCodeAt(i)) << 4) | nibble(s.charCodeAt(i + 1));
    if (i < len) b[o++] = (nibble(s.charCodeAt(i)) << 4) | padNibble;
    return o;
  };

  const writeAscii = (s: string, from: number, b: Buffer, o: number): number => {
    for (let i = from; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 127 || allowed[c] === 0) throw badChar(undefined);
      b[o++] = c;
    }
    return o;
  };

  const encode = (value: FieldInput, w: Writer): void => {
    let raw = toRaw(value);
    let units: number;
    if (typeof raw === 'string') {
      if (type === 'x+n') {
        if (raw.length < 1 || !signChars.includes(raw.charAt(0)))
          throw err('bad_sign', 'amount must start with a sign character', undefined, signChars);
        units = raw.length - 1;
      } else if (packed) {
        units = countBytes ? (raw.length + 1) >> 1 : raw.length;
      } else if (asciiText) {
        units = raw.length;
      } else {
        if (firstBadChar(raw, allowed, true) >= 0) throw badChar(undefined);
        units = text.byteLength(raw);
        if (units < 0) throw err('bad_character', `value cannot be encoded as ${text.name}`);
      }
      if (fixed && units < max) {
        raw = padValue(raw, units);
        units = max;
      }
    } else {
      units = raw.length;
      if (fixed && units < max) throw tooShort(units);
    }
    if (units > max)
      throw err('too_long', 'value longer than the field allows', undefined, `<= ${max}`, units);
    if (!fixed) writePrefix(prefix!, units, w);
    const n = wireBytes(units);
    w.ensure(n);
    const b = w.buf;
    let o = w.pos;
    if (typeof raw !== 'string') {
      if (hexBytes) {
        for (let i = 0; i < raw.length; i++) {
          const pair = PAIRS[raw[i]!]!;
          b[o++] = pair.charCodeAt(0);
          b[o++] = pair.charCodeAt(1);
        }
      } else if (raw.length <= 32) {
        for (let i = 0; i < raw.length; i++) b[o++] = raw[i]!;
      } else {
        b.set(raw, o);
        o += raw.length;
      }
    } else if (type === 'x+n') {
      o = signEncoding.write(raw.charAt(0), b, o);
      o = packed
        ? writeNibbles(raw, 1, b, o)
        : asciiText
          ? writeAscii(raw, 1, b, o)
          : text.write(raw.slice(1), b, o);
    } else if (packed) {
      o = writeNibbles(raw, 0, b, o);
    } else if (asciiText) {
      o = writeAscii(raw, 0, b, o);
    } else {
      o = text.write(raw, b, o);
    }
    w.pos = o;
  };

  return { id, spec, encode, decode };
}
