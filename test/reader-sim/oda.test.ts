/**
 * The reader simulator's offline data authentication (simulators/reader/oda.ts) step by step: SDA and
 * DDA chains with real RSA under the test CA, and each way a chain breaks (EMV 4.4 Book 2 sections 5
 * and 6). The daemon-level view (TVR bits, TAC-denial) is test/engine/reader-params.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  odaKeys,
  personalise,
  signDynamicData,
  verifyDda,
  verifySda,
  type HeldCapk,
} from '../../simulators/reader/oda.js';

const PAN = '6212345678000000010';
const OTHER_PAN = '6225880000000019';
const EXPIRY = '3012';
const AIP = Buffer.from('7C00', 'hex');
const { ca } = odaKeys();
const CAPK: HeldCapk = { rid: 'A000000333', index: ca.index, modulus: ca.modulus, exponent: ca.exponent };
const UN = Buffer.from('1A2B3C4D', 'hex');

const flip = (b: Buffer, at: number): Buffer => {
  const c = Buffer.from(b);
  c[at] = c[at]! ^ 0x01;
  return c;
};

describe('reader simulator ODA', () => {
  const card = personalise(PAN, EXPIRY, AIP);

  it('SDA and DDA pass with the CA key the host serves as C1', () => {
    expect(verifySda(CAPK, card, PAN, EXPIRY, AIP)).toEqual({ ok: true });
    expect(verifyDda(CAPK, card, PAN, EXPIRY, AIP, UN, signDynamicData(UN))).toEqual({ ok: true });
    // Each INTERNAL AUTHENTICATE signs a fresh ICC dynamic number: two signatures differ.
    expect(signDynamicData(UN).equals(signDynamicData(UN))).toBe(false);
  });

  it('each broken link has its reason', () => {
    const sig = signDynamicData(UN);
    const dda = (c = card, pan = PAN, un = UN, s = sig) => verifyDda(CAPK, c, pan, EXPIRY, AIP, un, s);
    expect(verifyDda(undefined, card, PAN, EXPIRY, AIP, UN, sig)).toEqual({
      ok: false,
      why: 'CA public key not held',
    });
    expect(dda({ ...card, issuerCertificate: flip(card.issuerCertificate, 40) })).toMatchObject({
      ok: false,
    });
    expect(dda({ ...card, iccCertificate: flip(card.iccCertificate, 40) })).toMatchObject({
      ok: false,
      why: expect.stringMatching(/^ICC certificate /),
    });
    // Another card's ICC certificate (same issuer): it names another PAN and other static data.
    const other = personalise(OTHER_PAN, EXPIRY, AIP);
    expect(dda({ ...card, iccCertificate: other.iccCertificate })).toEqual({
      ok: false,
      why: 'ICC certificate hash does not match',
    });
    // Signed over another unpredictable number: a replayed signature.
    expect(dda(card, PAN, Buffer.from('00000000', 'hex'))).toEqual({
      ok: false,
      why: 'signed dynamic data hash does not match',
    });
    expect(dda(card, PAN, UN, signDynamicData(UN, true))).toEqual({
      ok: false,
      why: 'signed dynamic data does not recover',
    });
    expect(dda(card, PAN, UN, sig.subarray(1))).toEqual({
      ok: false,
      why: 'dynamic signature length is not the ICC key length',
    });
    // SDA cannot see the dynamic part at all: a clone with the copied static data passes it.
    expect(verifySda(CAPK, card, PAN, EXPIRY, AIP)).toEqual({ ok: true });
    expect(
      verifySda(CAPK, { ...card, signedStaticData: flip(card.signedStaticData, 10) }, PAN, EXPIRY, AIP),
    ).toMatchObject({
      ok: false,
    });
  });

  it('expired certificates fail', () => {
    const later = new Date(Date.UTC(2050, 0, 1));
    expect(verifyDda(CAPK, card, PAN, EXPIRY, AIP, UN, signDynamicData(UN), later)).toEqual({
      ok: false,
      why: 'issuer certificate expired',
    });
  });
});
