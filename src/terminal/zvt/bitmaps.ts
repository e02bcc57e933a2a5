/**
 * BMP codec (spec15 §13, spec16 §5.2.7–5.2.8): a one-byte BMP number, then the value in the format the
 * table (protocols/zvt/bitmaps.json) gives it: fixed length, LLVAR / LLLVAR with F0–F9 length digits
 * counting bytes, or BMP 06's TLV container with its BER-style length.
 */
import { decodeVarLength, encodeVarLength } from './bcd.js';
import { ZvtError, hex2 } from './errors.js';
import { decodeTlv, decodeTlvLength, encodeTlvLength, type TlvNode } from './tlv.js';
import type { ZvtTables } from './tables.js';

export interface Bmp {
  bmp: number;
  /** The value without BMP number and length prefix. */
  value: Buffer;
  /** BMP 06: length-field size when the sender used a longer form than needed. */
  lengthBytes?: 1 | 2 | 3;
}

export function bmp(code: number, value: Uint8Array | readonly number[]): Bmp {
  return { bmp: code, value: Buffer.from(value as Uint8Array) };
}

export function findBmp(list: readonly Bmp[], code: number): Bmp | undefined {
  return list.find((b) => b.bmp === code);
}

/** The TLV items of a BMP 06 (strict). */
export function tlvOf(b: Bmp): TlvNode[] {
  return decodeTlv(b.value, '', 0);
}

export function encodeBmps(list: readonly Bmp[], tables: ZvtTables, command?: string): Buffer {
  const parts: Buffer[] = [];
  for (const b of list) {
    const spec = tables.bmp(b.bmp);
    const where = { bmp: hex2(b.bmp), ...(command ? { command } : {}) };
    if (!spec) throw new ZvtError('unknown_bmp', 'BMP not in the table', where);
    parts.push(Buffer.from([b.bmp]));
    switch (spec.format) {
      case 'fixed':
        if (b.value.length !== spec.length)
          throw new ZvtError(
            'bad_bmp',
            `value of ${b.value.length} bytes, the BMP has ${spec.length}`,
            where,
          );
        break;
      case 'llvar':
        parts.push(encodeVarLength(b.value.length, 2, where));
        break;
      case 'lllvar':
        parts.push(encodeVarLength(b.value.length, 3, where));
        break;
      case 'tlv':
        parts.push(encodeTlvLength(b.value.length, b.lengthBytes, '06'));
        break;
    }
    parts.push(b.value);
  }
  return Buffer.concat(parts);
}

/** Strict decode of BMPs from `offset` to the end of `data` (offsets in errors are into `data`). */
export function decodeBmps(data: Buffer, offset: number, tables: ZvtTables, command?: string): Bmp[] {
  const out: Bmp[] = [];
  let i = offset;
  while (i < data.length) {
    const { bmp: b, next } = decodeBmpAt(data, i, tables, command);
    out.push(b);
    i = next;
  }
  return out;
}

/** Decodes the one BMP at `i`: the BMP and the offset after it. */
export function decodeBmpAt(
  data: Buffer,
  i: number,
  tables: ZvtTables,
  command?: string,
): { bmp: Bmp; next: number } {
  const code = data[i]!;
  const where = { bmp: hex2(code), offset: i, ...(command ? { command } : {}) };
  const spec = tables.bmp(code);
  if (!spec) throw new ZvtError('unknown_bmp', 'BMP not in the table', where);
  let from = i + 1;
  let length: number;
  let lengthBytes: 1 | 2 | 3 | undefined;
  switch (spec.format) {
    case 'fixed':
      length = spec.length!;
      break;
    case 'llvar':
    case 'lllvar': {
      const digits = spec.format === 'llvar' ? 2 : 3;
      const n = decodeVarLength(data, from, digits);
      if (n === undefined)
        throw new ZvtError('bad_bmp', `${spec.format.toUpperCase()} prefix is not F0–F9 digits`, where);
      length = n;
      from += digits;
      break;
    }
    case 'tlv': {
      let l: { length: number; size: 1 | 2 | 3 };
      try {
        l = decodeTlvLength(data, from, '06');
      } catch (e) {
        throw new ZvtError('bad_bmp', (e as ZvtError).message, where);
      }
      length = l.length;
      from += l.size;
      const minimal = length < 0x80 ? 1 : length < 0x100 ? 2 : 3;
      if (l.size !== minimal) lengthBytes = l.size;
      break;
    }
  }
  if (from + length > data.length)
    throw new ZvtError('bad_bmp', `value of ${length} bytes runs past the data block`, where);
  const b: Bmp = { bmp: code, value: Buffer.from(data.subarray(from, from + length)) };
  if (lengthBytes) b.lengthBytes = lengthBytes;
  return { bmp: b, next: from + length };
}
