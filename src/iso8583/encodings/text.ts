import { CP037, CP1047 } from './ebcdic-tables.js';

/** A single text encoding: ASCII, EBCDIC (cp037 / cp1047) or GBK. */
export interface TextEncoding {
  readonly name: TextEncodingName;
  /** Encoded byte length of `text`, or -1 when a character cannot be encoded. */
  byteLength(text: string): number;
  /** Writes `text` at `off`; the caller has checked byteLength and made room. */
  write(text: string, buf: Buffer, off: number): number;
  /** Decodes bytes; returns undefined when they are not valid in this encoding. */
  read(buf: Buffer, start: number, end: number): string | undefined;
}

export type TextEncodingName = 'ascii' | 'ebcdic-037' | 'ebcdic-1047' | 'gbk';

const ascii: TextEncoding = {
  name: 'ascii',
  byteLength(text) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return -1;
    return text.length;
  },
  write(text, buf, off) {
    return buf.write(text, off, text.length, 'latin1') + off;
  },
  read(buf, start, end) {
    for (let i = start; i < end; i++) if (buf[i]! > 0x7f) return undefined;
    return buf.toString('latin1', start, end);
  },
};

function singleByte(name: TextEncodingName, table: string): TextEncoding {
  const reverse = new Map<number, number>();
  for (let b = 0; b < 256; b++) reverse.set(table.charCodeAt(b), b);
  return {
    name,
    byteLength(text) {
      for (let i = 0; i < text.length; i++) if (!reverse.has(text.charCodeAt(i))) return -1;
      return text.length;
    },
    write(text, buf, off) {
      for (let i = 0; i < text.length; i++) buf[off++] = reverse.get(text.charCodeAt(i))!;
      return off;
    },
    read(buf, start, end) {
      let s = '';
      for (let i = start; i < end; i++) s += table[buf[i]!];
      return s;
    },
  };
}

/**
 * GBK: ASCII plus two-byte sequences (lead 0x81-0xFE, trail 0x40-0xFE except 0x7F). Chinese acquirers
 * send merchant names and host messages this way. The encoder table is built once, lazily, from the
 * platform's WHATWG decoder, so it agrees with what we decode.
 */
function gbkEncoding(): TextEncoding {
  let encodeTable: Map<number, number> | undefined;
  const decoder = new TextDecoder('gbk', { fatal: true });
  const table = (): Map<number, number> => {
    if (encodeTable) return encodeTable;
    encodeTable = new Map();
    const pair = Buffer.alloc(2);
    for (let lead = 0x81; lead <= 0xfe; lead++) {
      for (let trail = 0x40; trail <= 0xfe; trail++) {
        if (trail === 0x7f) continue;
        pair[0] = lead;
        pair[1] = trail;
        let ch: string;
        try {
          ch = decoder.decode(pair);
        } catch {
          continue;
        }
        if (ch.length === 1 && !encodeTable.has(ch.charCodeAt(0)))
          encodeTable.set(ch.charCodeAt(0), (lead << 8) | trail);
      }
    }
    return encodeTable;
  };
  return {
    name: 'gbk',
    byteLength(text) {
      let n = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c < 0x80) n += 1;
        else if (table().has(c)) n += 2;
        else return -1;
      }
      return n;
    },
    write(text, buf, off) {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c < 0x80) buf[off++] = c;
        else {
          const code = table().get(c)!;
          buf[off++] = code >> 8;
          buf[off++] = code & 0xff;
        }
      }
      return off;
    },
    read(buf, start, end) {
      // Only one- and two-byte GBK: a GB18030 four-byte sequence could not be re-encoded byte-exactly.
      for (let i = start; i < end; i++) {
        const b = buf[i]!;
        if (b < 0x80) continue;
        if (b === 0x80 || b === 0xff || i + 1 >= end) return undefined;
        const t = buf[i + 1]!;
        if (t < 0x40 || t === 0x7f || t === 0xff) return undefined;
        i++;
      }
      try {
        return decoder.decode(buf.subarray(start, end));
      } catch {
        return undefined;
      }
    },
  };
}

export const TEXT_ENCODINGS: Readonly<Record<TextEncodingName, TextEncoding>> = {
  ascii,
  'ebcdic-037': singleByte('ebcdic-037', CP037),
  'ebcdic-1047': singleByte('ebcdic-1047', CP1047),
  gbk: gbkEncoding(),
};

export function isTextEncoding(name: string): name is TextEncodingName {
  return Object.prototype.hasOwnProperty.call(TEXT_ENCODINGS, name);
}

/** Encodes text to a new Buffer, or undefined if a character cannot be encoded. */
export function encodeText(text: string, name: TextEncodingName): Buffer | undefined {
  const enc = TEXT_ENCODINGS[name];
  const n = enc.byteLength(text);
  if (n < 0) return undefined;
  const out = Buffer.allocUnsafe(n);
  enc.write(text, out, 0);
  return out;
}
