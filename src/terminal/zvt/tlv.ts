/**
 * The ZVT TLV container (BMP 06, spec15 §9). Tags are BER style (first byte: bit 6 = constructed,
 * low five bits 1F = more tag bytes follow, each with bit 8 = more). Lengths have ZVT's own rules:
 * 00–7F direct, `81 xx`, `82 hi lo` (big endian, unlike the APDU's extended length); 80 is invalid and
 * 83–FF are reserved. A length of 0 is an empty data object.
 */
import { ZvtError } from './errors.js';

export interface TlvNode {
  /** Upper-case hex (`1F07`). */
  tag: string;
  value: Buffer;
  /** Parsed children of a constructed tag (when its value parses as TLV). */
  children?: TlvNode[];
  /** Length-field size when the sender used a longer form than needed (kept for byte-exact re-encoding). */
  lengthBytes?: 1 | 2 | 3;
}

export function isConstructedTag(tag: string): boolean {
  return (parseInt(tag.slice(0, 2), 16) & 0x20) !== 0;
}

/** A node from a tag and a value or children (builder for outgoing containers). */
export function tlv(tag: string, content: Uint8Array | string | TlvNode[]): TlvNode {
  const t = tag.toUpperCase();
  if (Array.isArray(content)) return { tag: t, value: encodeTlv(content), children: content };
  const value = typeof content === 'string' ? Buffer.from(content, 'latin1') : Buffer.from(content);
  return { tag: t, value };
}

function minimalLengthBytes(n: number): 1 | 2 | 3 {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
}

export function encodeTlvLength(n: number, size: 1 | 2 | 3 = minimalLengthBytes(n), tag?: string): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff)
    throw new ZvtError('bad_tlv', `TLV length ${n} outside 0..65535`, { ...(tag ? { tag } : {}) });
  if (size < minimalLengthBytes(n)) size = minimalLengthBytes(n);
  if (size === 1) return Buffer.from([n]);
  if (size === 2) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >>> 8, n & 0xff]);
}

/** Reads a TLV length at `offset`: `{ length, size }` or an error. */
export function decodeTlvLength(
  buf: Uint8Array,
  offset: number,
  tag = '',
): { length: number; size: 1 | 2 | 3 } {
  const where = { offset, ...(tag ? { tag } : {}) };
  if (offset >= buf.length) throw new ZvtError('bad_tlv', 'length missing', where);
  const b = buf[offset]!;
  if (b < 0x80) return { length: b, size: 1 };
  if (b === 0x81) {
    if (offset + 1 >= buf.length) throw new ZvtError('bad_tlv', 'length 81 without its byte', where);
    return { length: buf[offset + 1]!, size: 2 };
  }
  if (b === 0x82) {
    if (offset + 2 >= buf.length) throw new ZvtError('bad_tlv', 'length 82 without its two bytes', where);
    return { length: (buf[offset + 1]! << 8) | buf[offset + 2]!, size: 3 };
  }
  throw new ZvtError('bad_tlv', `length byte ${b.toString(16).toUpperCase()} is invalid or reserved`, where);
}

export function encodeTlv(nodes: readonly TlvNode[]): Buffer {
  const parts: Buffer[] = [];
  for (const n of nodes) {
    if (!/^(?:[0-9A-F]{2})+$/.test(n.tag))
      throw new ZvtError('bad_tlv', 'tag must be upper-case hex', { tag: n.tag });
    const value = n.children ? encodeTlv(n.children) : n.value;
    parts.push(Buffer.from(n.tag, 'hex'), encodeTlvLength(value.length, n.lengthBytes, n.tag), value);
  }
  return Buffer.concat(parts);
}

/** Strict decode of a TLV list filling `buf` exactly; constructed tags get children when they parse. */
export function decodeTlv(buf: Buffer, path = '', base = 0): TlvNode[] {
  const out: TlvNode[] = [];
  let i = 0;
  while (i < buf.length) {
    const start = i;
    let tagEnd = i + 1;
    if ((buf[i]! & 0x1f) === 0x1f) {
      while (tagEnd < buf.length && buf[tagEnd]! & 0x80) tagEnd++;
      tagEnd++;
    }
    if (tagEnd > buf.length)
      throw new ZvtError('bad_tlv', 'tag runs past the container', {
        offset: base + i,
        tag: path || undefined,
      });
    const tag = buf.subarray(i, tagEnd).toString('hex').toUpperCase();
    const tagPath = path ? `${path}/${tag}` : tag;
    const { length, size } = decodeTlvLength(buf, tagEnd, tagPath);
    const from = tagEnd + size;
    if (from + length > buf.length)
      throw new ZvtError('bad_tlv', `value of ${length} bytes runs past the container`, {
        offset: base + start,
        tag: tagPath,
      });
    const node: TlvNode = { tag, value: Buffer.from(buf.subarray(from, from + length)) };
    if (size !== minimalLengthBytes(length)) node.lengthBytes = size;
    if (isConstructedTag(tag) && length > 0) {
      try {
        node.children = decodeTlv(node.value, tagPath, base + from);
      } catch {
        // A constructed tag whose content is not TLV: keep the bytes as they are.
      }
    }
    out.push(node);
    i = from + length;
  }
  return out;
}

/** First node with `tag`, depth first. */
export function findTlv(nodes: readonly TlvNode[] | undefined, tag: string): TlvNode | undefined {
  for (const n of nodes ?? []) {
    if (n.tag === tag) return n;
    const inner = findTlv(n.children, tag);
    if (inner) return inner;
  }
  return undefined;
}
