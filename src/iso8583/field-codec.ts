import { Pan, SensitiveBytes } from '../card/index.js';
import { Composite, composeWire, parseComposite } from './composite.js';
import type { FieldSpec } from './dialect-spec.js';
import { Iso8583Error } from './errors.js';
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

const DIGIT_BYTE_OK: boolean[] = Array.from({ length: 256 }, (_, b) => b >> 4 <= 9 && (b & 0x0f) <= 9);

/** Compiles a field spec (already validated by the dialect loader) into an encoder/decoder pair. */
export function compileField(id: string, spec: FieldSpec): FieldCodec {
  const fixed = spec.prefix === undefined;
  const max = spec.length;
  const sensitive = spec.sensitive;
  const packed = spec.encoding === 'bcd';
  const text: TextEncoding | undefined = isTextEncoding(spec.encoding)
    ? TEXT_ENCODINGS[spec.encoding]
    : undefined;
  const padNibble = spec.pad !== undefined && packed ? nibbleOf(spec.pad.charCodeAt(0)) : 0;
  const leftAligned = spec.align === 'left';
  const countBytes = spec.count === 'bytes';
  const signChars = spec.signChars ?? 'CD';
  const subfields = spec.subfields;
  const isBytes = spec.type === 'b';
  // The sign of an x+n amount is a character: EBCDIC in EBCDIC fields, else ASCII (also before BCD digits).
  const signEncoding = text && text.name.startsWith('ebcdic') ? text : TEXT_ENCODINGS.ascii;

  // Wire bytes for `n` units of data (units: digits, nibbles, bytes or characters).
  const wireBytes = (n: number): number => {
    switch (spec.type) {
      case 'n':
      case 'z':
        return packed ? (countBytes ? n : (n + 1) >> 1) : n;
      case 'x+n':
        return 1 + (packed ? (n + 1) >> 1 : n);
      case 'b':
        return spec.encoding === 'hex' ? n * 2 : n;
      default:
        return n;
    }
  };

  // ---------- decode ----------
  const decodeRaw = (buf: Buffer, start: number, units: number, end: number): string | Buffer => {
    switch (spec.type) {
      case 'n':
      case 'z':
        if (packed) return readNibbles(buf, start, countBytes ? units * 2 : units, end);
        return readText(buf, start, end);
      case 'x+n': {
        const sign = signEncoding.read(buf, start, start + 1);
        if (sign === undefined || !signChars.includes(sign)) {
          throw new Iso8583Error('bad_sign', 'amount sign must be one of the allowed characters', {
            field: id,
            offset: start,
            expected: signChars,
          });
        }
        const digits = packed ? readNibbles(buf, start + 1, units, end) : readText(buf, start + 1, end);
        return sign + digits;
      }
      case 'b':
        if (spec.encoding === 'hex') return readHexBytes(buf, start, end);
        return Buffer.from(buf.subarray(start, end));
      default:
        return readText(buf, start, end);
    }
  };

  const readNibbles = (buf: Buffer, start: number, nibbles: number, end: number): string => {
    const odd = (nibbles & 1) === 1;
    const numeric = spec.type !== 'z';
    let s = '';
    let i = start;
    let last = end;
    if (odd) {
      // The pad nibble sits first (right-aligned) or last (left-aligned); it must be the declared pad.
      if (leftAligned) {
        last = end - 1;
        const b = buf[last]!;
        if ((b & 0x0f) !== padNibble) throw badPad(last);
      } else {
        const b = buf[start]!;
        if (b >> 4 !== padNibble) throw badPad(start);
        const lo = b & 0x0f;
        if (numeric && lo > 9) throw notNumeric(start);
        s = HEX_PAIRS[b]!.charAt(1);
        i = start + 1;
      }
    }
    for (; i < last; i++) {
      const b = buf[i]!;
      if (numeric && !DIGIT_BYTE_OK[b]) throw notNumeric(i);
      s += HEX_PAIRS[b];
    }
    if (odd && leftAligned) {
      const b = buf[last]!;
      if (numeric && b >> 4 > 9) throw notNumeric(last);
      s += HEX_PAIRS[b]!.charAt(0);
    }
    return s;
  };

  const readText = (buf: Buffer, start: number, end: number): string => {
    const enc = text ?? TEXT_ENCODINGS.ascii;
    const s = enc.read(buf, start, end);
    if (s === undefined) {
      throw new Iso8583Error('bad_character', `bytes are not valid ${enc.name}`, {
        field: id,
        offset: start,
      });
    }
    checkChars(s, start);
    return s;
  };

  const readHexBytes = (buf: Buffer, start: number, end: number): Buffer => {
    const out = Buffer.allocUnsafe((end - start) >> 1);
    for (let i = start, j = 0; i < end; i += 2, j++) {
      const hi = upperNibble(buf[i]!);
      const lo = upperNibble(buf[i + 1]!);
      if (hi < 0 || lo < 0)
        throw new Iso8583Error('not_hex', 'expected uppercase hex characters', { field: id, offset: i });
      out[j] = (hi << 4) | lo;
    }
    return out;
  };

  const checkChars = (s: string, offset: number | undefined): void => {
    const t = spec.type === 'x+n' ? 'n' : spec.type;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      let ok: boolean;
      switch (t) {
        case 'n':
          ok = c >= 48 && c <= 57;
          break;
        case 'z':
          ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || c === 61;
          break;
        case 'an':
          ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 32;
          break;
        default:
          // ans: printable ASCII, or any character of a wider text encoding (GBK, EBCDIC).
          ok = spec.encoding === 'ascii' ? c >= 0x20 && c <= 0x7e : c >= 0x20;
      }
      if (!ok) {
        const code = t === 'n' ? 'not_numeric' : 'bad_character';
        throw new Iso8583Error(code, `character not allowed in a type ${t} field`, {
          field: id,
          offset: offset === undefined ? undefined : offset + i,
        });
      }
    }
  };

  const wrap = (raw: string | Buffer, offset: number): FieldValue => {
    if (sensitive === 'pan') {
      if (typeof raw !== 'string' || !/^[0-9]{1,19}$/.test(raw)) {
        throw new Iso8583Error('bad_value', 'PAN must be 1 to 19 digits', { field: id, offset });
      }
      return Pan.fromDigits(raw);
    }
    if (sensitive === 'bytes') {
      return typeof raw === 'string'
        ? SensitiveBytes.fromText(raw, `field ${id}`)
        : SensitiveBytes.adopt(raw, `field ${id}`);
    }
    if (subfields && typeof raw === 'string') return parseComposite(id, raw, subfields, offset);
    return raw;
  };

  const decode = (buf: Buffer, c: Cursor): FieldValue => {
    let off = c.pos;
    let units = max;
    if (!fixed) {
      const pw = prefixWidth(spec.prefix!);
      if (off + pw > buf.length) {
        throw new Iso8583Error('field_data_short', 'length prefix cut off', {
          field: id,
          offset: off,
          expected: pw,
          actual: buf.length - off,
        });
      }
      units = readPrefix(spec.prefix!, buf, off, id);
      if (units > max) {
        throw new Iso8583Error('too_long', 'declared length exceeds the field maximum', {
          field: id,
          offset: off,
          expected: `<= ${max}`,
          actual: units,
        });
      }
      off += pw;
    }
    const n = wireBytes(units);
    if (off + n > buf.length) {
      throw new Iso8583Error('field_data_short', `field data is ${buf.length - off} bytes, expecting ${n}`, {
        field: id,
        offset: off,
        expected: n,
        actual: buf.length - off,
      });
    }
    const raw = decodeRaw(buf, off, units, off + n);
    c.pos = off + n;
    return wrap(raw, off);
  };

  // ---------- encode ----------
  const toRaw = (value: FieldInput): string | Buffer => {
    if (value instanceof Pan) return value.reveal();
    if (value instanceof SensitiveBytes) return isBytes ? value.reveal() : value.reveal().toString('latin1');
    if (value instanceof Composite) return value.wire;
    if (Buffer.isBuffer(value)) {
      if (isBytes) return value;
      throw badValue('expected a string, got bytes');
    }
    if (typeof value === 'string') {
      if (isBytes) throw badValue('expected bytes (Buffer), got a string');
      return value;
    }
    if (value !== null && typeof value === 'object' && subfields)
      return composeWire(id, value as Record<string, unknown>, subfields);
    throw badValue(`expected ${isBytes ? 'bytes' : 'a string'}`);
  };

  const badValue = (msg: string): Iso8583Error => new Iso8583Error('bad_value', msg, { field: id });
  const badPad = (offset: number): Iso8583Error =>
    new Iso8583Error('bad_padding', 'pad nibble differs from the declared pad', {
      field: id,
      offset,
      expected: spec.pad ?? '0',
    });
  const notNumeric = (offset: number): Iso8583Error =>
    new Iso8583Error('not_numeric', 'expected BCD digits 0-9', { field: id, offset });

  const encode = (value: FieldInput, w: Writer): void => {
    let raw = toRaw(value);
    let units: number;
    if (typeof raw === 'string') {
      if (subfields && !(value instanceof Composite) && typeof value === 'string')
        parseComposite(id, raw, subfields, undefined);
      if (spec.type === 'x+n') {
        if (raw.length < 1 || !signChars.includes(raw.charAt(0))) {
          throw new Iso8583Error('bad_sign', 'amount must start with a sign character', {
            field: id,
            expected: signChars,
          });
        }
        checkChars(raw.slice(1), undefined);
        units = raw.length - 1;
      } else if (packed) {
        for (let i = 0; i < raw.length; i++) {
          const v = nibbleOf(raw.charCodeAt(i));
          const c = raw.charCodeAt(i);
          if (spec.type === 'n' ? v < 0 || v > 9 : v < 0 || (c >= 97 && c <= 102)) {
            throw new Iso8583Error(
              spec.type === 'n' ? 'not_numeric' : 'bad_character',
              `character not allowed in a type ${spec.type} field`,
              { field: id },
            );
          }
        }
        units = countBytes ? (raw.length + 1) >> 1 : raw.length;
      } else {
        checkChars(raw, undefined);
        const enc = text ?? TEXT_ENCODINGS.ascii;
        units = enc.byteLength(raw);
        if (units < 0)
          throw new Iso8583Error('bad_character', `value cannot be encoded as ${enc.name}`, { field: id });
      }
      if (fixed && units < max) {
        raw = padValue(raw, units);
        units = max;
      }
    } else {
      units = raw.length;
      if (fixed && units < max) throw tooShort(units);
    }
    if (units > max) {
      throw new Iso8583Error('too_long', 'value longer than the field allows', {
        field: id,
        expected: `<= ${max}`,
        actual: units,
      });
    }
    if (!fixed) writePrefix(spec.prefix!, units, w);
    writeData(raw, units, w);
  };

  const tooShort = (units: number): Iso8583Error =>
    new Iso8583Error('too_short', 'value shorter than the fixed length', {
      field: id,
      expected: max,
      actual: units,
    });

  // Numeric fixed fields are zero-filled on the left; text fields only when the dialect declares a pad.
  const padValue = (raw: string, units: number): string => {
    const missing = max - units;
    if (spec.type === 'n' || spec.type === 'x+n') {
      if (spec.type === 'x+n') return raw.charAt(0) + '0'.repeat(missing) + raw.slice(1);
      return '0'.repeat(missing) + raw;
    }
    if (spec.pad !== undefined && !packed && spec.type !== 'z') {
      const fill = spec.pad.repeat(missing);
      return spec.align === 'right' ? fill + raw : raw + fill;
    }
    throw tooShort(units);
  };

  const writeData = (raw: string | Buffer, units: number, w: Writer): void => {
    const n = wireBytes(units);
    w.ensure(n);
    const b = w.buf;
    let o = w.pos;
    if (typeof raw !== 'string') {
      if (spec.encoding === 'hex') {
        for (let i = 0; i < raw.length; i++) {
          const pair = HEX_PAIRS[raw[i]!]!;
          b[o++] = pair.charCodeAt(0);
          b[o++] = pair.charCodeAt(1);
        }
      } else {
        b.set(raw, o);
        o += raw.length;
      }
    } else if (spec.type === 'x+n') {
      o = signEncoding.write(raw.charAt(0), b, o);
      const digits = raw.slice(1);
      o = packed ? writeNibbles(digits, b, o) : (text ?? TEXT_ENCODINGS.ascii).write(digits, b, o);
    } else if (packed) {
      o = writeNibbles(raw, b, o);
    } else {
      o = (text ?? TEXT_ENCODINGS.ascii).write(raw, b, o);
    }
    w.pos = o;
  };

  const writeNibbles = (s: string, b: Buffer, o: number): number => {
    const len = s.length;
    let i = 0;
    if (len & 1 && !leftAligned) {
      b[o++] = (padNibble << 4) | nibbleOf(s.charCodeAt(0));
      i = 1;
    }
    for (; i + 1 < len; i += 2) b[o++] = (nibbleOf(s.charCodeAt(i)) << 4) | nibbleOf(s.charCodeAt(i + 1));
    if (i < len) b[o++] = (nibbleOf(s.charCodeAt(i)) << 4) | padNibble;
    return o;
  };

  return { id, spec, encode, decode };
}

function upperNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}
