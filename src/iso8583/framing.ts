import { Iso8583Error } from './errors.js';
import type { FramingSpec, HeaderPartSpec } from './dialect-spec.js';
import { toHex } from './encodings/hex.js';
import type { Dialect } from './dialect.js';

/** How one acquirer link frames messages: length header, TPDU and header. Defaults come from the dialect. */
export interface Framing {
  lengthHeader: FramingSpec['lengthHeader'];
  lengthIncludesHeader?: boolean;
  /** 5-byte TPDU as hex or bytes; null/undefined for none. */
  tpdu?: string | Uint8Array | null;
  /** Header bytes as hex or bytes (its length is what unframe reads); null/undefined for none. */
  header?: string | Uint8Array | null;
  headerParts?: readonly HeaderPartSpec[];
  /** Swap TPDU source and destination when framing (a host answering a terminal). Off by default. */
  swapTpdu?: boolean;
  maxFrame?: number;
}

export interface Tpdu {
  id: string;
  destination: string;
  source: string;
  raw: Buffer;
}

export interface FrameHeader {
  raw: Buffer;
  /** Header parts by name, as hex nibbles. */
  parts: Record<string, string>;
  /** Meanings of flag parts with a non-zero value, e.g. ["sign_on_again"]. */
  flags: string[];
}

export interface Unframed {
  body: Buffer;
  tpdu?: Tpdu;
  header?: FrameHeader;
}

const TPDU_LENGTH = 5;
const DEFAULT_MAX_FRAME = 65535;

export function lengthHeaderWidth(kind: Framing['lengthHeader']): number {
  switch (kind) {
    case 'none':
      return 0;
    case '2-byte-binary':
    case '2-byte-bcd':
      return 2;
    case '4-byte-ascii':
      return 4;
  }
}

function bytesOf(v: string | Uint8Array | null | undefined, what: string): Buffer | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'string') return Buffer.from(v);
  if (!/^([0-9A-Fa-f]{2})*$/.test(v))
    throw new Iso8583Error('bad_framing', `${what} must be hex`, { field: what });
  return Buffer.from(v, 'hex');
}

/** Builds a frame: [length header] [TPDU] [header] body. */
export function frame(body: Uint8Array, framing: Framing): Buffer {
  let tpdu = bytesOf(framing.tpdu, 'tpdu');
  if (tpdu && tpdu.length !== TPDU_LENGTH) {
    throw new Iso8583Error('bad_framing', 'TPDU must be 5 bytes', {
      field: 'tpdu',
      expected: TPDU_LENGTH,
      actual: tpdu.length,
    });
  }
  if (tpdu && framing.swapTpdu)
    tpdu = Buffer.concat([tpdu.subarray(0, 1), tpdu.subarray(3, 5), tpdu.subarray(1, 3)]);
  const header = bytesOf(framing.header, 'header');
  const width = lengthHeaderWidth(framing.lengthHeader);
  const payload = (tpdu?.length ?? 0) + (header?.length ?? 0) + body.length;
  const declared = payload + (framing.lengthIncludesHeader ? width : 0);
  const max = Math.min(framing.maxFrame ?? DEFAULT_MAX_FRAME, maxDeclarable(framing.lengthHeader));
  if (declared > max)
    throw new Iso8583Error('frame_too_large', 'message too large for this framing', {
      field: 'frame',
      expected: `<= ${max}`,
      actual: declared,
    });
  const out = Buffer.allocUnsafe(width + payload);
  writeLength(out, framing.lengthHeader, declared);
  let o = width;
  if (tpdu) o += tpdu.copy(out, o);
  if (header) o += header.copy(out, o);
  out.set(body, o);
  return out;
}

/**
 * Splits a complete frame. A length header that disagrees with the bytes is an error, never a partial
 * decode. Offsets in errors are frame offsets.
 */
export function unframe(bytes: Buffer, framing: Framing): Unframed {
  const width = lengthHeaderWidth(framing.lengthHeader);
  const tpduLen = framing.tpdu === null || framing.tpdu === undefined ? 0 : TPDU_LENGTH;
  const headerLen = bytesOf(framing.header, 'header')?.length ?? 0;
  if (bytes.length < width + tpduLen + headerLen) {
    throw new Iso8583Error('frame_too_short', 'frame shorter than its length header, TPDU and header', {
      field: 'frame',
      offset: 0,
      expected: width + tpduLen + headerLen,
      actual: bytes.length,
    });
  }
  if (width) {
    const declared = readLength(bytes, framing.lengthHeader) - (framing.lengthIncludesHeader ? width : 0);
    const available = bytes.length - width;
    if (declared !== available) {
      throw new Iso8583Error('length_header_mismatch', 'length header does not match the bytes that follow', {
        field: 'frame',
        offset: 0,
        expected: declared,
        actual: available,
      });
    }
  }
  if (bytes.length > (framing.maxFrame ?? DEFAULT_MAX_FRAME) + width) {
    throw new Iso8583Error('frame_too_large', 'frame exceeds the configured maximum', {
      field: 'frame',
      offset: 0,
      expected: framing.maxFrame ?? DEFAULT_MAX_FRAME,
      actual: bytes.length - width,
    });
  }
  let o = width;
  const out: Unframed = { body: bytes.subarray(0) };
  if (tpduLen) {
    const raw = Buffer.from(bytes.subarray(o, o + TPDU_LENGTH));
    out.tpdu = { id: toHex(raw, 0, 1), destination: toHex(raw, 1, 3), source: toHex(raw, 3, 5), raw };
    o += TPDU_LENGTH;
  }
  if (headerLen) {
    const raw = Buffer.from(bytes.subarray(o, o + headerLen));
    out.header = decodeHeader(raw, framing.headerParts ?? []);
    o += headerLen;
  }
  out.body = bytes.subarray(o);
  return out;
}

/**
 * For stream reassembly: the total byte length of the frame at the start of `buf` (length header
 * included), or undefined while the length header itself is incomplete.
 */
export function frameLength(buf: Buffer, framing: Framing): number | undefined {
  const width = lengthHeaderWidth(framing.lengthHeader);
  if (!width) throw new Iso8583Error('bad_framing', 'a stream needs a length header', { field: 'frame' });
  if (buf.length < width) return undefined;
  return readLength(buf, framing.lengthHeader) + (framing.lengthIncludesHeader ? 0 : width);
}

function decodeHeader(raw: Buffer, partsSpec: readonly HeaderPartSpec[]): FrameHeader {
  const hex = toHex(raw);
  const parts: Record<string, string> = {};
  const flags: string[] = [];
  let pos = 0;
  for (const p of partsSpec) {
    const v = hex.slice(pos, pos + p.nibbles);
    pos += p.nibbles;
    parts[p.name] = v;
    if (p.flag && /[^0]/.test(v)) flags.push(p.values?.[v] ?? `${p.name}:${v}`);
  }
  return { raw, parts, flags };
}

function maxDeclarable(kind: Framing['lengthHeader']): number {
  return kind === '2-byte-binary' ? 0xffff : kind === 'none' ? Number.MAX_SAFE_INTEGER : 9999;
}

function writeLength(out: Buffer, kind: Framing['lengthHeader'], n: number): void {
  switch (kind) {
    case 'none':
      return;
    case '2-byte-binary':
      out.writeUInt16BE(n, 0);
      return;
    case '2-byte-bcd':
      out[0] = (Math.floor(n / 1000) << 4) | (Math.floor(n / 100) % 10);
      out[1] = ((Math.floor(n / 10) % 10) << 4) | (n % 10);
      return;
    case '4-byte-ascii':
      out.write(String(n).padStart(4, '0'), 0, 'latin1');
      return;
  }
}

function readLength(buf: Buffer, kind: Framing['lengthHeader']): number {
  switch (kind) {
    case 'none':
      return buf.length;
    case '2-byte-binary':
      return buf.readUInt16BE(0);
    case '2-byte-bcd': {
      let n = 0;
      for (let i = 0; i < 2; i++) {
        const hi = buf[i]! >> 4;
        const lo = buf[i]! & 0x0f;
        if (hi > 9 || lo > 9)
          throw new Iso8583Error('bad_framing', 'BCD length header is not digits', {
            field: 'frame',
            offset: i,
          });
        n = n * 100 + hi * 10 + lo;
      }
      return n;
    }
    case '4-byte-ascii': {
      let n = 0;
      for (let i = 0; i < 4; i++) {
        const d = buf[i]! - 48;
        if (d < 0 || d > 9)
          throw new Iso8583Error('bad_framing', 'ASCII length header is not digits', {
            field: 'frame',
            offset: i,
          });
        n = n * 10 + d;
      }
      return n;
    }
  }
}

/** The dialect's default framing, optionally overridden (per acquirer, from configuration). */
export function dialectFraming(dialect: Dialect, overrides: Partial<Framing> = {}): Framing {
  const f = dialect.spec.framing;
  return {
    lengthHeader: f?.lengthHeader ?? 'none',
    lengthIncludesHeader: f?.lengthIncludesHeader,
    tpdu: f?.tpdu ?? null,
    header: f?.header ?? null,
    headerParts: f?.headerParts,
    maxFrame: f?.maxFrame,
    ...overrides,
  };
}
