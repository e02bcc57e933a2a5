/**
 * BER-TLV as EMV uses it (EMV Book 3 Annex B, ISO/IEC 7816-4, X.690 8.1.2-8.1.3), on Buffers.
 *
 * - Tags of one to three bytes; the tag string is the wire bytes in upper-case hex ('9F26').
 * - Lengths in short form (00-7F) and long form 81 xx, 82 xx xx, 83 xx xx xx. 80 (indefinite) and
 *   84 and up are `bad_length`.
 * - Constructed elements (bit 6 of the first tag byte) are parsed recursively into `children`.
 * - Every element keeps its value as a view (subarray) of the input, in wire order, unknown and
 *   proprietary tags included, so `encodeTlv(parseTlv(x).elements)` gives back exactly `x`. A length
 *   written in a longer form than needed keeps its original bytes (`lengthBytes`); a tag is kept as its
 *   wire bytes anyway.
 *
 * Real field 55 data is not always clean BER, so parsing is lenient by default:
 * - a constructed element whose value does not parse as TLV (vendor containers such as FF8105 in
 *   Mastercard kernels) is kept as an opaque value: `opaque: true`, no children, and a warning
 *   `opaque_container` with the inner error as `cause`. Opaque values are never rendered by
 *   `describeTlv`, `toJSON` or `util.inspect` (they can hold track data);
 * - a tag whose first subsequent byte has bits 7-1 zero (X.690 8.1.2.4.2 c; e.g. `FF00`) and a
 *   non-minimal long-form length are kept byte-exact and reported as warnings.
 * `strict: true` turns all of these into `TlvError`s instead.
 *
 * UnionPay e-signature uploads put private two-byte tags in field 55 (FF00 merchant name, FF01
 * transaction name, FF02, FF06 ... with plain text values) although the FF first byte says "constructed".
 * By default they parse leniently: FF00 gives a `tag_non_minimal` warning, and every FFxx whose text
 * does not happen to parse as TLV becomes opaque with a warning. With `privateTags: 'primitive'` (the
 * documented profile for those messages) private-class tags (first byte C0-FF) are read as primitive:
 * their value is plain bytes, never descended into and not opaque.
 */
import { ALWAYS_SENSITIVE_TAGS } from './sensitive.js';
import { TlvError, type TlvWarning } from './errors.js';
import { HEX_BYTE, hexDigit, toHex } from './hex.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * Nesting limit: templates below this many levels are kept opaque (strict mode: `too_deep`). EMV data
 * nests three or four levels; the limit keeps hostile input from recursing deeply.
 */
export const MAX_TLV_DEPTH = 16;

/** Largest value the encoder writes (three length bytes). */
export const MAX_TLV_VALUE_LENGTH = 0xffffff;

/**
 * One data object. Immutable: build new ones with `tlv()` rather than changing fields, because the
 * value of a constructed element is its encoded children.
 */
export class Tlv {
  /** Wire bytes of the tag in upper-case hex, e.g. '9F26'. */
  readonly tag: string;
  /** Bit 6 of the first tag byte. */
  readonly constructed: boolean;
  /** The value bytes (for a constructed element: the encoded children, or the opaque bytes). */
  readonly value: Buffer;
  /** Parsed children of a constructed element; undefined for primitives and opaque values. */
  readonly children: readonly Tlv[] | undefined;
  /** A constructed value that is not valid BER (or was not descended into): never shown. */
  readonly opaque: boolean;
  /** Offset of the first tag byte in the parsed blob; -1 for elements built in code. */
  readonly offset: number;
  /** The original length bytes when they were not in minimal form (kept so re-encoding is exact). */
  readonly lengthBytes: Buffer | undefined;

  /** @internal Use `tlv()` or `parseTlv()`. */
  constructor(
    tag: string,
    constructed: boolean,
    value: Buffer,
    children: readonly Tlv[] | undefined,
    opaque: boolean,
    offset: number,
    lengthBytes: Buffer | undefined,
  ) {
    this.tag = tag;
    this.constructed = constructed;
    this.value = value;
    this.children = children;
    this.opaque = opaque;
    this.offset = offset;
    this.lengthBytes = lengthBytes;
  }

  /** Number of value bytes. */
  get length(): number {
    return this.value.length;
  }

  /**
   * A log-safe view: sensitive tags show `***`, opaque values `opaque (N bytes)`, private-class
   * primitives (first tag byte C0-FF, meaning unknown without a dictionary) `proprietary (N bytes)`.
   * Use `describeTlv` for a dictionary-aware rendering.
   */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { tag: this.tag, length: this.value.length };
    if (this.children && !this.opaque) out['children'] = this.children.map((c) => c.toJSON());
    else out['value'] = safeValueText(this);
    return out;
  }

  toString(): string {
    return `Tlv(${this.tag}, ${this.value.length} bytes)`;
  }

  [inspectSymbol](): string {
    if (this.children && !this.opaque) return `Tlv(${this.tag}, ${this.children.length} children)`;
    return `Tlv(${this.tag}, ${this.value.length} bytes, ${safeValueText(this)})`;
  }
}

function safeValueText(t: Tlv): string {
  if (ALWAYS_SENSITIVE_TAGS.has(t.tag)) return '***';
  if (t.opaque) return `opaque (${t.value.length} bytes)`;
  if (isPrivateClass(t.tag)) return `proprietary (${t.value.length} bytes)`;
  return toHex(t.value);
}

/** True when the tag's class bits (8-7 of the first byte) are 11: private, meaning set by a vendor. */
export function isPrivateClass(tag: string): boolean {
  const d = hexDigit(tag.charCodeAt(0));
  return d >= 0xc;
}

export interface ParseOptions {
  /** Reject everything the lenient parser would only warn about (default false). */
  strict?: boolean;
  /**
   * 'ber' (default): private-class constructed tags are descended into like any other.
   * 'primitive': private-class tags (first byte C0-FF) are read as primitive values: the UnionPay
   * e-signature field 55 profile (FF00, FF01, ... carrying text).
   */
  privateTags?: 'ber' | 'primitive';
  /** Copy the input first, so values do not change if the caller reuses or wipes its buffer. */
  copy?: boolean;
}

export interface TlvParseResult {
  /** Top-level elements in wire order. */
  elements: Tlv[];
  /** Everything accepted leniently, in the order met. Empty for clean BER. */
  warnings: TlvWarning[];
}

interface ParseContext {
  buf: Buffer;
  warnings: TlvWarning[];
  strict: boolean;
  primitivePrivate: boolean;
}

/**
 * Parses a BER-TLV blob (e.g. field 55). Throws `TlvError` (and nothing else) when the blob is not
 * TLV at the top level, or anywhere in strict mode.
 */
export function parseTlv(data: Uint8Array, options: ParseOptions = {}): TlvParseResult {
  let buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (options.copy) buf = Buffer.from(buf);
  const ctx: ParseContext = {
    buf,
    warnings: [],
    strict: options.strict === true,
    primitivePrivate: options.privateTags === 'primitive',
  };
  const elements = parseLevel(ctx, 0, buf.length, '', 0);
  return { elements, warnings: ctx.warnings };
}

export type TryParseResult =
  { ok: true; elements: Tlv[]; warnings: TlvWarning[] } | { ok: false; error: TlvError };

/** `parseTlv` with the error as a value. */
export function tryParseTlv(data: Uint8Array, options: ParseOptions = {}): TryParseResult {
  try {
    const r = parseTlv(data, options);
    return { ok: true, elements: r.elements, warnings: r.warnings };
  } catch (e) {
    if (e instanceof TlvError) return { ok: false, error: e };
    throw e;
  }
}

const tag2Cache: (string | undefined)[] = new Array<string | undefined>(0x10000);
const tag3Cache = new Map<number, string>();

function tagText(key: number, bytes: number): string {
  if (bytes === 1) return HEX_BYTE[key]!;
  if (bytes === 2) {
    let s = tag2Cache[key];
    if (s === undefined) {
      s = HEX_BYTE[key >> 8]! + HEX_BYTE[key & 0xff]!;
      tag2Cache[key] = s;
    }
    return s;
  }
  let s = tag3Cache.get(key);
  if (s === undefined) {
    s = HEX_BYTE[key >> 16]! + HEX_BYTE[(key >> 8) & 0xff]! + HEX_BYTE[key & 0xff]!;
    if (tag3Cache.size < 4096) tag3Cache.set(key, s);
  }
  return s;
}

function join(parent: string, tag: string): string {
  return parent ? `${parent}/${tag}` : tag;
}

function parseLevel(ctx: ParseContext, start: number, end: number, parentPath: string, depth: number): Tlv[] {
  const buf = ctx.buf;
  const out: Tlv[] = [];
  let p = start;
  while (p < end) {
    const elStart = p;
    // --- tag
    const b0 = buf[p++]!;
    let key = b0;
    let tagBytes = 1;
    let nonMinimalTagAt = -1;
    if ((b0 & 0x1f) === 0x1f) {
      if (p >= end) {
        throw new TlvError('tag_truncated', 'subsequent tag byte expected', {
          path: parentPath,
          offset: elStart,
          byteOffset: p,
        });
      }
      let b = buf[p++]!;
      if ((b & 0x7f) === 0) nonMinimalTagAt = p - 1;
      key = (key << 8) | b;
      tagBytes = 2;
      if (b & 0x80) {
        if (p >= end) {
          throw new TlvError('tag_truncated', 'third tag byte expected', {
            path: parentPath,
            offset: elStart,
            byteOffset: p,
          });
        }
        b = buf[p++]!;
        key = (key << 8) | b;
        tagBytes = 3;
        if (b & 0x80) {
          throw new TlvError('tag_too_long', 'tags longer than three bytes are not EMV', {
            path: parentPath,
            offset: elStart,
            byteOffset: p - 1,
          });
        }
      }
    }
    const tag = tagText(key, tagBytes);
    if (nonMinimalTagAt >= 0) {
      const detail = 'first subsequent tag byte has bits 7-1 zero (X.690 8.1.2.4.2 c)';
      if (ctx.strict) {
        throw new TlvError('tag_non_minimal', detail, {
          path: join(parentPath, tag),
          offset: elStart,
          byteOffset: nonMinimalTagAt,
        });
      }
      ctx.warnings.push({
        code: 'tag_non_minimal',
        path: join(parentPath, tag),
        offset: elStart,
        byteOffset: nonMinimalTagAt,
        message: `tag ${tag}: ${detail}; kept as sent`,
      });
    }
    // --- length
    if (p >= end) {
      throw new TlvError('length_truncated', `length of ${tag} expected`, {
        path: join(parentPath, tag),
        offset: elStart,
        byteOffset: p,
      });
    }
    const lengthStart = p;
    const lb = buf[p++]!;
    let len: number;
    let lengthBytes: Buffer | undefined;
    if (lb < 0x80) {
      len = lb;
    } else {
      const n = lb & 0x7f;
      if (n === 0 || n > 3) {
        throw new TlvError(
          'bad_length',
          n === 0 ? `indefinite length on ${tag}` : `length-of-length ${n} on ${tag} (at most 3)`,
          { path: join(parentPath, tag), offset: elStart, byteOffset: lengthStart },
        );
      }
      if (p + n > end) {
        throw new TlvError('length_truncated', `${n} length bytes expected after 0x${HEX_BYTE[lb]}`, {
          path: join(parentPath, tag),
          offset: elStart,
          byteOffset: end,
        });
      }
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
      if (len < (n === 1 ? 0x80 : n === 2 ? 0x100 : 0x10000)) {
        const detail = `length ${len} written in ${n + 1} bytes`;
        if (ctx.strict) {
          throw new TlvError('length_non_minimal', detail, {
            path: join(parentPath, tag),
            offset: elStart,
            byteOffset: lengthStart,
          });
        }
        lengthBytes = buf.subarray(lengthStart, p);
        ctx.warnings.push({
          code: 'length_non_minimal',
          path: join(parentPath, tag),
          offset: elStart,
          byteOffset: lengthStart,
          message: `${tag}: ${detail}; kept as sent`,
        });
      }
    }
    // --- value
    if (len > end - p) {
      throw new TlvError('value_truncated', `declared ${len} value bytes, ${end - p} available`, {
        path: join(parentPath, tag),
        offset: elStart,
        byteOffset: end,
      });
    }
    const valueEnd = p + len;
    const value = buf.subarray(p, valueEnd);
    const constructed = (b0 & 0x20) !== 0;
    let children: Tlv[] | undefined;
    let opaque = false;
    if (constructed) {
      if (ctx.primitivePrivate && b0 >= 0xc0) {
        // read as primitive: plain value, not opaque (see the module comment)
      } else if (depth + 1 >= MAX_TLV_DEPTH) {
        const path = join(parentPath, tag);
        if (ctx.strict) {
          throw new TlvError('too_deep', `templates nested deeper than ${MAX_TLV_DEPTH}`, {
            path,
            offset: elStart,
            byteOffset: p,
          });
        }
        opaque = true;
        ctx.warnings.push({
          code: 'too_deep',
          path,
          offset: elStart,
          byteOffset: p,
          message: `${tag}: templates nested deeper than ${MAX_TLV_DEPTH}; kept opaque (${len} bytes)`,
        });
      } else if (ctx.strict) {
        children = parseLevel(ctx, p, valueEnd, join(parentPath, tag), depth + 1);
      } else {
        const mark = ctx.warnings.length;
        try {
          children = parseLevel(ctx, p, valueEnd, join(parentPath, tag), depth + 1);
        } catch (e) {
          if (!(e instanceof TlvError)) throw e;
          ctx.warnings.length = mark;
          opaque = true;
          ctx.warnings.push({
            code: 'opaque_container',
            path: join(parentPath, tag),
            offset: elStart,
            byteOffset: p,
            message: `${tag}: value is not valid BER-TLV (${e.code}); kept opaque (${len} bytes)`,
            cause: { code: e.code, path: e.path, offset: e.offset, byteOffset: e.byteOffset },
          });
        }
      }
    }
    out.push(new Tlv(tag, constructed, value, children, opaque, elStart, lengthBytes));
    p = valueEnd;
  }
  return out;
}

// ---------------------------------------------------------------------------------------- encoding

function lengthFieldSize(t: Tlv): number {
  if (t.lengthBytes) return t.lengthBytes.length;
  const n = t.value.length;
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 4;
}

/** Number of bytes `encodeTlv([t])` writes. */
export function encodedLength(t: Tlv): number {
  return (t.tag.length >> 1) + lengthFieldSize(t) + t.value.length;
}

function writeElement(out: Buffer, pos: number, t: Tlv): number {
  let p = pos;
  const tag = t.tag;
  for (let i = 0; i < tag.length; i += 2) {
    out[p++] = (hexDigit(tag.charCodeAt(i)) << 4) | hexDigit(tag.charCodeAt(i + 1));
  }
  const v = t.value;
  const n = v.length;
  const lb = t.lengthBytes;
  if (lb) {
    for (let i = 0; i < lb.length; i++) out[p++] = lb[i]!;
  } else if (n < 0x80) {
    out[p++] = n;
  } else if (n < 0x100) {
    out[p++] = 0x81;
    out[p++] = n;
  } else if (n < 0x10000) {
    out[p++] = 0x82;
    out[p++] = n >> 8;
    out[p++] = n & 0xff;
  } else {
    out[p++] = 0x83;
    out[p++] = n >> 16;
    out[p++] = (n >> 8) & 0xff;
    out[p++] = n & 0xff;
  }
  if (n <= 16) {
    for (let i = 0; i < n; i++) out[p++] = v[i]!;
  } else {
    out.set(v, p);
    p += n;
  }
  return p;
}

/** Encodes elements in the given order. Parsed elements come back exactly as they were on the wire. */
export function encodeTlv(elements: readonly Tlv[]): Buffer {
  let size = 0;
  for (let i = 0; i < elements.length; i++) size += encodedLength(elements[i]!);
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  for (let i = 0; i < elements.length; i++) p = writeElement(out, p, elements[i]!);
  return out;
}

// ---------------------------------------------------------------------------------------- building

/** Checks a tag string (1-3 bytes of hex, well-formed BER tag) and returns it upper-cased. */
export function normalizeTag(tag: string): string {
  const t = typeof tag === 'string' ? tag.toUpperCase() : '';
  const bad = (why: string): never => {
    throw new TlvError('bad_tag', `tag ${JSON.stringify(String(tag)).slice(0, 12)} ${why}`);
  };
  if (!/^(?:[0-9A-F]{2}){1,3}$/.test(t)) bad('is not 1-3 bytes of hex');
  const bytes = Buffer.from(t, 'hex');
  const b0 = bytes[0]!;
  if ((b0 & 0x1f) !== 0x1f) {
    if (bytes.length !== 1) bad('has subsequent bytes but its first byte does not announce them');
    return t;
  }
  if (bytes.length === 1) bad('announces subsequent bytes that are missing');
  for (let i = 1; i < bytes.length - 1; i++) if (!(bytes[i]! & 0x80)) bad('ends before its last byte');
  if (bytes[bytes.length - 1]! & 0x80) bad('announces a further tag byte');
  return t;
}

/** True when bit 6 of the tag's first byte is set. */
export function isConstructedTag(tag: string): boolean {
  return (hexDigit(tag.charCodeAt(0)) & 0x2) !== 0;
}

/**
 * Builds an element. A primitive tag takes bytes (copied); a constructed tag takes children, or bytes
 * which are parsed (strictly) into children, and kept opaque if they are not valid BER.
 */
export function tlv(tag: string, value: Uint8Array | readonly Tlv[]): Tlv {
  const t = normalizeTag(tag);
  const constructed = isConstructedTag(t);
  if (Array.isArray(value)) {
    if (!constructed) throw new TlvError('bad_value', `${t} is primitive and cannot hold children`);
    const children = value as readonly Tlv[];
    const bytes = encodeTlv(children);
    if (bytes.length > MAX_TLV_VALUE_LENGTH) throw new TlvError('bad_value', `${t}: value too long`);
    return new Tlv(t, true, bytes, children.slice(), false, -1, undefined);
  }
  const bytes = Buffer.from(value as Uint8Array);
  if (bytes.length > MAX_TLV_VALUE_LENGTH) throw new TlvError('bad_value', `${t}: value too long`);
  if (!constructed) return new Tlv(t, false, bytes, undefined, false, -1, undefined);
  const inner = tryParseTlv(bytes, { strict: true });
  return inner.ok
    ? new Tlv(t, true, bytes, inner.elements, false, -1, undefined)
    : new Tlv(t, true, bytes, undefined, true, -1, undefined);
}

/** First element with `tag`, depth first, looking inside (non-opaque) templates. */
export function findTlv(elements: readonly Tlv[], tag: string): Tlv | undefined {
  for (const e of elements) {
    if (e.tag === tag) return e;
    if (e.children) {
      const hit = findTlv(e.children, tag);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** Every element, depth first in wire order (templates before their children). */
export function walkTlv(elements: readonly Tlv[], visit: (t: Tlv, path: string) => void, parent = ''): void {
  for (const e of elements) {
    const path = join(parent, e.tag);
    visit(e, path);
    if (e.children) walkTlv(e.children, visit, path);
  }
}
