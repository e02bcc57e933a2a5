import { Iso8583Error } from './errors.js';
import type { PrefixSpec } from './dialect-spec.js';
import type { Writer } from './encodings/writer.js';
import { CP037 } from './encodings/ebcdic-tables.js';

const EBCDIC_ZERO = 0xf0;

/** Bytes a length prefix occupies on the wire. */
export function prefixWidth(p: PrefixSpec): number {
  switch (p.encoding) {
    case 'ascii':
    case 'ebcdic':
      return p.digits;
    case 'bcd':
      return Math.ceil(p.digits / 2);
    case 'binary':
      return p.digits <= 2 ? 1 : 2;
  }
}

/** Largest length a prefix can carry. */
export function prefixMax(p: PrefixSpec): number {
  if (p.encoding === 'binary') return p.digits <= 2 ? 0xff : 0xffff;
  return 10 ** p.digits - 1;
}

export function writePrefix(p: PrefixSpec, n: number, w: Writer): void {
  const width = prefixWidth(p);
  w.ensure(width);
  const b = w.buf;
  let o = w.pos;
  switch (p.encoding) {
    case 'ascii':
    case 'ebcdic': {
      const base = p.encoding === 'ascii' ? 48 : EBCDIC_ZERO;
      for (let i = p.digits - 1; i >= 0; i--) {
        b[o + i] = base + (n % 10);
        n = Math.floor(n / 10);
      }
      break;
    }
    case 'bcd': {
      // Right-aligned digits in ceil(digits/2) bytes: LLL = 2 bytes "0123".
      for (let i = width - 1; i >= 0; i--) {
        const lo = n % 10;
        n = Math.floor(n / 10);
        const hi = n % 10;
        n = Math.floor(n / 10);
        b[o + i] = (hi << 4) | lo;
      }
      break;
    }
    case 'binary':
      if (width === 1) b[o] = n;
      else {
        b[o] = n >> 8;
        b[o + 1] = n & 0xff;
      }
      break;
  }
  o += width;
  w.pos = o;
}

/** Reads a prefix at `off`; the caller has checked that `prefixWidth` bytes are there. */
export function readPrefix(p: PrefixSpec, buf: Buffer, off: number, field: string): number {
  const width = prefixWidth(p);
  let n = 0;
  switch (p.encoding) {
    case 'ascii':
    case 'ebcdic': {
      const base = p.encoding === 'ascii' ? 48 : EBCDIC_ZERO;
      for (let i = 0; i < width; i++) {
        const d = buf[off + i]! - base;
        if (d < 0 || d > 9) throw badPrefix(p, field, off);
        n = n * 10 + d;
      }
      break;
    }
    case 'bcd':
      for (let i = 0; i < width; i++) {
        const byte = buf[off + i]!;
        const hi = byte >> 4;
        const lo = byte & 0x0f;
        if (hi > 9 || lo > 9) throw badPrefix(p, field, off);
        n = n * 100 + hi * 10 + lo;
      }
      break;
    case 'binary':
      n = width === 1 ? buf[off]! : (buf[off]! << 8) | buf[off + 1]!;
      break;
  }
  return n;
}

function badPrefix(p: PrefixSpec, field: string, offset: number): Iso8583Error {
  const what =
    p.encoding === 'ebcdic' ? `EBCDIC digits (${CP037.charAt(EBCDIC_ZERO)}-9)` : `${p.encoding} digits`;
  return new Iso8583Error('bad_length_prefix', `length prefix is not ${what}`, {
    field,
    offset,
    expected: `${p.digits} digits`,
  });
}
