import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TlvError, encodeTlv, parseTlv, tlv, tryParseTlv, type Tlv } from '../../src/emv/index.js';

/** Well-formed 1-3 byte BER tags with any class and either form (constructed or primitive). */
const tagArb = (constructed: boolean): fc.Arbitrary<string> => {
  const first = (low5: fc.Arbitrary<number>) =>
    fc
      .tuple(fc.integer({ min: 0, max: 3 }), low5)
      .map(([cls, n]) => (cls << 6) | (constructed ? 0x20 : 0) | n);
  const hex = (bytes: number[]) => Buffer.from(bytes).toString('hex').toUpperCase();
  return fc.oneof(
    first(fc.integer({ min: 0, max: 30 })).map((b) => hex([b])),
    fc.tuple(first(fc.constant(31)), fc.integer({ min: 1, max: 0x7f })).map(([a, b]) => hex([a, b])),
    fc
      .tuple(first(fc.constant(31)), fc.integer({ min: 0x81, max: 0xff }), fc.integer({ min: 0, max: 0x7f }))
      .map(([a, b, c]) => hex([a, b, c])),
  );
};

/** Value lengths that hit every length form: short, 81, 82 (rarely; they are big). */
const valueArb = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 40 }) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 120, maxLength: 300 }) },
);

const { tree } = fc.letrec<{ tree: Tlv; primitive: Tlv; template: Tlv }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('primitive'), tie('template')),
  primitive: fc.tuple(tagArb(false), valueArb).map(([t, v]) => tlv(t, v)),
  template: fc
    .tuple(tagArb(true), fc.array(tie('tree'), { maxLength: 4 }))
    .map(([t, children]) => tlv(t, children)),
}));

function shape(elements: readonly Tlv[]): unknown[] {
  return elements.map((e) => (e.children ? [e.tag, shape(e.children)] : [e.tag, e.value.toString('hex')]));
}

describe('property: BER-TLV round trip', () => {
  it('random TLV trees encode, parse strictly to the same tree, and re-encode byte-exactly', () => {
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 6 }), (elements) => {
        const bytes = encodeTlv(elements);
        const parsed = parseTlv(bytes, { strict: true });
        expect(parsed.warnings).toEqual([]);
        expect(shape(parsed.elements)).toEqual(shape(elements));
        expect(encodeTlv(parsed.elements).equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('non-minimal length forms survive a lenient round trip byte-exactly', () => {
    const element = fc
      .tuple(tagArb(false), fc.uint8Array({ maxLength: 60 }), fc.integer({ min: 0, max: 3 }))
      .map(([tag, value, form]) => {
        const n = value.length;
        const len =
          form === 0 && n < 0x80
            ? [n]
            : form <= 1 && n < 0x100
              ? [0x81, n]
              : form === 2
                ? [0x82, n >> 8, n & 0xff]
                : [0x83, 0, n >> 8, n & 0xff];
        return Buffer.concat([Buffer.from(tag, 'hex'), Buffer.from(len), value]);
      });
    fc.assert(
      fc.property(fc.array(element, { maxLength: 8 }), (parts) => {
        const bytes = Buffer.concat(parts);
        const parsed = parseTlv(bytes);
        expect(parsed.elements).toHaveLength(parts.length);
        expect(encodeTlv(parsed.elements).equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('any byte string either parses and re-encodes to itself, or fails with a TlvError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (raw, strict) => {
        const bytes = Buffer.from(raw);
        try {
          const parsed = parseTlv(bytes, { strict });
          expect(encodeTlv(parsed.elements).equals(bytes)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(TlvError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('tryParseTlv agrees with parseTlv', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (raw) => {
        const r = tryParseTlv(raw);
        let threw = false;
        try {
          parseTlv(raw);
        } catch {
          threw = true;
        }
        expect(r.ok).toBe(!threw);
      }),
      { numRuns: 500 },
    );
  });
});
