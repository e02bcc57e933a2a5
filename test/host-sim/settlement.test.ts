import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settlementField48 } from '../../simulators/host/index.js';
import { amount12, card } from './client.js';
import { field, harness, rc } from './helpers.js';

describe('settlement', () => {
  it('balanced totals (domestic and foreign), result 1, batch closed, CSV written', async () => {
    const h = await harness();
    try {
      const c = await h.terminal();
      const cup = card('cup-debit-chip');
      const visa = card('visa-chip');
      const s1 = await c.sale(cup, 1_000_000);
      const s2 = await c.sale(cup, 2_000_000);
      await c.sale(visa, 500_000);
      await c.sale(cup, 100_051); // declined: counts nowhere
      const voided = await c.sale(cup, 300_000);
      await c.void(cup, voided, 300_000); // sale and void count nowhere
      const reversedReq = await c.authFields(visa, { amount: 700_000 });
      await c.request(reversedReq.mti, reversedReq.fields);
      await c.reversal(reversedReq);
      await c.refund(cup, s1, 250_000);
      const pre = await c.preauth(cup, 900_000);
      await c.completion(cup, pre, 800_000);

      const totals = {
        domestic: {
          debitAmount: 1_000_000 + 2_000_000 + 800_000,
          debitCount: 3,
          creditAmount: 250_000,
          creditCount: 1,
        },
        foreign: { debitAmount: 500_000, debitCount: 1, creditAmount: 0, creditCount: 0 },
      };
      expect(h.sim.ledger.totals(c.tid, c.batch)).toEqual(totals);
      const f48 = settlementField48(totals);
      expect(f48).toHaveLength(62);
      const r = await c.settle(f48);
      expect(r.msg?.mti).toBe('0510');
      expect(rc(r)).toBe('00');
      const answer = field(r, 48) as string;
      expect(answer[30]).toBe('1');
      expect(answer[61]).toBe('1');
      expect(answer.slice(0, 30)).toBe(f48.slice(0, 30));

      // the batch is closed: no void, no new sale in it
      expect(rc(await c.void(cup, s2, 2_000_000))).toBe('12');
      expect(rc(await c.sale(cup, 10_000))).toBe('12');
      // a repeated 0500 gets the same answer
      expect(field(await c.settle(f48), 48)).toBe(answer);

      const file = join(h.dir, 'settlement', `settlement-${c.tid}-${c.batch}.csv`);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines[0]).toBe('date,tid,batch,stan,rrn,amount,type,status');
      const rows = lines.slice(1).map((l) => l.split(','));
      const byStan = (r: { msg?: { fields: Record<number, unknown> } }) =>
        rows.find((x) => x[3] === field(r, 11))!;
      expect(byStan(s1)).toEqual([
        expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
        c.tid,
        c.batch,
        field(s1, 11),
        field(s1, 37),
        '1000000',
        'sale',
        'partially_refunded',
      ]);
      expect(byStan(voided)[7]).toBe('voided');
      expect(rows.find((x) => x[3] === reversedReq.fields[11])![7]).toBe('reversed');
      expect(rows.some((x) => x[5] === '100051')).toBe(false); // declines are not in the file
      expect(rows.filter((x) => x[6] === 'refund')).toHaveLength(1);
      expect(rows.find((x) => x[6] === 'completion')![5]).toBe('800000');
      expect(h.sim.ledger.settlement(c.tid, c.batch)!.file).toBe(file);

      // the next batch is open; a refund of an original in the settled batch is allowed
      c.batch = '000002';
      expect(rc(await c.sale(cup, 10_000))).toBe('00');
      expect(rc(await c.refund(cup, s2, 100_000))).toBe('00');
      // reversal of a transaction in the closed batch: 12
      c.batch = '000001';
      expect(
        rc(
          await c.reversal({
            mti: '0200',
            fields: {
              ...(await c.authFields(cup, { amount: 1 })).fields,
              11: field(s2, 11) as string,
              4: amount12(2_000_000),
            },
          }),
        ),
      ).toBe('12');
    } finally {
      await h.close();
    }
  });

  it('unbalanced totals: result 2, then batch upload and upload end find the differences', async () => {
    const h = await harness();
    try {
      const c = await h.terminal();
      const cup = card('cup-magstripe');
      const a = await c.sale(cup, 100_000);
      const b = await c.sale(cup, 200_000);
      // the terminal lost b: it reports only a
      const f48 = settlementField48({
        domestic: { debitAmount: 100_000, debitCount: 1, creditAmount: 0, creditCount: 0 },
        foreign: { debitAmount: 0, debitCount: 0, creditAmount: 0, creditCount: 0 },
      });
      const r = await c.settle(f48);
      expect((field(r, 48) as string)[30]).toBe('2');
      expect((field(r, 48) as string)[61]).toBe('1');
      const up = await c.request('0320', {
        2: cup.pan,
        3: '000000',
        4: amount12(100_000),
        11: c.nextStan(),
        22: '022',
        37: field(a, 37) as string,
        41: c.tid,
        42: c.mid,
        49: '156',
        60: { '1': '22', '2': c.batch, '3': '201' },
        61: c.ref(a),
      });
      expect(rc(up)).toBe('00');
      expect(up.macValid).toBe(true);
      const missing = await c.request('0320', {
        11: c.nextStan(),
        41: c.tid,
        42: c.mid,
        60: { '1': '22', '2': c.batch, '3': '201' },
        61: { '1': c.batch, '2': '777777', '3': '0000' },
      });
      expect(rc(missing)).toBe('25');
      const end = await c.request('0320', {
        11: c.nextStan(),
        41: c.tid,
        42: c.mid,
        48: '0001',
        60: { '1': '00', '2': c.batch, '3': '202' },
      });
      expect(rc(end)).toBe('00');
      const state = h.sim.ledger.upload(c.tid, c.batch);
      expect(state.ended?.notUploaded).toEqual([`${c.tid}:${c.batch}:${field(b, 11) as string}`]);
      expect(state.notFound).toEqual([`${c.batch}:777777`]);
    } finally {
      await h.close();
    }
  });

  it('an e-signature upload 0920 is recorded on its original', async () => {
    const h = await harness();
    try {
      const c = await h.terminal();
      const cup = card('mastercard-chip');
      const sale = await c.sale(cup, 100_000);
      const r = await c.request('0920', {
        4: amount12(100_000),
        11: c.nextStan(),
        37: field(sale, 37) as string,
        41: c.tid,
        42: c.mid,
        60: { '1': '07', '2': c.batch, '3': '800' },
        61: c.ref(sale),
        62: Buffer.alloc(300, 0x55),
      });
      expect(r.msg?.mti).toBe('0930');
      expect(rc(r)).toBe('00');
      expect(h.sim.ledger.tx(`${c.tid}:${c.batch}:${field(sale, 11) as string}`)!.signature?.bytes).toBe(300);
    } finally {
      await h.close();
    }
  });
});

describe('ledger persistence', () => {
  it('survives a restart: balances, transactions and the terminal keys (no new sign-on needed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'host-sim-ledger-'));
    const ledgerFile = join(dir, 'state', 'ledger.json');
    const h1 = await harness({ ledgerFile });
    let h2: Awaited<ReturnType<typeof harness>> | undefined;
    try {
      const c = await h1.terminal();
      const cd = card('cup-debit-chip');
      const sale = await c.sale(cd, 4_000_000);
      expect(rc(sale)).toBe('00');
      const balance = h1.sim.ledger.available(cd.account);
      expect(balance).toBe(cd.balance! - 4_000_000);
      await h1.sim.close();
      const text = readFileSync(ledgerFile, 'utf8');
      expect((JSON.parse(text) as { transactions: unknown[] }).transactions).toHaveLength(1);
      expect(text).not.toContain(cd.pan.reveal());

      h2 = await harness({ ledgerFile });
      expect(h2.sim.ledger.available(cd.account)).toBe(balance);
      // the same terminal reconnects with the keys it holds
      await c.reconnect(h2.sim.isoPort);
      const inquiry = await c.statusInquiry(c.batch, field(sale, 11) as string);
      expect(rc(inquiry)).toBe('00');
      expect(field(inquiry, 37)).toBe(field(sale, 37));
      const r = await c.void(cd, sale, 4_000_000);
      expect(rc(r)).toBe('00');
      expect(r.macValid).toBe(true);
      expect(h2.sim.ledger.available(cd.account)).toBe(balance + 4_000_000);
    } finally {
      await h2?.close();
      await h1.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without a ledger file a restart starts from the opening balances and asks for a sign-on', async () => {
    const h1 = await harness();
    const c = await h1.terminal();
    await c.sale(card('cup-magstripe'), 100_000);
    await h1.close();
    const h2 = await harness();
    try {
      await c.reconnect(h2.sim.isoPort);
      const r = await c.sale(card('cup-magstripe'), 100_000);
      expect(rc(r)).toBe('A0');
      expect(r.flags).toContain('sign_on_again');
      expect(h2.sim.ledger.available(card('cup-magstripe').account)).toBe(card('cup-magstripe').balance);
    } finally {
      await h2.close();
    }
  });
});
