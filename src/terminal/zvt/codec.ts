/**
 * Data-block layouts: positional fields first (password, config byte, result code, ...: from the
 * command table), then BMPs in any order (spec16 §5.2.7). A few layouts are special and handled here:
 * Print Line 06 D1 (`<attribute> <text>`, some terminals append a TLV container), the Completion that
 * ends Status-Enquiry (`[<SW version LLLVAR>] <terminal status> [06 <TLV>]`, no BMP prefixes), and
 * 80 / 84 answers whose data is either BMPs or opaque. Decoding then encoding gives the same bytes.
 */
import { decodeApdu, encodeApdu, apduCode, type Apdu } from './apdu.js';
import { decodeVarLength, encodeVarLength } from './bcd.js';
import { decodeBmpAt, decodeBmps, encodeBmps, type Bmp } from './bitmaps.js';
import { ZvtError } from './errors.js';
import { loadZvtTables, type ZvtTables } from './tables.js';

export interface ZvtField {
  name: string;
  value: Buffer;
  /** `lllvar`: written with an F0–F9 length prefix (the SW version of a Status-Enquiry completion). */
  format?: 'lllvar';
}

export interface ZvtMessage {
  cls: number;
  ins: number;
  fields: ZvtField[];
  /** Opaque bytes after the fields: Print Line text, the data of an answer that is not BMPs. */
  text?: Buffer;
  bmps: Bmp[];
  /** Lenient decoding only: bytes from the first BMP that could not be read. */
  rest?: Buffer;
  extended?: boolean;
}

export interface DecodeOptions {
  /** Who sent it (selects the layout where a code exists in both directions). */
  direction?: 'ECR->PT' | 'PT->ECR';
  /** The command this message answers (`05 01` selects the Status-Enquiry completion layout). */
  after?: string;
  /** Keep unreadable BMPs as `rest` instead of throwing. */
  lenient?: boolean;
  tables?: ZvtTables;
}

export function messageCode(m: Pick<ZvtMessage, 'cls' | 'ins'>): string {
  return apduCode(m);
}

export function field(m: ZvtMessage, name: string): Buffer | undefined {
  return m.fields.find((f) => f.name === name)?.value;
}

export function toApdu(m: ZvtMessage, tables: ZvtTables = loadZvtTables()): Apdu {
  const parts: Buffer[] = [];
  for (const f of m.fields) {
    if (f.format === 'lllvar') parts.push(encodeVarLength(f.value.length, 3, { command: messageCode(m) }));
    parts.push(f.value);
  }
  if (m.text) parts.push(m.text);
  parts.push(encodeBmps(m.bmps, tables, messageCode(m)));
  if (m.rest) parts.push(m.rest);
  const a: Apdu = { cls: m.cls, ins: m.ins, data: Buffer.concat(parts) };
  if (m.extended) a.extended = true;
  return a;
}

export function encodeMessage(m: ZvtMessage, tables?: ZvtTables): Buffer {
  return encodeApdu(toApdu(m, tables));
}

export function decodeMessage(input: Apdu | Buffer, options: DecodeOptions = {}): ZvtMessage {
  const a = Buffer.isBuffer(input) ? decodeApdu(input) : input;
  const tables = options.tables ?? loadZvtTables();
  const code = apduCode(a);
  const base: ZvtMessage = { cls: a.cls, ins: a.ins, fields: [], bmps: [] };
  if (a.extended) base.extended = true;
  const data = a.data;
  const bmpsFrom = (offset: number, fields: ZvtField[], text?: Buffer): ZvtMessage => {
    const m: ZvtMessage = { ...base, fields, ...(text ? { text } : {}) };
    try {
      m.bmps = decodeBmps(data, offset, tables, code);
    } catch (e) {
      if (!options.lenient) throw e;
      const { bmps, stop } = readWhilePossible(data, offset, tables, code);
      m.bmps = bmps;
      m.rest = Buffer.from(data.subarray(stop));
    }
    return m;
  };

  if (a.cls === 0x80 || a.cls === 0x84) {
    if (data.length === 0) return base;
    try {
      return { ...base, bmps: decodeBmps(data, 0, tables, code) };
    } catch {
      return { ...base, text: Buffer.from(data) };
    }
  }
  if (code === '06 D1') return printLine(base, data, tables);
  if (code === '06 0F' && options.after === '05 01') return statusEnquiryCompletion(base, data, bmpsFrom);

  const spec = tables.command(code, options.direction ?? (a.cls === 0x04 ? 'PT->ECR' : undefined));
  const fixed = spec?.fixedFields ?? [];
  // Fixed fields are taken while bytes remain; an optional one is dropped if the BMPs do not parse with it.
  const attempt = (withOptional: boolean[]): ZvtMessage => {
    const fields: ZvtField[] = [];
    let i = 0;
    fixed.forEach((f, k) => {
      if (f.optional && !withOptional[k]) return;
      if (i + f.length > data.length) {
        i = data.length + 1;
        return;
      }
      fields.push({ name: f.name, value: Buffer.from(data.subarray(i, i + f.length)) });
      i += f.length;
    });
    if (i > data.length) {
      // Shorter than its fields (e.g. Abort 06 1E 00): keep what is there as positional fields.
      return trailingFields(base, data, fixed, withOptional);
    }
    return bmpsFrom(i, fields);
  };
  const optionalIdx = fixed.map((f, k) => (f.optional ? k : -1)).filter((k) => k >= 0);
  if (optionalIdx.length === 0) return attempt([]);
  let first: unknown;
  // Try with every optional field present, then drop them from the last one backwards.
  for (let drop = 0; drop <= optionalIdx.length; drop++) {
    const keep = fixed.map(() => true);
    for (const k of optionalIdx.slice(optionalIdx.length - drop)) keep[k] = false;
    try {
      return attempt(keep);
    } catch (e) {
      first ??= e;
    }
  }
  throw first;
}

function trailingFields(
  base: ZvtMessage,
  data: Buffer,
  fixed: readonly { name: string; length: number; optional: boolean }[],
  withOptional: boolean[],
): ZvtMessage {
  const fields: ZvtField[] = [];
  let i = 0;
  for (let k = 0; k < fixed.length && i < data.length; k++) {
    const f = fixed[k]!;
    if (f.optional && !withOptional[k]) continue;
    if (i + f.length > data.length)
      throw new ZvtError('bad_field', `field ${f.name} needs ${f.length} bytes`, {
        offset: i,
        command: messageCode(base),
      });
    fields.push({ name: f.name, value: Buffer.from(data.subarray(i, i + f.length)) });
    i += f.length;
  }
  return { ...base, fields };
}

function printLine(base: ZvtMessage, data: Buffer, tables: ZvtTables): ZvtMessage {
  if (data.length === 0) return base;
  const fields: ZvtField[] = [{ name: 'attribute', value: Buffer.from(data.subarray(0, 1)) }];
  // Some terminals append `06 <len> 1F 07 01 xx` (receipt type) after the text: accept it when the
  // tail from a 06 byte parses as exactly BMP 06 containers.
  for (let p = 1; p < data.length; p++) {
    if (data[p] !== 0x06) continue;
    try {
      const bmps = decodeBmps(data, p, tables, '06 D1');
      if (bmps.every((b) => b.bmp === 0x06)) {
        const text = Buffer.from(data.subarray(1, p));
        return { ...base, fields, ...(text.length ? { text } : {}), bmps };
      }
    } catch {
      // not a container: part of the text
    }
  }
  const text = Buffer.from(data.subarray(1));
  return { ...base, fields, ...(text.length ? { text } : {}) };
}

function statusEnquiryCompletion(
  base: ZvtMessage,
  data: Buffer,
  bmpsFrom: (offset: number, fields: ZvtField[]) => ZvtMessage,
): ZvtMessage {
  if (data.length === 0) return base;
  const fields: ZvtField[] = [];
  let i = 0;
  const sw = decodeVarLength(data, 0, 3);
  if (sw !== undefined && 3 + sw < data.length) {
    fields.push({ name: 'sw-version', value: Buffer.from(data.subarray(3, 3 + sw)), format: 'lllvar' });
    i = 3 + sw;
  }
  fields.push({ name: 'terminal-status', value: Buffer.from(data.subarray(i, i + 1)) });
  return bmpsFrom(i + 1, fields);
}

function readWhilePossible(
  data: Buffer,
  offset: number,
  tables: ZvtTables,
  code: string,
): { bmps: Bmp[]; stop: number } {
  const bmps: Bmp[] = [];
  let i = offset;
  try {
    while (i < data.length) {
      const { bmp, next } = decodeBmpAt(data, i, tables, code);
      bmps.push(bmp);
      i = next;
    }
  } catch {
    // stop before the first BMP that cannot be read
  }
  return { bmps, stop: i };
}
