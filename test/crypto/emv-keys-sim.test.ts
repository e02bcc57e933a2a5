/**
 * The simulated card (reader simulator, simulators/reader/card-data.ts) and the host simulator's issuer
 * side (simulators/shared/cryptogram.ts as simulators/host/authorizer.ts calls it) agree under every
 * CVN of the table and the simulators' default scheme: ARQC verifies, tag 91 is ARPC method 1 or 2 as
 * the CVN says and the card accepts it, the TC verifies; an altered 91 sets "issuer authentication
 * failed". Property test with fast-check (seed printed; FUZZ_SEED=n replays), then the two new test
 * cards end to end through a running host simulator.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pan } from '../../src/card/index.js';
import { CVN_SCHEMES, DesKey } from '../../src/crypto/index.js';
import { encodeTlv, findTlv, parseIssuerResponse, parseTlv, tlv } from '../../src/emv/index.js';
import { completeCard, readCard, type CardRead } from '../../simulators/reader/card-data.js';
import { CardTableError, parseCards, type TestCard } from '../../simulators/shared/cards.js';
import {
  issuerAuthenticationDataFor,
  LEGACY_SCHEME,
  verifyCryptogram,
  type CardKeys,
} from '../../simulators/shared/cryptogram.js';
import { card as tableCard } from '../host-sim/client.js';
import { field, harness, rc, type Harness } from '../host-sim/helpers.js';
import { seedFromEnv } from '../support/prng.js';

const seed = seedFromEnv('emv-keys card/host');
const workingKeys = {
  scheme: 'des' as const,
  pik: DesKey.from(Buffer.alloc(16, 0x11), 'pik'),
  mak: DesKey.from(Buffer.alloc(8, 0x22), 'mak'),
  tdk: undefined,
};

function testCard(pan: string, psn: string | null, imk: Buffer, cvn: string | null): TestCard {
  return {
    id: 'prop-card',
    label: 'property test card',
    pan: Pan.fromDigits(pan),
    psn,
    expiry: '3012',
    scheme: 'unionpay',
    domestic: true,
    serviceCode: '220',
    balance: 0,
    account: 'prop-card',
    pin: null,
    imk,
    cvn,
    entryModes: ['chip'],
    issuerScript: false,
    token: undefined,
  };
}

function chipRead(c: TestCard, amount: bigint, atc: number): CardRead {
  return readCard({
    card: c,
    iface: 'chip',
    fallback: false,
    request: { amount, currency: '156', type: 'sale', interfaces: ['chip'], pinAllowed: false },
    keys: workingKeys,
    atc,
    transactionCounter: 1,
    wrongPin: false,
    terminalSerial: 'SIM00001',
  });
}

const keysOf = (c: TestCard): CardKeys => ({ imk: c.imk!, pan: c.pan, psn: c.psn, cvn: c.cvn });
const cvns: (string | null)[] = [null, ...Object.keys(CVN_SCHEMES)];

describe('card and host agree under each CVN (property)', () => {
  it.each(cvns.map((c) => [c ?? 'default']))('CVN %s', (label) => {
    const cvn = label === 'default' ? null : label;
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{12,19}$/),
        fc.option(fc.stringMatching(/^[0-9]{2}$/), { nil: null }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 1, max: 99_999_999 }),
        fc.constantFrom('00', '05', '51'),
        fc.nat(),
        (pan, psn, atc, imkBytes, amount, code, bit) => {
          const c = testCard(pan, psn, Buffer.from(imkBytes), cvn);
          const read = chipRead(c, BigInt(amount), atc);
          const els = parseTlv(read.iccData!).elements;
          // Host: verifies the ARQC with the scheme the card's CVN selects.
          const check = verifyCryptogram(keysOf(c), els);
          if (!check.ok) throw new Error(`ARQC rejected: ${check.reason}`);
          expect(check.scheme).toBe(cvn ? CVN_SCHEMES[cvn] : LEGACY_SCHEME);
          const iad = issuerAuthenticationDataFor(check.scheme, check.sessionKey, check.arqc, code);
          expect(iad.length).toBe(check.scheme.arpc === 1 ? 10 : 8);
          // Card: accepts the genuine 91, answers TC or AAC, and the host verifies that cryptogram.
          const issuerData = encodeTlv([tlv('91', iad), tlv('8A', Buffer.from(code, 'latin1'))]);
          const done = completeCard({
            read,
            approved: code === '00',
            unableToGoOnline: false,
            issuerData,
            chipDeclines: false,
          });
          expect(done.issuerAuthenticated).toBe(true);
          expect(done.cryptogram).toBe(code === '00' ? 'tc' : 'aac');
          expect(verifyCryptogram(keysOf(c), parseTlv(done.iccData!).elements, { arc: code }).ok).toBe(true);
          // One flipped bit anywhere in 91: issuer authentication failed, TVR byte 5 bit 7, AAC.
          const flipped = Buffer.from(iad);
          const i = bit % (iad.length * 8);
          flipped[i >> 3] = flipped[i >> 3]! ^ (0x80 >> (i & 7));
          const bad = completeCard({
            read: chipRead(c, BigInt(amount), atc),
            approved: code === '00',
            unableToGoOnline: false,
            issuerData: encodeTlv([tlv('91', flipped), tlv('8A', Buffer.from(code, 'latin1'))]),
            chipDeclines: false,
          });
          expect(bad.issuerAuthenticated).toBe(false);
          expect(bad.cryptogram).toBe('aac');
          expect(findTlv(parseTlv(bad.iccData!).elements, '95')!.value[4]! & 0x40).toBe(0x40);
        },
      ),
      { seed, numRuns: 40 },
    );
  });

  it('a cryptogram under another scheme than the card was issued with is declined', () => {
    const imk = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
    const uics = testCard('6212345678010000026', '01', imk, '01');
    const els = parseTlv(chipRead(uics, 100n, 5).iccData!).elements;
    expect(verifyCryptogram(keysOf(uics), els).ok).toBe(true);
    // The same IAD bytes (CVN 01) but the issuer computing with the default scheme: mismatch.
    expect(verifyCryptogram({ ...keysOf(uics), cvn: null }, els)).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
    // A card issued as Visa CVN 18 showing CVN 01 in 9F10: no downgrade.
    expect(verifyCryptogram({ ...keysOf(uics), cvn: '12' }, els)).toMatchObject({
      ok: false,
      reason: 'cvn_mismatch',
      tag: '9F10',
    });
  });
});

describe('the CVN test cards through the host simulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h.close();
  });

  it.each([
    ['cup-debit-uics', '01', 10],
    ['visa-cvn18', '12', 8],
  ] as const)('%s (CVN %s): approved with a 91 the card verifies (%i bytes)', async (id, cvn, len) => {
    const cd = tableCard(id);
    expect(cd.cvn).toBe(cvn);
    const c = await h.terminal();
    const read = chipRead(cd, 12_300n, 77);
    const req = await c.authFields(cd, { amount: 12_300, tamper: () => read.iccData! });
    const r = await c.request(req.mti, req.fields);
    expect(rc(r)).toBe('00');
    const issuer = parseIssuerResponse(field(r, 55) as Buffer);
    if (!issuer.ok) throw new Error('field 55 of the response does not parse');
    const iad = issuer.value.issuerAuthenticationData!;
    expect(iad.raw.length).toBe(len);
    const done = completeCard({
      read,
      approved: true,
      unableToGoOnline: false,
      issuerData: encodeTlv([tlv('91', iad.raw), tlv('8A', Buffer.from('00', 'latin1'))]),
      chipDeclines: false,
    });
    expect(done.issuerAuthenticated).toBe(true);
    expect(done.cryptogram).toBe('tc');
  });

  it('a UICS card whose cryptogram used the EMV common session key is declined 05', async () => {
    const cd = tableCard('cup-debit-uics');
    const c = await h.terminal();
    // The client computes field 55 with the card's CVN; without one, the default (EMV common) scheme.
    const r = await c.sale({ ...cd, cvn: null }, 12_300);
    expect(rc(r)).toBe('05');
    expect(field(r, 38)).toBeUndefined();
  });
});

describe('cards.json cvn field', () => {
  const base = {
    id: 'x',
    pan: '6212345678010000026',
    psn: '01',
    expiry: '3106',
    scheme: 'unionpay',
    serviceCode: '220',
    balance: 1,
    pin: null,
    imk: 'AD8F461598118DDE140F83ECB0ED094A',
    entryModes: ['chip'],
  };
  const table = (card: Record<string, unknown>) => ({ currency: '156', cards: [card], amountOutcomes: [] });

  it('is optional (null: the default scheme) and must name a CVN of the table', () => {
    expect(parseCards(table(base)).cards[0]!.cvn).toBeNull();
    expect(parseCards(table({ ...base, cvn: '12' })).cards[0]!.cvn).toBe('12');
    for (const [cvn, message] of [
      ['77', /\$\.cards\[0\]\.cvn: CVN 77 is not one the simulators can compute/],
      ['1', /\$\.cards\[0\]\.cvn: must be 2 upper-case hex digits/],
      [18, /\$\.cards\[0\]\.cvn: must be a string/],
    ] as const) {
      expect(() => parseCards(table({ ...base, cvn }))).toThrow(CardTableError);
      expect(() => parseCards(table({ ...base, cvn }))).toThrow(message);
    }
  });
});
