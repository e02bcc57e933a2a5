import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeTlv,
  findTlv,
  parseIssuerResponse,
  parseTlv,
  scriptResultsTlv,
  tlv,
} from '../../src/emv/index.js';
import {
  chipRequestData,
  computeCryptogram,
  sessionKeyFor,
  verifyArpc,
  verifyCryptogram,
} from '../../simulators/shared/cryptogram.js';
import { card } from './client.js';
import { field, harness, rc, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.close();
});

/** Replaces one tag's value in field 55. */
function replaceTag(f55: Buffer, tag: string, value: Buffer): Buffer {
  const els = parseTlv(f55).elements.map((e) => (e.tag === tag ? tlv(tag, value) : e));
  return encodeTlv(els);
}

describe('cryptogram (simulators/shared/cryptogram.ts)', () => {
  const cd = card('cup-debit-chip');
  const keys = { imk: cd.imk!, pan: cd.pan, psn: cd.psn };

  it('verifies its own ARQC and detects a change in any CDOL1 tag', () => {
    const f55 = chipRequestData(keys, {
      amount: 100,
      atc: 7,
      unpredictableNumber: Buffer.from('01020304', 'hex'),
      date: '260115',
    });
    const els = parseTlv(f55).elements;
    expect(verifyCryptogram(keys, els).ok).toBe(true);
    for (const [tag, v] of [
      ['9F02', '000000000101'],
      ['9F37', '01020305'],
      ['9F36', '0008'],
      ['95', '0000000001'],
      ['9A', '260116'],
      ['9F10', '07010103A00001010A0100000000000000000000'],
    ] as const) {
      expect(
        verifyCryptogram(keys, parseTlv(replaceTag(f55, tag, Buffer.from(v, 'hex'))).elements),
      ).toMatchObject({
        ok: false,
        reason: 'mismatch',
      });
    }
    // another card (same IMK, other PAN) gets another cryptogram
    expect(verifyCryptogram({ ...keys, pan: '6212345678000000028' }, els).ok).toBe(false);
  });

  it('is deterministic, session keys differ per ATC, and the ARPC verifies on the card side', () => {
    const f55 = chipRequestData(keys, {
      amount: 100,
      atc: 1,
      unpredictableNumber: Buffer.alloc(4),
      date: '260101',
    });
    const els = parseTlv(f55).elements;
    expect(
      computeCryptogram(
        keys,
        els.filter((e) => e.tag !== '9F26'),
      ),
    ).toEqual(findTlv(els, '9F26')!.value);
    expect(sessionKeyFor(keys, Buffer.from('0001', 'hex'))).not.toEqual(
      sessionKeyFor(keys, Buffer.from('0002', 'hex')),
    );
    const check = verifyCryptogram(keys, els);
    if (!check.ok) throw new Error('ARQC did not verify');
    expect(findTlv(els, '9F26')!.value).toEqual(check.arqc);
  });
});

describe('ARQC / ARPC on the host', () => {
  it('an approval carries 91 = ARPC + ARC that the card can verify', async () => {
    const c = await h.terminal();
    const cd = card('visa-chip');
    const req = await c.authFields(cd, { amount: 300_000 });
    const r = await c.request(req.mti, req.fields);
    expect(rc(r)).toBe('00');
    const issuer = parseIssuerResponse(field(r, 55) as Buffer);
    if (!issuer.ok) throw new Error('field 55 of the response does not parse');
    const iad = issuer.value.issuerAuthenticationData!;
    expect(iad.arc).toBe('00');
    const els = parseTlv(req.fields[55] as Buffer).elements;
    const sk = sessionKeyFor({ imk: cd.imk!, pan: cd.pan, psn: cd.psn }, findTlv(els, '9F36')!.value);
    expect(verifyArpc(sk, findTlv(els, '9F26')!.value, iad.raw)).toBe(true);
    expect(verifyArpc(sk, Buffer.alloc(8), iad.raw)).toBe(false);
  });

  it('a tampered field 55 is declined 05 and nothing is captured', async () => {
    const c = await h.terminal();
    const cd = card('cup-debit-chip');
    const before = h.sim.ledger.available(cd.account);
    const tampered = await c.sale(cd, 400_000, {
      tamper: (f) => replaceTag(f, '95', Buffer.from('8000000000', 'hex')),
    });
    expect(rc(tampered)).toBe('05');
    expect(field(tampered, 38)).toBeUndefined();
    const flipped = await c.sale(cd, 400_000, {
      tamper: (f) => {
        const b = Buffer.from(f);
        b[3] = b[3]! ^ 0x01; // inside the ARQC itself
        return b;
      },
    });
    expect(rc(flipped)).toBe('05');
    expect(h.sim.ledger.available(cd.account)).toBe(before);
  });

  it('an ARQC over another amount than field 4 is declined 05', async () => {
    const c = await h.terminal();
    expect(rc(await c.sale(card('cup-debit-chip'), 400_000, { chipAmount: 4_000 }))).toBe('05');
  });

  it('a chip read without field 55 is declined 05; the same card swiped is not checked', async () => {
    const c = await h.terminal();
    const cd = card('mastercard-chip');
    const req = await c.authFields(cd, { amount: 10_000 });
    delete req.fields[55];
    expect(rc(await c.request(req.mti, req.fields))).toBe('05');
    expect(rc(await c.sale(cd, 10_000, { entry: 'magstripe' }))).toBe('00');
  });

  it('an issuer script in the approval, then the script result advice 0620 is recorded', async () => {
    const c = await h.terminal();
    const cd = card('cup-credit-chip');
    const sale = await c.sale(cd, 250_000);
    expect(rc(sale)).toBe('00');
    const issuer = parseIssuerResponse(field(sale, 55) as Buffer);
    if (!issuer.ok) throw new Error('no issuer data');
    expect(issuer.value.scripts).toHaveLength(1);
    const sr = scriptResultsTlv([{ outcome: 'succeeded', scriptId: issuer.value.scripts[0]!.id! }]);
    if (!sr.ok) throw new Error('script results');
    const advice = await c.request('0620', {
      2: cd.pan,
      3: '000000',
      4: sale.msg!.fields[4] as string,
      11: c.nextStan(),
      22: '051',
      37: field(sale, 37) as string,
      41: c.tid,
      42: c.mid,
      49: '156',
      55: encodeTlv([sr.value]),
      60: { '1': '22', '2': c.batch, '3': '951' },
      61: c.ref(sale),
    });
    expect(advice.msg?.mti).toBe('0630');
    expect(rc(advice)).toBe('00');
    expect(advice.macValid).toBe(true);
    const tx = h.sim.ledger.tx(`${c.tid}:${c.batch}:${field(sale, 11) as string}`)!;
    expect(tx.scriptResults).toEqual([{ outcome: 'succeeded', sequence: 0, scriptIdHex: '00000001' }]);
    // without DF31: format error
    const bad = await c.request('0620', {
      11: c.nextStan(),
      41: c.tid,
      42: c.mid,
      55: encodeTlv([tlv('9F36', Buffer.from('0001', 'hex'))]),
      60: { '1': '22', '2': c.batch, '3': '951' },
      61: c.ref(sale),
    });
    expect(rc(bad)).toBe('30');
  });

  it('a TC upload (0320 / 203) is verified and recorded on the original', async () => {
    const c = await h.terminal();
    const cd = card('visa-chip');
    const req = await c.authFields(cd, { amount: 150_000 });
    const sale = await c.request(req.mti, req.fields);
    // the card's TC: same CDOL data plus the ARC
    const els = parseTlv(req.fields[55] as Buffer).elements.filter((e) => e.tag !== '9F26');
    const keys = { imk: cd.imk!, pan: cd.pan, psn: cd.psn };
    const tc = computeCryptogram(keys, els, { arc: '00' });
    const upload = (f55: Buffer) =>
      c.request('0320', {
        2: cd.pan,
        3: '000000',
        4: req.fields[4],
        11: c.nextStan(),
        22: '051',
        37: field(sale, 37) as string,
        41: c.tid,
        42: c.mid,
        49: '156',
        55: f55,
        60: { '1': '22', '2': c.batch, '3': '203' },
        61: c.ref(sale),
      });
    const r = await upload(encodeTlv([tlv('9F26', tc), tlv('9F27', Buffer.from('40', 'hex')), ...els]));
    expect(r.msg?.mti).toBe('0330');
    expect(rc(r)).toBe('00');
    const key = `${c.tid}:${c.batch}:${req.fields[11] as string}`;
    expect(h.sim.ledger.tx(key)!.tc?.verified).toBe(true);
    await upload(encodeTlv([tlv('9F26', Buffer.alloc(8)), ...els]));
    expect(h.sim.ledger.tx(key)!.tc?.verified).toBe(false);
  });
});
