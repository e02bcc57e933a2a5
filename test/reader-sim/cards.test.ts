/**
 * The simulated cards as the engine sees them through the driver (over TCP): every card profile of
 * the issue, field 55 that the host simulator can verify (shared cryptogram module), ARPC checked at
 * completion, issuer script results.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildField55,
  classifyPresentation,
  decodeScriptResults,
  encodeTlv,
  findTlv,
  parseTlv,
  tlv,
} from '../../src/emv/index.js';
import type { CardResult, StartTransaction } from '../../src/terminal/index.js';
import { loadCards } from '../../simulators/shared/cards.js';
import {
  issuerAuthenticationData,
  sessionKeyFor,
  verifyCryptogram,
} from '../../simulators/shared/cryptogram.js';
import { leakedSecrets, makeRig, type Rig } from '../terminal/rig.js';

const cards = loadCards();
const SALE: StartTransaction = {
  amount: 8_800_000n,
  currency: '156',
  type: 'sale',
  timeoutSeconds: 30,
  interfaces: ['chip', 'contactless', 'magstripe'],
  pinAllowed: true,
};

let rig: Rig | undefined;
let n = 0;
afterEach(async () => {
  const r = rig;
  rig = undefined;
  if (r) {
    await r.close();
    expect(leakedSecrets(r)).toEqual([]);
  }
});

async function read(
  r: Rig,
  request: StartTransaction = SALE,
): Promise<{ reference: string; card: CardResult }> {
  const reference = `card-${++n}`;
  const res = await r.driver.startTransaction(reference, request);
  if (res.status !== 'card_read') throw new Error(`expected a card read, got ${JSON.stringify(res)}`);
  if (res.card.pinBlock) r.secrets.add(res.card.pinBlock.reveal().toString('hex'));
  if (res.card.track2) r.secrets.add(res.card.track2.reveal('latin1'));
  return { reference, card: res.card };
}

function keysOf(id: string) {
  const c = cards.byId(id)!;
  return { imk: c.imk!, pan: c.pan, psn: c.psn };
}

describe('simulated cards', () => {
  it('UnionPay debit chip with online PIN: the UnionPay field 55 tag set and an ARQC the host can verify', async () => {
    rig = await makeRig('tcp', 'posbridge');
    const { card } = await read(rig);
    expect(card).toMatchObject({
      entryMode: '051',
      interface: 'chip',
      fallback: false,
      cardSequenceNumber: '001',
    });
    const els = parseTlv(card.iccData!).elements;
    const f55 = buildField55(els, 'cup-online-request');
    expect(f55.ok).toBe(true);
    expect(f55.missing).toEqual([]);
    expect(f55.elements.map((e) => e.tag)).toEqual([
      '9F26',
      '9F27',
      '9F10',
      '9F37',
      '9F36',
      '95',
      '9A',
      '9C',
      '9F02',
      '5F2A',
      '82',
      '9F1A',
      '9F03',
      '9F33',
      '9F34',
      '9F35',
      '9F1E',
      '84',
      '9F09',
      '9F41',
    ]);
    // the host simulator re-computes the ARQC from field 55 as sent (the filtered bytes)
    expect(verifyCryptogram(keysOf('cup-debit-chip'), parseTlv(f55.bytes).elements).ok).toBe(true);
    expect(findTlv(els, '9F34')!.value.toString('hex')).toBe('420300');
  });

  it('checks the ARPC: TC with the right 91 (scripts run), AAC with a wrong one', async () => {
    rig = await makeRig('tcp', 'posbridge', { behaviour: { card: 'cup-credit-chip' } });
    let { reference, card } = await read(rig);
    const els = parseTlv(card.iccData!).elements;
    const sk = sessionKeyFor(keysOf('cup-credit-chip'), findTlv(els, '9F36')!.value);
    const iad = issuerAuthenticationData(sk, findTlv(els, '9F26')!.value, '00');
    const script = tlv('72', [
      tlv('9F18', Buffer.from('00112233', 'hex')),
      tlv('86', Buffer.from('8424000008AABBCCDDEEFF0011', 'hex')),
    ]);
    const done = await rig.driver.completeTransaction(reference, {
      approved: true,
      responseCode: '00',
      authCode: 'A1B2C3',
      issuerData: encodeTlv([tlv('91', iad), script]),
    });
    expect(done).toMatchObject({ status: 'completed', cryptogram: 'tc' });
    if (done.status !== 'completed') return;
    const df31 = parseTlv(done.scriptResults!).elements[0]!;
    expect(df31.tag).toBe('DF31');
    const sr = decodeScriptResults(df31.value);
    expect(sr.ok && sr.value).toEqual([
      {
        outcome: 'succeeded',
        sequence: 0,
        scriptId: Buffer.from('00112233', 'hex'),
        scriptIdHex: '00112233',
      },
    ]);
    expect(rig.sim.simulator.transactions().at(-1)).toMatchObject({
      cryptogram: 'tc',
      issuerAuthenticated: true,
    });

    ({ reference, card } = await read(rig));
    const wrong = Buffer.from(iad);
    wrong[0] = wrong[0]! ^ 0xff;
    const declined = await rig.driver.completeTransaction(reference, {
      approved: true,
      responseCode: '00',
      issuerData: encodeTlv([tlv('91', wrong)]),
    });
    expect(declined).toMatchObject({ status: 'completed', cryptogram: 'aac' });
    const tvr = findTlv(parseTlv((declined as { iccData: Buffer }).iccData).elements, '95')!.value;
    expect(tvr[4]! & 0x40).toBe(0x40); // issuer authentication failed
  });

  it('Visa credit contactless without CVM, and Mastercard contactless', async () => {
    rig = await makeRig('tcp', 'posbridge', {
      behaviour: { card: 'visa-chip', presentation: 'contactless' },
    });
    let { reference, card } = await read(rig);
    expect(card).toMatchObject({ entryMode: '072', interface: 'contactless' });
    expect(card.pinBlock).toBeUndefined();
    expect(findTlv(parseTlv(card.iccData!).elements, '84')!.value.toString('hex')).toBe('a0000000031010');
    expect(verifyCryptogram(keysOf('visa-chip'), parseTlv(card.iccData!).elements).ok).toBe(true);
    expect(
      await rig.driver.completeTransaction(reference, { approved: true, responseCode: '00' }),
    ).toMatchObject({ cryptogram: 'none' });
    rig.behave({ card: 'mastercard-chip' });
    ({ reference, card } = await read(rig));
    expect(card).toMatchObject({ entryMode: '072', interface: 'contactless' });
    expect(card.pan.masked).toBe('520000******0001');
    expect(
      classifyPresentation({ entryMode: card.entryMode, tlv: card.iccData!, pan: card.pan }),
    ).toMatchObject({ ok: true, value: { kind: 'contactless', scheme: 'mastercard' } });
  });

  it('an Apple Pay style device token: DPAN, 9F6E mobile phone, 9F19, 9F24 PAR, 9F25 funding last four', async () => {
    rig = await makeRig('tcp', 'posbridge', { behaviour: { card: 'visa-token-applepay' } });
    const { card } = await read(rig);
    expect(card.interface).toBe('contactless');
    const facts = classifyPresentation({ entryMode: card.entryMode, tlv: card.iccData!, pan: card.pan });
    expect(facts.ok).toBe(true);
    if (!facts.ok) return;
    expect(facts.value).toMatchObject({
      kind: 'device_token',
      par: 'V0010013022298169667504231315',
      tokenRequestorId: '40010030273',
      fundingLast4: '3347',
      deviceAccountLast4: '0101',
    });
    expect(facts.value.tokenEvidence).toEqual(
      expect.arrayContaining(['token_requestor_id', 'funding_pan_last4', 'device_form_factor']),
    );
    expect(verifyCryptogram(keysOf('visa-token-applepay'), parseTlv(card.iccData!).elements).ok).toBe(true);
  });

  it('magnetic stripe, chip-to-magstripe fallback, and a keyed entry', async () => {
    rig = await makeRig('tcp', 'posbridge', { behaviour: { card: 'cup-magstripe' } });
    let { reference, card } = await read(rig);
    expect(card).toMatchObject({ entryMode: '021', interface: 'magstripe', fallback: false });
    expect(card.iccData).toBeUndefined();
    expect(card.cardSequenceNumber).toBeUndefined();
    expect(await rig.soft.verifyPinBlock(card.pinBlock!.reveal(), card.pan, '000000')).toBe(true);
    const track = (await rig.soft.decryptTrack(card.track2!)).reveal('latin1');
    expect(track).toMatch(/^6212349999000005D3005120/);
    expect(
      await rig.driver.completeTransaction(reference, { approved: true, responseCode: '00' }),
    ).toMatchObject({ cryptogram: 'none' });
    rig.behave({ card: 'cup-debit-chip', presentation: 'fallback' });
    ({ reference, card } = await read(rig));
    expect(card).toMatchObject({ entryMode: '801', interface: 'magstripe', fallback: true });
    expect(card.iccData).toBeUndefined();
    await rig.driver.completeTransaction(reference, { approved: false, responseCode: '05' });
    rig.behave({ presentation: 'keyed' });
    ({ reference, card } = await read(rig, { ...SALE, interfaces: ['keyed'] }));
    expect(card).toMatchObject({ entryMode: '011', interface: 'keyed', fallback: false });
    expect(card.track2).toBeUndefined();
    expect(card.iccData).toBeUndefined();
    await rig.driver.completeTransaction(reference, { approved: false, responseCode: '05' });
  });

  it('UnionPay QuickPass above the contactless CVM limit asks for the PIN; a card that cannot be read is a card error', async () => {
    rig = await makeRig('tcp', 'posbridge', {
      behaviour: { card: 'cup-debit-chip', presentation: 'contactless' },
    });
    const { reference, card } = await read(rig);
    expect(card.entryMode).toBe('071');
    expect(await rig.soft.verifyPinBlock(card.pinBlock!.reveal(), card.pan, '123456')).toBe(true);
    await rig.driver.completeTransaction(reference, { approved: true, responseCode: '00' });
    rig.behave({ card: 'cup-magstripe', presentation: 'auto' });
    const res = await rig.driver.startTransaction('card-x', { ...SALE, interfaces: ['chip'] });
    expect(res).toMatchObject({ status: 'error', code: 'card_error' });
    expect(rig.driver.state).toBe('idle');
  });
});
