import { describe, expect, it } from 'vitest';
import {
  TlvError,
  encodeTlv,
  encodedLength,
  parseTlv,
  tryParseTlv,
  type Tlv,
  type TlvWarning,
} from '../../src/emv/index.js';
import { FIELD55_VECTORS, KIND_TO_CODE, type VectorTlv } from './vectors.js';

/** Compares parsed elements with a vector's `tlvs` exactly as the file's conventions describe them. */
function expectMatches(
  blob: Buffer,
  got: readonly Tlv[],
  want: readonly VectorTlv[],
  warnings: TlvWarning[],
  where: string,
): void {
  expect(
    got.map((t) => t.tag),
    `${where}: tags`,
  ).toEqual(want.map((w) => w.tag));
  want.forEach((w, i) => {
    const t = got[i]!;
    const at = `${where}/${w.tag}@${w.offset}`;
    expect(t.offset, `${at}: offset`).toBe(w.offset);
    expect(t.value.length, `${at}: length`).toBe(w.length);
    expect(t.constructed, `${at}: constructed`).toBe(w.constructed);
    expect(t.value.toString('hex').toUpperCase(), `${at}: value`).toBe(w.valueHex);
    // The length bytes on the wire: lengthHex when not a single short-form byte, else one byte < 0x80.
    const tagLen = t.tag.length / 2;
    const headerLen = encodedLength(t) - t.value.length;
    const lengthWire = blob
      .subarray(t.offset + tagLen, t.offset + headerLen)
      .toString('hex')
      .toUpperCase();
    if (w.lengthHex !== undefined) expect(lengthWire, `${at}: lengthHex`).toBe(w.lengthHex);
    else
      expect(lengthWire, `${at}: short-form length`).toBe(
        w.length.toString(16).toUpperCase().padStart(2, '0'),
      );
    if (Array.isArray(w.children)) {
      expect(t.opaque, `${at}: not opaque`).toBe(false);
      expect(t.children, `${at}: children`).toBeDefined();
      expectMatches(blob, t.children!, w.children, warnings, at);
    } else if (w.children === null) {
      // Not valid BER inside: kept opaque, reported as a warning whose cause matches childrenError.
      expect(t.opaque, `${at}: opaque`).toBe(true);
      expect(t.children, `${at}: no children`).toBeUndefined();
      const warning = warnings.find((x) => x.code === 'opaque_container' && x.offset === w.offset);
      expect(warning, `${at}: opaque_container warning`).toBeDefined();
      const ce = w.childrenError!;
      expect(warning!.cause?.code).toBe(KIND_TO_CODE[ce.kind]);
      expect(warning!.cause?.offset).toBe(ce.elementOffset);
      expect(warning!.cause?.byteOffset).toBe(ce.needByteAt);
    } else if (w.constructed) {
      // childrenNote: the value is not TLV and must not come back as children.
      expect(t.children, `${at}: not descended into`).toBeUndefined();
    }
  });
}

describe('emv-field55.json conformance', () => {
  const okVectors = FIELD55_VECTORS.filter((v) => v.expect === 'ok');
  const errorVectors = FIELD55_VECTORS.filter((v) => v.expect === 'error');

  it('has the vectors this suite is written against', () => {
    expect(okVectors.length).toBe(5);
    expect(errorVectors.length).toBe(4);
  });

  for (const v of okVectors) {
    describe(v.id, () => {
      const blob = Buffer.from(v.hex, 'hex');

      it('parses to the listed elements (offsets, tags, lengths, length bytes, values, children)', () => {
        expect(blob.length).toBe(v.byteLength);
        const { elements, warnings } = parseTlv(blob);
        expectMatches(blob, elements, v.tlvs!, warnings, v.id);
        // Top-level elements cover every byte.
        const last = elements[elements.length - 1]!;
        expect(last.offset + encodedLength(last)).toBe(blob.length);
      });

      it('re-encodes byte-identically', () => {
        expect(encodeTlv(parseTlv(blob).elements).equals(blob)).toBe(true);
        expect(encodeTlv(parseTlv(blob, { privateTags: 'primitive' }).elements).equals(blob)).toBe(true);
      });

      if (v.strictX690) {
        const sx = v.strictX690;
        it(`strict mode rejects it as ${sx.kind} at ${sx.elementOffset}/${sx.byteOffset}`, () => {
          const r = tryParseTlv(blob, { strict: true });
          expect(r.ok).toBe(false);
          if (r.ok) return;
          expect(r.error.code).toBe(KIND_TO_CODE[sx.kind]);
          expect(r.error.offset).toBe(sx.elementOffset);
          expect(r.error.byteOffset).toBe(sx.byteOffset);
        });
      }
    });
  }

  it('clean vectors parse without warnings, also in strict mode', () => {
    for (const id of [
      'f55-cup-contact-sale-scandemo',
      'f55-cup-qpboc-sale-vfwz',
      'f55-issuer-response-91-71-72',
    ]) {
      const blob = Buffer.from(FIELD55_VECTORS.find((v) => v.id === id)!.hex, 'hex');
      expect(parseTlv(blob).warnings, id).toEqual([]);
      expect(encodeTlv(parseTlv(blob, { strict: true }).elements).equals(blob), id).toBe(true);
    }
  });

  it('the private 2-byte-tag e-signature field 55 parses with warnings, or cleanly under privateTags: primitive', () => {
    const blob = Buffer.from(
      FIELD55_VECTORS.find((v) => v.id === 'f55-cup-esign-private-2byte-tags')!.hex,
      'hex',
    );
    const lenient = parseTlv(blob);
    expect(lenient.warnings.map((w) => `${w.code}@${w.offset}`)).toEqual([
      'tag_non_minimal@0',
      'opaque_container@0',
      'opaque_container@29',
      'opaque_container@36',
      'opaque_container@40',
    ]);
    const flat = parseTlv(blob, { privateTags: 'primitive' });
    expect(flat.warnings.map((w) => w.code)).toEqual(['tag_non_minimal']);
    expect(flat.elements.map((t) => [t.tag, t.opaque, t.children])).toEqual([
      ['FF00', false, undefined],
      ['FF01', false, undefined],
      ['FF02', false, undefined],
      ['FF06', false, undefined],
    ]);
    expect(flat.elements[3]!.value.toString('hex')).toBe('20220824141556'); // BCD date-time
  });

  for (const v of errorVectors) {
    it(`${v.id}: fails with ${v.error!.kind} at element ${v.error!.elementOffset}, byte ${v.error!.needByteAt}`, () => {
      const blob = Buffer.from(v.hex, 'hex');
      expect(blob.length).toBe(v.byteLength);
      for (const strict of [false, true]) {
        let caught: unknown;
        try {
          parseTlv(blob, { strict });
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(TlvError);
        const e = caught as TlvError;
        expect(e.code).toBe(KIND_TO_CODE[v.error!.kind]);
        expect(e.offset).toBe(v.error!.elementOffset);
        expect(e.byteOffset).toBe(v.error!.needByteAt);
      }
      const r = tryParseTlv(blob);
      expect(r.ok).toBe(false);
    });
  }

  it('error paths name the element: 9F10 for the value truncation, 72 for the nested template', () => {
    const pathOf = (id: string): string => {
      const r = tryParseTlv(Buffer.from(FIELD55_VECTORS.find((v) => v.id === id)!.hex, 'hex'));
      return r.ok ? 'parsed' : r.error.path;
    };
    expect(pathOf('f55-bad-value-truncated')).toBe('9F10');
    expect(pathOf('f55-bad-nested-template-truncated')).toBe('72');
    expect(pathOf('f55-bad-long-length-truncated')).toBe('FF8105');
    expect(pathOf('f55-bad-tag-truncated')).toBe('');
  });
});
