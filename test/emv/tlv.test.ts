import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  MAX_TLV_DEPTH,
  TlvError,
  encodeTlv,
  findTlv,
  isConstructedTag,
  normalizeTag,
  parseTlv,
  tlv,
  tryParseTlv,
  walkTlv,
} from '../../src/emv/index.js';
import { TEST_PAN, vectorBytes } from './vectors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function errorOf(blob: Buffer, strict = false): TlvError {
  try {
    parseTlv(blob, { strict });
  } catch (e) {
    if (e instanceof TlvError) return e;
    throw e;
  }
  throw new Error('expected a TlvError');
}

describe('BER-TLV lengths', () => {
  it('reads and writes short, 81, 82 and 83 forms', () => {
    for (const n of [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x1234, 0xffff, 0x10000, 0x12345]) {
      const el = tlv('DF01', Buffer.alloc(n, 0xab));
      const bytes = encodeTlv([el]);
      const expectedHeader =
        n < 0x80
          ? [n]
          : n < 0x100
            ? [0x81, n]
            : n < 0x10000
              ? [0x82, n >> 8, n & 0xff]
              : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
      expect([...bytes.subarray(2, 2 + expectedHeader.length)], `length ${n}`).toEqual(expectedHeader);
      const back = parseTlv(bytes, { strict: true }).elements;
      expect(back).toHaveLength(1);
      expect(back[0]!.value.equals(el.value)).toBe(true);
    }
  });

  it('rejects indefinite length (80) and more than three length bytes as bad_length at the length byte', () => {
    const e1 = errorOf(hex('9F02 80 00'));
    expect([e1.code, e1.offset, e1.byteOffset, e1.path]).toEqual(['bad_length', 0, 2, '9F02']);
    const e2 = errorOf(hex('5F2A 02 0156 82 84 00000001 00'));
    expect([e2.code, e2.offset, e2.byteOffset, e2.path]).toEqual(['bad_length', 5, 6, '82']);
  });

  it('keeps a non-minimal long form byte-exact, with a warning; strict mode rejects it', () => {
    const blob = hex('9F36 81 02 0349 95 82 0005 008004E000');
    const { elements, warnings } = parseTlv(blob);
    expect(elements.map((e) => [e.tag, e.value.toString('hex')])).toEqual([
      ['9F36', '0349'],
      ['95', '008004e000'],
    ]);
    expect(elements[0]!.lengthBytes?.toString('hex')).toBe('8102');
    expect(warnings.map((w) => [w.code, w.path, w.offset, w.byteOffset])).toEqual([
      ['length_non_minimal', '9F36', 0, 2],
      ['length_non_minimal', '95', 6, 7],
    ]);
    expect(encodeTlv(elements).equals(blob)).toBe(true);
    const e = errorOf(blob, true);
    expect([e.code, e.offset, e.byteOffset]).toEqual(['length_non_minimal', 0, 2]);
  });

  it('reports a length missing after the tag at the end of the blob', () => {
    const e = errorOf(hex('9F2701809F36'));
    expect([e.code, e.offset, e.byteOffset, e.path]).toEqual(['length_truncated', 4, 6, '9F36']);
  });
});

describe('BER-TLV tags', () => {
  it('parses one-, two- and three-byte tags and rejects a fourth byte', () => {
    const blob = hex('4F 01 AA 9F02 01 BB DF8129 01 CC');
    expect(parseTlv(blob).elements.map((e) => e.tag)).toEqual(['4F', '9F02', 'DF8129']);
    const e = errorOf(hex('DF 81 82 03 01 00'));
    expect([e.code, e.offset, e.byteOffset]).toEqual(['tag_too_long', 0, 2]);
  });

  it('reports a missing third tag byte', () => {
    const e = errorOf(hex('4F 01 AA DF 81'));
    expect([e.code, e.offset, e.byteOffset]).toEqual(['tag_truncated', 3, 5]);
  });

  it('normalizeTag accepts well-formed tags only', () => {
    expect(normalizeTag('9f26')).toBe('9F26');
    expect(normalizeTag('DF8129')).toBe('DF8129');
    for (const bad of ['', '9', 'ZZ', '9F', '5A01', 'DF81', 'DF8182', '9F2601', 'DF818283']) {
      expect(() => normalizeTag(bad), bad).toThrow(TlvError);
    }
    expect(isConstructedTag('70')).toBe(true);
    expect(isConstructedTag('BF0C')).toBe(true);
    expect(isConstructedTag('9F26')).toBe(false);
  });
});

describe('constructed elements', () => {
  it('parses templates recursively with blob offsets and a tag path', () => {
    const blob = hex('70 0D 5F24 03 301231 61 05 4F 03 A00000');
    const { elements } = parseTlv(blob);
    const paths: string[] = [];
    walkTlv(elements, (t, path) => paths.push(`${path}@${t.offset}`));
    expect(paths).toEqual(['70@0', '70/5F24@2', '70/61@8', '70/61/4F@10']);
    expect(findTlv(elements, '4F')?.value.toString('hex')).toBe('a00000');
  });

  it('errors inside a template carry the template path (strict)', () => {
    const e = errorOf(hex('70 06 57 08 12345678'), true);
    expect([e.code, e.path, e.offset, e.byteOffset]).toEqual(['value_truncated', '70/57', 2, 8]);
  });

  it('keeps a constructed value that is not BER opaque in lenient mode', () => {
    const blob = hex('9F02 06 000000000100 E1 04 DF 81 01 7F 9F03 06 000000000000');
    const { elements, warnings } = parseTlv(blob);
    expect(elements.map((e) => [e.tag, e.opaque])).toEqual([
      ['9F02', false],
      ['E1', true],
      ['9F03', false],
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      code: 'opaque_container',
      path: 'E1',
      offset: 9,
      cause: { code: 'value_truncated' },
    });
    expect(encodeTlv(elements).equals(blob)).toBe(true);
  });

  it('drops the warnings of an inner level that ends up opaque', () => {
    // Inside E1: a non-minimal length (a warning) and then a truncated element: only opaque_container remains.
    const blob = hex('E1 07 9F36 81 02 0349 5A');
    expect(parseTlv(blob).warnings.map((w) => w.code)).toEqual(['opaque_container']);
  });

  it('keeps templates nested beyond the depth limit opaque (strict: too_deep)', () => {
    let inner = hex('9F36 02 0001');
    for (let i = 0; i < MAX_TLV_DEPTH + 2; i++) inner = encodeTlv([tlv('E1', inner)]);
    const { warnings } = parseTlv(inner);
    expect(warnings.map((w) => w.code)).toEqual(['too_deep']);
    expect(encodeTlv(parseTlv(inner).elements).equals(inner)).toBe(true);
    expect(errorOf(inner, true).code).toBe('too_deep');
  });
});

describe('building', () => {
  it('tlv() copies primitive values and encodes children for templates', () => {
    const src = Buffer.from('0001', 'hex');
    const atc = tlv('9f36', src);
    src[1] = 0xff;
    expect(atc.tag).toBe('9F36');
    expect(atc.value.toString('hex')).toBe('0001');
    const tpl = tlv('71', [
      tlv('9F18', Buffer.from('00000001', 'hex')),
      tlv('86', Buffer.from('841E000004', 'hex')),
    ]);
    expect(encodeTlv([tpl]).toString('hex').toUpperCase()).toBe('710E9F18040000000186058' + '41E000004');
    expect(tpl.children?.map((c) => c.tag)).toEqual(['9F18', '86']);
  });

  it('tlv() parses bytes given for a template, and marks non-BER bytes opaque', () => {
    expect(tlv('71', hex('9F18 04 00000001')).children?.[0]?.tag).toBe('9F18');
    const junk = tlv('FF01', hex('CFFBB7D1'));
    expect(junk.opaque).toBe(true);
    expect(junk.children).toBeUndefined();
  });

  it('tlv() refuses children for a primitive tag and oversize values', () => {
    expect(() => tlv('9F26', [tlv('9F36', hex('0001'))])).toThrow(TlvError);
    expect(() => tlv('DF01', Buffer.alloc(0x1000000))).toThrow(/too long/);
  });
});

describe('inputs and copies', () => {
  it('accepts a plain Uint8Array and, with copy, is immune to the caller wiping its buffer', () => {
    const bytes = new Uint8Array(vectorBytes('f55-cup-contact-sale-scandemo'));
    const viewed = parseTlv(bytes).elements;
    const copied = parseTlv(bytes, { copy: true }).elements;
    const before = copied[0]!.value.toString('hex');
    bytes.fill(0);
    expect(viewed[0]!.value.toString('hex')).toBe('0000000000000000');
    expect(copied[0]!.value.toString('hex')).toBe(before);
  });

  it('tryParseTlv returns errors as values', () => {
    const r = tryParseTlv(hex('9F'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('tag_truncated');
    expect(tryParseTlv(Buffer.alloc(0))).toEqual({ ok: true, elements: [], warnings: [] });
  });
});

describe('log safety of Tlv values', () => {
  const blob = encodeTlv([
    tlv('70', [tlv('5A', hex(`${TEST_PAN}F`)), tlv('57', hex(`${TEST_PAN}D3012`)), tlv('9F36', hex('0349'))]),
  ]);

  it('toJSON and util.inspect mask sensitive tags, opaque values and unknown proprietary data', () => {
    const { elements } = parseTlv(blob);
    const json = JSON.stringify(elements);
    expect(json).toContain('"value":"***"');
    expect(json).toContain('"value":"0349"');
    expect(json).not.toContain(TEST_PAN.slice(0, 12));
    const shown = inspect(elements, { depth: 10 });
    expect(shown).not.toContain(TEST_PAN.slice(0, 12));
    const opaque = parseTlv(vectorBytes('f55-moov-contactless-proprietary')).elements;
    const text = JSON.stringify(opaque) + inspect(opaque, { depth: 10 });
    expect(text).toContain('opaque (172 bytes)');
    expect(text).toContain('proprietary (40 bytes)');
    expect(text.toUpperCase()).not.toContain('A1292A353438392A'); // inside the opaque FF8105
    expect(text.toUpperCase()).not.toContain('FD4B4F392E1278361252'); // unknown DFEF4D
  });

  it('error messages carry tags, offsets and lengths, never value bytes', () => {
    const truncated = blob.subarray(0, blob.length - 3);
    const e = errorOf(truncated, true);
    expect(e.message).not.toMatch(/621797|3910000/);
    expect(JSON.stringify(e)).not.toMatch(/621797|3910000/);
  });
});
