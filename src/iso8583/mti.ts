import { Iso8583Error } from './errors.js';
import type { Writer } from './encodings/writer.js';

export type MtiEncoding = 'ascii' | 'bcd' | 'ebcdic';

export function mtiWidth(encoding: MtiEncoding): number {
  return encoding === 'bcd' ? 2 : 4;
}

export function writeMti(mti: string, encoding: MtiEncoding, w: Writer): void {
  if (typeof mti !== 'string' || !/^[0-9]{4}$/.test(mti)) {
    throw new Iso8583Error('bad_mti', 'MTI must be four digits', {
      field: 'mti',
      actual: typeof mti === 'string' ? mti.slice(0, 8) : typeof mti,
    });
  }
  w.ensure(4);
  const b = w.buf;
  if (encoding === 'bcd') {
    b[w.pos++] = ((mti.charCodeAt(0) - 48) << 4) | (mti.charCodeAt(1) - 48);
    b[w.pos++] = ((mti.charCodeAt(2) - 48) << 4) | (mti.charCodeAt(3) - 48);
  } else {
    const base = encoding === 'ascii' ? 0 : 0xf0 - 48;
    for (let i = 0; i < 4; i++) b[w.pos++] = mti.charCodeAt(i) + base;
  }
}

export function readMti(buf: Buffer, off: number, encoding: MtiEncoding): string {
  const width = mtiWidth(encoding);
  if (off + width > buf.length) {
    throw new Iso8583Error('field_data_short', 'MTI cut off', {
      field: 'mti',
      offset: off,
      expected: width,
      actual: buf.length - off,
    });
  }
  let s = '';
  if (encoding === 'bcd') {
    for (let i = 0; i < 2; i++) {
      const byte = buf[off + i]!;
      const hi = byte >> 4;
      const lo = byte & 0x0f;
      if (hi > 9 || lo > 9)
        throw new Iso8583Error('bad_mti', 'MTI must be BCD digits', { field: 'mti', offset: off });
      s += String.fromCharCode(48 + hi, 48 + lo);
    }
    return s;
  }
  const zero = encoding === 'ascii' ? 48 : 0xf0;
  for (let i = 0; i < 4; i++) {
    const d = buf[off + i]! - zero;
    if (d < 0 || d > 9)
      throw new Iso8583Error('bad_mti', `MTI must be ${encoding} digits`, { field: 'mti', offset: off + i });
    s += String.fromCharCode(48 + d);
  }
  return s;
}
