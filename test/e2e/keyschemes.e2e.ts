/**
 * The browser suite's key-scheme runs (issue 23): the demo started as `posbridge-sim demo --dialect
 * cup-pos-sm4` (SM4 working keys at sign-on, SM4 PIN block and MAC) and as `posbridge-sim demo
 * --reader-profile posbridge-dukpt-tdes` / `-aes` (a DUKPT PIN pad; the dialect defaults to cup-pos-dukpt,
 * the KSN in field 53). Each takes the same cycle through the demo CRM page in Chromium: a chip sale with
 * PIN, a partial refund, a second chip sale with PIN, and the batch close (driven through the page's own
 * client, the page has no settlement button), whose totals must balance to the fen with the host's.
 * Then the daemon's side shows the scheme was really used: the host simulator's control API (sign-on
 * record, transactions, settlement) and what it received (demo.acquirerRequests(): field 52's length
 * and the KSN, never a PIN block).
 */
import { describe, expect, it } from 'vitest';
import { dukptCounter, unwrapWorkingKeys } from '../../src/crypto/index.js';
import { DEFAULT_READER_TMK } from '../../simulators/reader/index.js';
import { screenshot } from './browser.js';
import { useDemoPage, type DemoPage } from './demo-page.js';

interface PageElement {
  dataset: Record<string, string | undefined>;
  value: string;
}
declare const document: { querySelector(selector: string): PageElement | null };
interface BatchRecord {
  batch: string;
  state: string;
  result: string | null;
  totals: {
    domestic: { debitAmount: number; debitCount: number; creditAmount: number; creditCount: number };
  } | null;
}
declare const window: {
  posbridgeDemo: {
    payments: Map<string, { host: { stan: string } }>;
    pb: {
      settlement: {
        run(p: {
          wait: boolean;
        }): Promise<{ outcome?: string; stoppedReason?: string; settlement?: BatchRecord }>;
      };
    };
  };
};

interface HostTx {
  stan: string;
  mti: string;
  type: string;
  status: string;
  amount: number;
  approvedAmount: number;
  refundedAmount: number;
  responseCode: string;
  batch: string;
}
interface HostTotals {
  debitAmount: number;
  debitCount: number;
  creditAmount: number;
  creditCount: number;
}
interface HostLedger {
  terminals: Record<string, { layout: string; networkCode: string; kcv: { pik: string; mak: string } }>;
  settlements: {
    tid: string;
    batch: string;
    terminal: { domestic: HostTotals };
    host: { domestic: HostTotals };
    result: { domestic: string };
  }[];
}

const TID = 'DEMO0001';
// Odd amounts, so "balanced" means to the fen: 1,234.56 + 100.01 taken, 234.56 given back.
const SALE_1 = { text: '1234.56', fen: 123_456 };
const REFUND = { text: '234.56', fen: 23_456 };
const SALE_2 = { text: '100.01', fen: 10_001 };

async function json<T>(ui: DemoPage, path: string): Promise<T> {
  const res = await fetch(`${ui.base}${path}`);
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

async function chooseCard(ui: DemoPage, cardId: string): Promise<void> {
  if (!(await ui.page.$eval('#sim', (d) => (d as unknown as { open: boolean }).open)))
    await ui.page.click('#sim summary');
  await ui.page.waitForSelector('#sim-card option', { state: 'attached' });
  await ui.page.selectOption('#sim-card', cardId);
  await ui.page.waitForSelector(`#sim-reader-status[data-card="${cardId}"]`);
}

async function pay(ui: DemoPage, amount: string): Promise<string> {
  const id = await ui.started(async () => {
    await ui.page.fill('#pay-amount', amount);
    await ui.page.click('#pay-submit');
  });
  await ui.waitForState(id, 'completed');
  // A chip card with PIN: the reader asked for it.
  await ui.page.waitForSelector(`#log li[data-payment-id="${id}"][data-progress="pin_entry_started"]`, {
    state: 'attached',
  });
  return id;
}

async function refund(ui: DemoPage, saleId: string, amount: string): Promise<string> {
  await ui.page.click(`${ui.row(saleId)} button[data-action="refund"]`);
  await ui.page.waitForSelector('#refund-form:not([hidden])');
  await ui.page.fill('#refund-amount', amount);
  await ui.page.click('#refund-submit');
  const handle = await ui.page.waitForFunction((s) => {
    const id = document.querySelector('#live')!.dataset['paymentId'];
    return id && id !== s ? id : undefined;
  }, saleId);
  const id = (await handle.jsonValue()) as string;
  await ui.waitForState(id, 'completed');
  await ui.page.waitForSelector(`${ui.row(id)}[data-kind="refund"]`);
  return id;
}

const stanOf = (ui: DemoPage, paymentId: string): Promise<string> =>
  ui.page.evaluate((id) => window.posbridgeDemo.payments.get(id)!.host.stan, paymentId);

/**
 * Sale → partial refund → sale → settlement through the page; checks the host agrees on every payment and
 * on the batch totals to the fen. Returns the STANs of the two sales and the refund.
 */
async function cycle(ui: DemoPage, shot: string): Promise<{ sale1: string; refund: string; sale2: string }> {
  await ui.chooseOrder('CAR-2024-0002');
  await chooseCard(ui, 'cup-debit-chip');
  const sale1 = await pay(ui, SALE_1.text);
  const refundId = await refund(ui, sale1, REFUND.text);
  await ui.page.waitForSelector(`#order-refunded:has-text("¥${REFUND.text}")`);
  const sale2 = await pay(ui, SALE_2.text);
  await screenshot(ui.page, `${shot}-sale-refund-sale`);
  const stans = {
    sale1: await stanOf(ui, sale1),
    refund: await stanOf(ui, refundId),
    sale2: await stanOf(ui, sale2),
  };

  // The acquirer holds the sales approved (the first partly refunded) and the refund.
  const txs = await json<HostTx[]>(ui, `/sim/host/transactions?tid=${TID}`);
  const tx = (stan: string, type: string): HostTx | undefined =>
    txs.find((t) => t.stan === stan && t.type === type);
  expect(tx(stans.sale1, 'sale')).toMatchObject({
    responseCode: '00',
    approvedAmount: SALE_1.fen,
    status: 'partially_refunded',
    refundedAmount: REFUND.fen,
  });
  expect(tx(stans.refund, 'refund')).toMatchObject({ responseCode: '00', amount: REFUND.fen });
  expect(tx(stans.sale2, 'sale')).toMatchObject({ responseCode: '00', approvedAmount: SALE_2.fen });

  // Settlement, from the page's own client: the batch closes balanced, totals to the fen.
  const run = await ui.page.evaluate(() => window.posbridgeDemo.pb.settlement.run({ wait: true }));
  expect(run.outcome, run.stoppedReason).toBe('settled');
  const record = run.settlement!;
  expect(record).toMatchObject({ state: 'settled', result: 'balanced' });
  const expected = {
    debitAmount: SALE_1.fen + SALE_2.fen,
    debitCount: 2,
    creditAmount: REFUND.fen,
    creditCount: 1,
  };
  expect(record.totals!.domestic).toEqual(expected);
  const ledger = await json<HostLedger>(ui, '/sim/host/ledger');
  const settled = ledger.settlements.find((s) => s.tid === TID && s.batch === record.batch)!;
  expect(settled, `host settlement of batch ${record.batch}`).toBeDefined();
  expect(settled.result.domestic).toBe('1');
  expect(settled.terminal.domestic).toEqual(expected);
  expect(settled.host.domestic).toEqual(expected);
  return stans;
}

describe('SM4 acquirer (--dialect cup-pos-sm4) in chromium', () => {
  const ui = useDemoPage({
    name: 'keyschemes-sm4',
    demo: { dialect: 'cup-pos-sm4', customerDelayMs: 20, hostResponseMs: 2500, logLevel: 'silent' },
  });

  it('takes a chip sale with PIN, a partial refund and a settlement under SM4 keys', async () => {
    expect(ui.demo.dialect).toBe('cup-pos-sm4');
    expect((await json<{ dialect: string }>(ui, '/sim/host/health')).dialect).toBe('cup-pos-sm4');
    const stans = await cycle(ui, 'keyschemes-sm4');

    // Sign-on delivered SM4 working keys: the host's record of it (network management code 005 in
    // cup-pos-sm4) names the key check values the reader holds, and its field 62 unwraps under the
    // reader's master key as SM4 (the check values verify), not as 3DES.
    const ledger = await json<HostLedger>(ui, '/sim/host/ledger');
    const session = ledger.terminals[TID]!;
    expect(session).toMatchObject({ layout: 'double', networkCode: '005' });
    const reader = await json<{ keyCheckValues: { tmk: string; pik: string; mak: string } }>(
      ui,
      '/sim/reader/status',
    );
    expect(reader.keyCheckValues).toMatchObject({ pik: session.kcv.pik, mak: session.kcv.mak });
    // The master key's DES check value is 08D7B4FB; the reader reports its SM4 one once SM4 keys are loaded.
    expect(reader.keyCheckValues.tmk).not.toBe('08D7B4FB');
    const field62 = Buffer.from(ui.demo.host!.ledger.snapshot.sessions[TID]!.field62, 'hex');
    const sm4 = unwrapWorkingKeys(Buffer.from(DEFAULT_READER_TMK, 'hex'), field62, 'double', 'sm4');
    expect(sm4.kcv.pik?.toUpperCase()).toBe(session.kcv.pik.toUpperCase());
    expect(sm4.kcv.mak?.toUpperCase()).toBe(session.kcv.mak.toUpperCase());
    expect(() =>
      unwrapWorkingKeys(Buffer.from(DEFAULT_READER_TMK, 'hex'), field62, 'double', 'des'),
    ).toThrow();

    // Both PINs reached the host as 16-byte SM4 blocks (DES ones are 8); the refund took no card.
    const seen = ui.demo.acquirerRequests();
    const req = (stan: string) => seen.find((r) => r.stan === stan && r.mti !== '0800');
    expect(req(stans.sale1)).toMatchObject({ mti: '0200', pinBlockBytes: 16 });
    expect(req(stans.sale2)).toMatchObject({ mti: '0200', pinBlockBytes: 16 });
    expect(req(stans.refund)?.pinBlockBytes).toBeUndefined();
    expect(seen.some((r) => r.ksn !== undefined)).toBe(false);
  });
});

describe.each([
  // The device part of the KSN: TDES, the first 59 bits (7 whole bytes); AES, the 8-byte initial key ID.
  { profile: 'posbridge-dukpt-tdes', ksnBytes: 10, deviceBytes: 7, pinBlockBytes: 8 },
  { profile: 'posbridge-dukpt-aes', ksnBytes: 12, deviceBytes: 8, pinBlockBytes: 16 },
] as const)(
  'DUKPT reader (--reader-profile $profile) in chromium',
  ({ profile, ksnBytes, deviceBytes, pinBlockBytes }) => {
    const ui = useDemoPage({
      name: `keyschemes-${profile}`,
      demo: { readerProfile: profile, customerDelayMs: 20, hostResponseMs: 2500, logLevel: 'silent' },
    });

    it(`takes a chip sale with PIN, a partial refund and a settlement, each PIN under its own KSN (${profile})`, async () => {
      // A DUKPT reader picks the dialect that carries its KSN.
      expect(ui.demo).toMatchObject({ dialect: 'cup-pos-dukpt', readerProfile: profile });
      expect((await json<{ dialect: string }>(ui, '/sim/host/health')).dialect).toBe('cup-pos-dukpt');
      const stans = await cycle(ui, `keyschemes-${profile}`);

      // Field 53 carried the reader's KSN with each PIN; the host derived each PIN key from its BDK and
      // the KSN (the PINs verified: the sales were approved). The counter moved on between the sale and
      // the next PIN; the refund, on the sale's card data, asked for no PIN and sent no KSN.
      const seen = ui.demo.acquirerRequests();
      const req = (stan: string) => seen.find((r) => r.stan === stan && r.mti !== '0800');
      const first = req(stans.sale1)!;
      const second = req(stans.sale2)!;
      expect(first).toMatchObject({ mti: '0200', pinBlockBytes });
      expect(second).toMatchObject({ mti: '0200', pinBlockBytes });
      expect(req(stans.refund)).toBeDefined();
      expect(req(stans.refund)!.ksn).toBeUndefined();
      const ksn1 = Buffer.from(first.ksn!, 'hex');
      const ksn2 = Buffer.from(second.ksn!, 'hex');
      expect(ksn1.length).toBe(ksnBytes);
      expect(ksn2.length).toBe(ksnBytes);
      expect(dukptCounter(ksn1)).toBeGreaterThan(0);
      expect(dukptCounter(ksn2)).toBeGreaterThan(dukptCounter(ksn1));
      // The same device (initial key ID / KSN prefix), a new transaction counter.
      expect(ksn2.subarray(0, deviceBytes)).toEqual(ksn1.subarray(0, deviceBytes));
      // What the reader's PIN pad holds now is the last KSN sent.
      expect(Buffer.from(ui.demo.reader!.simulator.pinPad!.ksn).toString('hex').toUpperCase()).toBe(
        second.ksn,
      );
      // Both sales' field 64 verified under their KSN's DUKPT MAC keys at the host (the refund,
      // without a KSN, under the session MAK), and their answers under the response keys in the reader.
      const { devices } = await json<{ devices: { macs: number; used: number }[] }>(ui, '/sim/host/dukpt');
      expect(devices).toHaveLength(1);
      expect(devices[0]).toMatchObject({ used: 2, macs: 2 });
    });
  },
);
