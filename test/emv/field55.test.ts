import { describe, expect, it } from 'vitest';
import { buildField55, encodeTlv, loadField55Profile, parseTlv, tlv, type Tlv } from '../../src/emv/index.js';
import { TEST_PAN, vectorBytes } from './vectors.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** What a reader hands over: the chip data plus things that must never reach field 55, shuffled. */
function readerData(field55: Buffer): Tlv[] {
  const chip = parseTlv(field55).elements;
  const extra = [
    tlv('57', hex(`${TEST_PAN}D30122011234`)),
    tlv('5A', hex(`${TEST_PAN}F`)),
    tlv('5F24', hex('301231')),
    tlv('5F20', Buffer.from('CARDHOLDER/TEST', 'latin1')),
    tlv('4F', hex('A000000333010101')),
    tlv('50', Buffer.from('UnionPay', 'latin1')),
    tlv('5F34', hex('01')),
  ];
  // interleave deterministically, and reverse so the input order differs from the profile order
  const out: Tlv[] = [];
  const rev = [...chip].reverse();
  for (let i = 0; i < Math.max(rev.length, extra.length); i++) {
    if (rev[i]) out.push(rev[i]!);
    if (extra[i]) out.push(extra[i]!);
  }
  return out;
}

describe('field 55 builder', () => {
  for (const id of ['f55-cup-contact-sale-scandemo', 'f55-cup-qpboc-sale-vfwz']) {
    it(`UnionPay online request from the reader data of ${id} reproduces the vector byte for byte`, () => {
      const expected = vectorBytes(id);
      const r = buildField55(readerData(expected), 'cup-online-request');
      expect(r.ok).toBe(true);
      expect(r.bytes.toString('hex').toUpperCase()).toBe(expected.toString('hex').toUpperCase());
      expect(r.missing).toEqual([]);
      expect(r.absentConditional).toEqual(['9F63']);
      expect(
        r.dropped
          .filter((d) => d.reason === 'sensitive')
          .map((d) => d.tag)
          .sort(),
      ).toEqual(['57', '5A', '5F20', '5F24']);
      expect(
        r.dropped
          .filter((d) => d.reason === 'not_in_profile')
          .map((d) => d.tag)
          .sort(),
      ).toEqual(['4F', '50', '5F34']);
      expect(r.warnings).toEqual([]);
    });
  }

  it('never lets sensitive bytes into field 55', () => {
    const r = buildField55(readerData(vectorBytes('f55-cup-contact-sale-scandemo')), 'cup-online-request');
    expect(r.bytes.toString('hex')).not.toContain(TEST_PAN.slice(0, 12));
  });

  it('reports missing mandatory tags as a typed result', () => {
    const reader = parseTlv(vectorBytes('f55-cup-contact-sale-scandemo')).elements.filter(
      (t) => t.tag !== '9F26' && t.tag !== '95',
    );
    const r = buildField55(reader, 'cup-online-request');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('missing_mandatory');
    expect(r.error.missing).toEqual(['9F26', '95']);
    expect(r.missing).toEqual(['9F26', '95']);
    expect(r.elements.map((t) => t.tag)).not.toContain('9F26');
  });

  it('finds tags inside reader templates, keeps the first of duplicates, drops opaque values', () => {
    const reader = [
      tlv('77', [tlv('9F27', hex('80')), tlv('9F36', hex('0349')), tlv('9F26', hex('DEAE676D1C473411'))]),
      tlv('9F36', hex('9999')),
      tlv('E1', hex('DF817F')), // opaque vendor container
      tlv('95', hex('0000000000')),
      tlv('9F10', hex('07020103A0A806010A01000000000098F01F52')),
    ];
    expect(reader[2]!.opaque).toBe(true);
    const r = buildField55(reader, 'cup-reversal');
    expect(r.ok).toBe(true);
    expect(encodeTlv(r.elements).equals(r.bytes)).toBe(true);
    expect(r.elements.map((t) => [t.tag, t.value.toString('hex')])).toEqual([
      ['95', '0000000000'],
      ['9F10', '07020103a0a806010a01000000000098f01f52'],
      ['9F36', '0349'],
    ]);
    expect(r.dropped).toEqual([
      { tag: '9F27', reason: 'not_in_profile' },
      { tag: '9F26', reason: 'not_in_profile' },
      { tag: '9F36', reason: 'duplicate' },
      { tag: 'E1', reason: 'opaque' },
    ]);
    expect(r.absentConditional).toEqual(['DF31']);
  });

  it('UnionPay script advice takes DF31 in profile order', () => {
    const reader = [
      ...parseTlv(vectorBytes('f55-cup-contact-sale-scandemo')).elements,
      tlv('DF31', hex('2000000001')),
    ];
    const r = buildField55(reader, 'cup-script-advice');
    expect(r.ok).toBe(true);
    expect(r.elements.map((t) => t.tag).join(' ')).toBe('9F33 95 9F37 9F1E 9F10 9F26 9F36 82 DF31 9F1A 9A');
  });

  it('Mastercard profile from the contactless vector: EMV tags kept, vendor data dropped', () => {
    const reader = parseTlv(vectorBytes('f55-moov-contactless-proprietary')).elements;
    const r = buildField55(reader, loadField55Profile('mastercard-online-request'));
    // that blob has no cryptogram (9F26, 9F27, 9F10): the builder says so instead of sending it
    expect(r.ok).toBe(false);
    expect(r.missing).toEqual(['9F26', '9F27', '9F10']);
    expect(r.elements.map((t) => t.tag).join(' ')).toBe(
      '9F37 9F36 95 9A 9C 9F02 5F2A 82 9F1A 9F03 9F33 9F34 9F35 9F1E 9F09 9F41 9F53',
    );
    const dropped = Object.fromEntries(r.dropped.map((d) => [d.tag, d.reason]));
    expect(dropped).toMatchObject({
      FF8105: 'opaque',
      FFEE01: 'opaque',
      DFEF4D: 'not_in_profile',
      '4F': 'not_in_profile',
    });
  });

  it('warns when a value length is outside the dictionary bounds', () => {
    const reader = [
      ...parseTlv(vectorBytes('f55-cup-contact-sale-scandemo')).elements.filter((t) => t.tag !== '9F27'),
      tlv('9F27', hex('8000')),
    ];
    const r = buildField55(reader, 'cup-online-request');
    expect(r.warnings).toEqual([{ tag: '9F27', code: 'length_out_of_range', length: 2, min: 1, max: 1 }]);
  });
});
