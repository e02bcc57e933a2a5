import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Pan } from '../../src/card/index.js';
import { classifyPresentation, encodeTlv, entryModeKind, parseTlv, tlv } from '../../src/emv/index.js';
import { TEST_PAN, vectorBytes } from './vectors.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** A Visa device token as a phone wallet presents it (test values only). */
const TOKEN_PAN = '4895370012345678';
const PAR = 'V0010013019123456789012345678'; // 29 characters
const deviceTokenTlv = [
  tlv('4F', hex('A0000000031010')),
  tlv('5A', hex(TOKEN_PAN)),
  tlv('9F6E', hex('23840000')), // FFI v1, consumer mobile phone, passcode + cloud credentials
  tlv('9F19', hex('040010030273')), // token requestor id 40010030273
  tlv('9F24', Buffer.from(PAR, 'latin1')),
  tlv('9F25', hex('1234')),
  tlv('9F26', hex('0102030405060708')),
];

describe('token awareness', () => {
  it('a phone wallet (9F6E mobile device, 9F19, 9F24, 9F25) read contactless is a device token', () => {
    const r = classifyPresentation({ entryMode: '071', tlv: deviceTokenTlv });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual({
      kind: 'device_token',
      entry: 'contactless',
      scheme: 'visa',
      panDisplay: '489537******5678',
      deviceAccountLast4: '5678',
      fundingLast4: '1234',
      par: PAR,
      tokenRequestorId: '40010030273',
      formFactor: 'Consumer mobile phone',
      tokenEvidence: ['token_requestor_id', 'funding_pan_last4', 'device_form_factor'],
    });
    // The facts are what the journal may keep: no PAN in any text form.
    const text = JSON.stringify(r.value) + inspect(r.value);
    expect(text).not.toContain(TOKEN_PAN);
    expect(text).not.toContain(TOKEN_PAN.slice(0, 10));
  });

  it('each token indicator alone is enough; the PAR alone is not (physical cards have PARs too)', () => {
    const only = (tag: string) => deviceTokenTlv.filter((t) => ['4F', '5A', tag].includes(t.tag));
    for (const tag of ['9F19', '9F25', '9F6E']) {
      const r = classifyPresentation({ entryMode: '07', tlv: only(tag) });
      expect(r.ok && r.value.kind, tag).toBe('device_token');
    }
    const parOnly = classifyPresentation({ entryMode: '07', tlv: only('9F24') });
    expect(parOnly.ok && [parOnly.value.kind, parOnly.value.par]).toEqual(['contactless', PAR]);
  });

  it('a Mastercard card read contactless (Third Party Data device type 00) stays a card', () => {
    const r = classifyPresentation({
      entryMode: '0710',
      tlv: [tlv('84', hex('A0000000041010')), tlv('9F6E', hex('08400000303000'))],
      pan: Pan.fromDigits('5413330089020011'),
    });
    expect(r.ok && r.value).toEqual({
      kind: 'contactless',
      entry: 'contactless',
      scheme: 'mastercard',
      panDisplay: '541333******0011',
      formFactor: 'Card',
      tokenEvidence: [],
    });
  });

  it('Amex 9F6E (a reader setting) does not make a token', () => {
    const r = classifyPresentation({
      entryMode: '071',
      tlv: [tlv('4F', hex('A00000002501')), tlv('9F6E', hex('23840000'))],
      pan: Pan.fromDigits('374245455400126'),
    });
    expect(r.ok && [r.value.kind, r.value.scheme]).toEqual(['contactless', 'amex']);
  });

  it('token indicators on a contact chip read do not make a device token', () => {
    const r = classifyPresentation({ entryMode: '051', tlv: deviceTokenTlv });
    expect(r.ok && [r.value.kind, r.value.deviceAccountLast4, r.value.par]).toEqual(['chip', undefined, PAR]);
  });

  it('UnionPay chip card from the scandemo field 55: scheme from the AID in 84', () => {
    const r = classifyPresentation({
      entryMode: '051',
      tlv: vectorBytes('f55-cup-contact-sale-scandemo'),
      pan: Pan.fromDigits(TEST_PAN),
    });
    expect(r.ok && r.value).toEqual({
      kind: 'chip',
      entry: 'chip',
      scheme: 'unionpay',
      panDisplay: '621797*********5090',
      tokenEvidence: [],
    });
  });

  it('without an AID the scheme comes from the BIN; the PAN can come from 57', () => {
    const mag = classifyPresentation({ entryMode: '021', pan: Pan.fromDigits('4111111111111111') });
    expect(mag.ok && [mag.value.kind, mag.value.scheme, mag.value.panDisplay]).toEqual([
      'magstripe',
      'visa',
      '411111******1111',
    ]);
    const twoSeries = classifyPresentation({ entryMode: '801', pan: Pan.fromDigits('2223000048400011') });
    expect(twoSeries.ok && [twoSeries.value.kind, twoSeries.value.scheme]).toEqual([
      'fallback',
      'mastercard',
    ]);
    const keyed = classifyPresentation({ entryMode: '012', pan: Pan.fromDigits('3530111333300000') });
    expect(keyed.ok && [keyed.value.kind, keyed.value.scheme]).toEqual(['keyed', 'jcb']);
    const fromTrack = classifyPresentation({
      entryMode: '05',
      tlv: encodeTlv([tlv('57', hex(`${TEST_PAN}D30122011234`))]),
    });
    expect(fromTrack.ok && [fromTrack.value.panDisplay, fromTrack.value.scheme]).toEqual([
      '621797*********5090',
      'unionpay',
    ]);
    const unknownRid = classifyPresentation({
      entryMode: '07',
      tlv: [tlv('4F', hex('A0000009991010'))],
      pan: Pan.fromDigits('6011000990139424'),
    });
    expect(unknownRid.ok && unknownRid.value.scheme).toBe('discover');
  });

  it('errors are values: unknown entry mode, no PAN, unreadable TLV', () => {
    expect(classifyPresentation({ entryMode: '99', pan: Pan.fromDigits(TEST_PAN) })).toMatchObject({
      ok: false,
      error: { code: 'unknown_entry_mode' },
    });
    expect(classifyPresentation({ entryMode: '07', tlv: [tlv('9F19', hex('040010030273'))] })).toMatchObject({
      ok: false,
      error: { code: 'no_pan' },
    });
    expect(classifyPresentation({ entryMode: '07', tlv: hex('9F') })).toMatchObject({
      ok: false,
      error: { code: 'tlv_invalid' },
    });
  });

  it('maps entry modes', () => {
    expect(['01', '02', '05', '07', '80', '90', '91', '95', '98', '00', ''].map(entryModeKind)).toEqual([
      'keyed',
      'magstripe',
      'chip',
      'contactless',
      'fallback',
      'magstripe',
      'contactless',
      'chip',
      'contactless',
      undefined,
      undefined,
    ]);
  });

  it('reads parsed and raw TLV alike', () => {
    const bytes = encodeTlv(deviceTokenTlv);
    const a = classifyPresentation({ entryMode: '07', tlv: bytes });
    const b = classifyPresentation({ entryMode: '07', tlv: parseTlv(bytes).elements });
    expect(a).toEqual(b);
  });
});
