import { TerminalManagementError } from './terminal-management-errors.js';

/**
 * The BER-TLV of terminal-management field 62 (tags 9F06, 9F22, DF02 ...). The host module may not
 * import emv/ (ARCHITECTURE.md), and these answers need offsets in their errors, so this is a small
 * strict reader of its own: one- to three-byte tags, short and long (81, 82) lengths, no constructed
 * templates (the answers hold none).
 */
export interface TlvItem {
  /** Upper-case hex, e.g. "9F06". */
  tag: string;
  value: Buffer;
  /** Offset of the tag's first byte in the whole field (the caller's `base` added). */
  offset: number;
}

/** Parses `bytes` as a sequence of TLVs; `base` is the offset of bytes[0] in the field, for errors. */
export function parseTlvList(bytes: Buffer, where: { field: string; base?: number }): TlvItem[] {
  const base = where.base ?? 0;
  const items: TlvItem[] = [];
  let i = 0;
  const fail = (at: number, tag: string | undefined, msg: string): never => {
    throw new TerminalManagementError('bad_tlv', msg, {
      path: `${where.field}@${base + at}${tag ? ` tag ${tag}` : ''}`,
      ...(tag ? { tag } : {}),
      offset: base + at,
    });
  };
  while (i < bytes.length) {
    const start = i;
    // 00 between objects is padding (EMV Book 3 annex B); FF is not skipped: UnionPay uses FF80xx tags.
    if (bytes[i] === 0x00) {
      i++;
      continue;
    }
    let tagLen = 1;
    if ((bytes[i]! & 0x1f) === 0x1f) {
      while (true) {
        if (start + tagLen >= bytes.length) fail(start, undefined, 'tag runs past the end of the field');
        const b = bytes[start + tagLen]!;
        tagLen++;
        if ((b & 0x80) === 0) break;
        if (tagLen >= 3) fail(start, undefined, 'tag longer than 3 bytes');
      }
    }
    const tag = bytes
      .subarray(start, start + tagLen)
      .toString('hex')
      .toUpperCase();
    i = start + tagLen;
    if (i >= bytes.length) fail(start, tag, 'length missing after the tag');
    let len = bytes[i]!;
    i++;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 2) fail(i - 1, tag, `length form 0x${len.toString(16)} (expected 1 byte, 81 or 82)`);
      if (i + n > bytes.length) fail(i - 1, tag, 'length runs past the end of the field');
      len = n === 1 ? bytes[i]! : bytes.readUInt16BE(i);
      i += n;
    }
    if (i + len > bytes.length)
      fail(start, tag, `value of ${len} bytes but only ${bytes.length - i} remain (truncated)`);
    items.push({ tag, value: Buffer.from(bytes.subarray(i, i + len)), offset: base + start });
    i += len;
  }
  return items;
}

/** Encodes TLVs (definite lengths: short form below 128, else 81 / 82). */
export function encodeTlvList(items: readonly { tag: string; value: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const { tag, value } of items) {
    parts.push(Buffer.from(tag, 'hex'));
    const n = value.length;
    if (n < 0x80) parts.push(Buffer.from([n]));
    else if (n < 0x100) parts.push(Buffer.from([0x81, n]));
    else parts.push(Buffer.from([0x82, n >> 8, n & 0xff]));
    parts.push(value);
  }
  return Buffer.concat(parts);
}
