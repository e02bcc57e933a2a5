import { Iso8583Error } from './errors.js';
import type { Writer } from './encodings/writer.js';
import { HEX_PAIRS } from './encodings/hex.js';

const scratch = Buffer.alloc(24);

export type BitmapEncoding = 'binary' | 'hex';

/**
 * Writes the primary bitmap and, only when fields need them, the secondary and tertiary bitmaps.
 * `fields` is sorted ascending and holds data fields only (never 1 or, with a tertiary bitmap, 65).
 */
export function writeBitmaps(
  fields: readonly number[],
  encoding: BitmapEncoding,
  tertiary: boolean,
  w: Writer,
): void {
  const highest = fields.length ? fields[fields.length - 1]! : 0;
  const count = highest > 128 ? 3 : highest > 64 ? 2 : 1;
  if (count === 3 && !tertiary) {
    throw new Iso8583Error('unknown_field', 'fields above 128 need a tertiary bitmap', {
      field: String(highest),
    });
  }
  const width = count * 8;
  w.ensure(width * 2);
  // Binary bitmaps are built in place; hex ones in a scratch buffer, then written as characters.
  const bits = encoding === 'binary' ? w.buf : scratch;
  const base = encoding === 'binary' ? w.pos : 0;
  bits.fill(0, base, base + width);
  if (count >= 2) bits[base] = 0x80;
  if (count === 3) bits[base + 8] = 0x80;
  for (const f of fields) bits[base + ((f - 1) >> 3)]! |= 0x80 >> ((f - 1) & 7);
  if (encoding === 'binary') {
    w.pos += width;
    return;
  }
  for (let i = 0; i < width; i++) {
    const pair = HEX_PAIRS[bits[i]!]!;
    w.buf[w.pos++] = pair.charCodeAt(0);
    w.buf[w.pos++] = pair.charCodeAt(1);
  }
}

export interface BitmapRead {
  /** Data fields present, ascending. */
  fields: number[];
  /** Offset just after the last bitmap. */
  end: number;
}

/** Reads the bitmaps starting at `off`. */
export function readBitmaps(
  buf: Buffer,
  off: number,
  encoding: BitmapEncoding,
  tertiary: boolean,
): BitmapRead {
  const fields: number[] = [];
  let base = 0;
  let pos = off;
  for (let map = 0; map < 3; map++) {
    const width = encoding === 'binary' ? 8 : 16;
    if (pos + width > buf.length) {
      throw new Iso8583Error('field_data_short', `bitmap ${map + 1} cut off`, {
        field: 'bitmap',
        offset: pos,
        expected: width,
        actual: buf.length - pos,
      });
    }
    let more = false;
    for (let i = 0; i < 8; i++) {
      const b = encoding === 'binary' ? buf[pos + i]! : hexByte(buf, pos + i * 2);
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        if ((b & (0x80 >> bit)) === 0) continue;
        const field = base + i * 8 + bit + 1;
        const isBitmapBit = i === 0 && bit === 0 && (map === 0 || (map === 1 && tertiary));
        if (isBitmapBit) more = true;
        else fields.push(field);
      }
    }
    pos += width;
    base += 64;
    if (!more) break;
  }
  return { fields, end: pos };
}

function hexByte(buf: Buffer, at: number): number {
  const hi = upper(buf[at]!);
  const lo = upper(buf[at + 1]!);
  if (hi < 0 || lo < 0)
    throw new Iso8583Error('bad_bitmap', 'bitmap must be uppercase hex characters', {
      field: 'bitmap',
      offset: at,
    });
  return (hi << 4) | lo;
}

function upper(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
