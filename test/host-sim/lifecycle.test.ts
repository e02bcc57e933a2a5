import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amount12, card } from './client.js';
import { field, harness, rc, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.close();
});

const acct = (id: string) => h.sim.ledger.account(card(id).account)!;

describe('pre-auth', () => {
  it('holds, completes (releasing the hold, capturing the completion amount) and refuses a second completion', async () => {
    const c = await h.terminal();
    const cd = card('cup-credit-chip');
    const start = { ...acct(cd.id) };
    const pre = await c.preauth(cd, 10_000_000);
    expect(pre.msg?.mti).toBe('0110');
    expect(rc(pre)).toBe('00');
    expect(pre.macValid).toBe(true);
    expect(acct(cd.id)).toMatchObject({ balance: start.balance, held: start.held + 10_000_000 });

    const comp = await c.completion(cd, pre, 10_500_000); // within 115 %
    expect(rc(comp)).toBe('00');
    expect(field(comp, 38)).toBe(field(pre, 38));
    expect(field(comp, 37)).not.toBe(field(pre, 37));
    expect(acct(cd.id)).toMatchObject({ balance: start.balance - 10_500_000, held: start.held });

    expect(rc(await c.completion(cd, pre, 1_000))).toBe('12');
  });

  it('completion checks: wrong auth code 25, above 115 % 13', async () => {
    const c = await h.terminal();
    const cd = card('cup-credit-chip');
    const pre = await c.preauth(cd, 1_000_000);
    expect(rc(await c.completion(cd, pre, 1_000_000, { authCode: '999999' }))).toBe('25');
    expect(rc(await c.completion(cd, pre, 1_150_001))).toBe('13');
    expect(rc(await c.completion(cd, pre, 1_150_000))).toBe('00');
  });

  it('a pre-auth void releases the hold; a completion after it is 12', async () => {
    const c = await h.terminal();
    const cd = card('visa-chip');
    const start = { ...acct(cd.id) };
    const pre = await c.preauth(cd, 2_000_000);
    expect(acct(cd.id).held).toBe(start.held + 2_000_000);
    const v = await c.preauthVoid(cd, pre, 2_000_000);
    expect(v.msg?.mti).toBe('0110');
    expect(rc(v)).toBe('00');
    expect(acct(cd.id)).toMatchObject({ balance: start.balance, held: start.held });
    expect(rc(await c.completion(cd, pre, 2_000_000))).toBe('12');
  });

  it('a completion void re-opens the pre-auth hold', async () => {
    const c = await h.terminal();
    const cd = card('cup-credit-chip');
    const start = { ...acct(cd.id) };
    const pre = await c.preauth(cd, 3_000_000);
    const comp = await c.completion(cd, pre, 3_000_000);
    const cv = await c.void(cd, comp, 3_000_000, { completion: true });
    expect(rc(cv)).toBe('00');
    expect(acct(cd.id)).toMatchObject({ balance: start.balance, held: start.held + 3_000_000 });
  });
});

describe('void', () => {
  it('cancels a sale in the same batch and gives the money back; a second void is 12', async () => {
    const c = await h.terminal();
    const cd = card('mastercard-chip');
    const before = acct(cd.id).balance;
    const sale = await c.sale(cd, 5_000_000);
    expect(acct(cd.id).balance).toBe(before - 5_000_000);
    const v = await c.void(cd, sale, 5_000_000);
    expect(rc(v)).toBe('00');
    expect(v.macValid).toBe(true);
    expect(acct(cd.id).balance).toBe(before);
    expect(rc(await c.void(cd, sale, 5_000_000))).toBe('12');
    const tx = h.sim.ledger.tx(`${c.tid}:${c.batch}:${field(sale, 11) as string}`)!;
    expect(tx.voidedBy).toBeDefined();
  });

  it('wrong RRN 25, wrong amount 13, another batch 12', async () => {
    const c = await h.terminal();
    const cd = card('mastercard-chip');
    const sale = await c.sale(cd, 1_000_000);
    expect(rc(await c.void(cd, sale, 1_000_000, { rrn: '000000000000' }))).toBe('25');
    expect(rc(await c.void(cd, sale, 999_999))).toBe('13');
    c.batch = '000002';
    expect(rc(await c.void(cd, sale, 1_000_000))).toBe('12');
    c.batch = '000001';
    expect(rc(await c.void(cd, sale, 1_000_000))).toBe('00');
  });
});

describe('refund', () => {
  it('never exceeds what was captured, in one or several refunds', async () => {
    const c = await h.terminal();
    const cd = card('cup-debit-chip');
    const sale = await c.sale(cd, 3_000_000);
    const before = acct(cd.id).balance;
    const r1 = await c.refund(cd, sale, 2_000_000);
    expect(r1.msg?.mti).toBe('0230');
    expect(rc(r1)).toBe('00');
    expect(r1.macValid).toBe(true);
    expect(acct(cd.id).balance).toBe(before + 2_000_000);
    expect(rc(await c.refund(cd, sale, 1_000_001))).toBe('13');
    expect(rc(await c.refund(cd, sale, 1_000_000))).toBe('00');
    expect(rc(await c.refund(cd, sale, 1))).toBe('13');
    expect(acct(cd.id).balance).toBe(before + 3_000_000);
  });

  it('a partial approval can be refunded up to the approved amount only', async () => {
    const c = await h.terminal();
    const cd = card('cup-debit-chip');
    const sale = await c.sale(cd, 1_000_077, { partial: true });
    expect(rc(sale)).toBe('10');
    expect(rc(await c.refund(cd, sale, 500_039))).toBe('13');
    expect(rc(await c.refund(cd, sale, 500_038))).toBe('00');
  });

  it('of a voided sale 12, another card 25, wrong original date 25', async () => {
    const c = await h.terminal();
    const cd = card('cup-debit-chip');
    const sale = await c.sale(cd, 100_000);
    expect(rc(await c.refund(card('cup-magstripe'), sale, 100))).toBe('25');
    expect(rc(await c.refund(cd, sale, 100, { date: '0230' }))).toBe('25');
    await c.void(cd, sale, 100_000);
    expect(rc(await c.refund(cd, sale, 100))).toBe('12');
  });
});

describe('reversal', () => {
  it('of an approved sale gives the money back; repeats 0401 and further 0400s are answered 00', async () => {
    const c = await h.terminal();
    const cd = card('visa-chip');
    const before = acct(cd.id).balance;
    const req = await c.authFields(cd, { amount: 7_000_000 });
    expect(rc(await c.request(req.mti, req.fields))).toBe('00');
    expect(acct(cd.id).balance).toBe(before - 7_000_000);
    const r = await c.reversal(req, '98');
    expect(r.msg?.mti).toBe('0410');
    expect(rc(r)).toBe('00');
    expect(r.macValid).toBe(true);
    expect(field(r, 11)).toBe(req.fields[11]);
    expect(acct(cd.id).balance).toBe(before);
    const repeat = await c.reversal(req, '98', true);
    expect(repeat.msg?.mti).toBe('0410');
    expect(rc(repeat)).toBe('00');
    expect(rc(await c.reversal(req, '98'))).toBe('00');
    expect(acct(cd.id).balance).toBe(before);
    const tx = h.sim.ledger.tx(`${c.tid}:${c.batch}:${req.fields[11] as string}`)!;
    expect(tx.reversal).toMatchObject({ mti: '0400', reason: '98', attempts: 3 });
  });

  it('of a transaction the host never saw is 00 and recorded as unmatched', async () => {
    const c = await h.terminal();
    const req = await c.authFields(card('visa-chip'), { amount: 123_400 });
    const r = await c.reversal(req, '98');
    expect(rc(r)).toBe('00');
    expect(
      h.sim.ledger.snapshot.unmatchedReversals.some((u) => u.tid === c.tid && u.stan === req.fields[11]),
    ).toBe(true);
  });

  it('with key fields that differ from the original is 12 and reverses nothing', async () => {
    const c = await h.terminal();
    const cd = card('visa-chip');
    const req = await c.authFields(cd, { amount: 200_000 });
    await c.request(req.mti, req.fields);
    const before = acct(cd.id).balance;
    const wrong = { mti: req.mti, fields: { ...req.fields, 4: amount12(300_000) } };
    expect(rc(await c.reversal(wrong, '98'))).toBe('12');
    expect(acct(cd.id).balance).toBe(before);
  });

  it('of a pre-auth releases the hold; of a void restores the sale; of a refund takes the money again', async () => {
    const c = await h.terminal();
    const cd = card('cup-credit-chip');
    const start = { ...acct(cd.id) };
    const pre = await c.authFields(cd, { amount: 400_000, kind: 'preauth' });
    await c.request(pre.mti, pre.fields);
    expect(rc(await c.reversal(pre, '06'))).toBe('00');
    expect(acct(cd.id)).toMatchObject({ held: start.held, balance: start.balance });

    const sale = await c.sale(cd, 500_000);
    const voidReq = {
      mti: '0200',
      fields: {
        2: cd.pan,
        3: '200000',
        4: amount12(500_000),
        11: c.nextStan(),
        22: '012',
        25: '00',
        37: field(sale, 37) as string,
        41: c.tid,
        42: c.mid,
        49: '156',
        60: { '1': '23', '2': c.batch, '3': '000' },
        61: c.ref(sale),
      },
    };
    expect(rc(await c.request(voidReq.mti, voidReq.fields))).toBe('00');
    expect(acct(cd.id).balance).toBe(start.balance);
    expect(rc(await c.reversal(voidReq, '98'))).toBe('00');
    expect(acct(cd.id).balance).toBe(start.balance - 500_000);

    const refundReq = {
      mti: '0220',
      fields: {
        ...voidReq.fields,
        11: c.nextStan(),
        4: amount12(200_000),
        60: { '1': '25', '2': c.batch, '3': '000' },
      },
    };
    expect(rc(await c.request(refundReq.mti, refundReq.fields))).toBe('00');
    expect(acct(cd.id).balance).toBe(start.balance - 300_000);
    expect(rc(await c.reversal(refundReq, '98'))).toBe('00');
    expect(acct(cd.id).balance).toBe(start.balance - 500_000);
  });
});

describe('status inquiry', () => {
  it('found: the original response code with 37/38/4; not found: 25; after reversal: 25', async () => {
    const c = await h.terminal();
    const cd = card('cup-debit-chip');
    const req = await c.authFields(cd, { amount: 880_000 });
    const sale = await c.request(req.mti, req.fields);
    const stan = req.fields[11] as string;

    const found = await c.statusInquiry(c.batch, stan, req.fields[13] as string);
    expect(found.msg?.mti).toBe('0830');
    expect(rc(found)).toBe('00');
    expect(field(found, 37)).toBe(field(sale, 37));
    expect(field(found, 38)).toBe(field(sale, 38));
    expect(field(found, 4)).toBe(amount12(880_000));

    expect(rc(await c.statusInquiry(c.batch, '999998'))).toBe('25');
    expect(rc(await c.statusInquiry(c.batch, stan, '0230'))).toBe('25'); // another date: not this one

    await c.reversal(req, '98');
    const after = await c.statusInquiry(c.batch, stan);
    expect(rc(after)).toBe('25');
    expect(field(after, 37)).toBeUndefined();
  });

  it('a declined original answers its decline code', async () => {
    const c = await h.terminal();
    const req = await c.authFields(card('cup-debit-chip'), { amount: 100_051 });
    await c.request(req.mti, req.fields);
    const r = await c.statusInquiry(c.batch, req.fields[11] as string);
    expect(rc(r)).toBe('51');
    expect(field(r, 38)).toBeUndefined();
  });

  it('a request refused for its MAC was never held: 25', async () => {
    const c = await h.terminal();
    const req = await c.authFields(card('cup-debit-chip'), { amount: 100_000 });
    expect(rc(await c.request(req.mti, req.fields, { mac: false }))).toBe('A0');
    expect(rc(await c.statusInquiry(c.batch, req.fields[11] as string))).toBe('25');
  });
});
