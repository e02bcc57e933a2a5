import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportCsv } from '../../src/daemon/journal-command.js';
import { adminRoutes } from '../../src/daemon/admin-routes.js';
import type { Daemon } from '../../src/daemon/daemon-types.js';
import { reconcileCommand } from '../../src/daemon/ops-commands.js';
import { writeDaemonFile } from '../../src/daemon/running.js';
import { loadOrCreateToken } from '../../src/daemon/state-dir.js';
import {
  REPORT_CSV_HEADER,
  reportCsv,
  SettlementError,
  type ReconciliationReport,
} from '../../src/engine/settlement/index.js';
import type { OperationView } from '../../src/engine/index.js';
import { JOURNAL_FILE } from '../../src/journal/index.js';
import { CODE, cardSale, factsOf, qrDesk, qrRefund, qrSale, TID, type QrDesk } from './qr-rig.js';

/**
 * Scan-to-pay reconciliation (issue 20 item 6): real QR payments and partial refunds through the engine
 * against the Alipay and WeChat Pay gateway simulators, their bills downloaded through the adapters and
 * reconciled with the journal. Where the simulator has no fault for it, the bill is edited between
 * download and reconciliation (`desk.edits`), standing for the provider's own change.
 */

// China dates of the scenario: the desk's clock is set to them (10:00 China time = 02:00 UTC).
const D = '2031-03-14';
const AFTER_D = '2031-03-15T02:00:00.000Z';
const E = '2031-04-20';
const E1 = '2031-04-21';

const sig = (r: ReconciliationReport): string[] =>
  r.items
    .map(
      (i) =>
        `${i.category}:${i.local?.operationId ?? i.host?.qr?.outTradeNo ?? '-'}:${i.action.code}:${i.status}`,
    )
    .sort();

/** The CSV's rows as objects (the report's cells never hold a comma here but in `detail`, quoted). */
function csvRows(csv: string): Record<string, string>[] {
  const [head, ...lines] = csv.trim().split('\n');
  const cols = head!.split(',');
  const split = (line: string): string[] =>
    (line.match(/("([^"]|"")*"|[^,]*)(,|$)/g) ?? [])
      .map((c) =>
        c
          .replace(/,$/, '')
          .replace(/^"(.*)"$/s, '$1')
          .replace(/""/g, '"'),
      )
      .slice(0, cols.length);
  return lines.map((l) => Object.fromEntries(split(l).map((v, i) => [cols[i]!, v])));
}

describe.each(['alipay', 'wechat'] as const)('%s: the bill against the journal', (provider) => {
  let desk: QrDesk;
  let a: OperationView;
  let b: OperationView;
  let c: OperationView;
  let card: OperationView;
  let refunds: OperationView[];
  let other: string;
  const reconcile = (extra: object = {}) => desk.service.reconcileQr({ provider, date: D, ...extra });

  beforeAll(async () => {
    desk = await qrDesk();
    desk.clock.set(`${D}T02:00:00.000Z`);
    a = await qrSale(desk, provider, 12_345, 'scan');
    b = await qrSale(desk, provider, 8_800, 'code');
    c = await qrSale(desk, provider, 5_000, 'unpaid');
    refunds = [
      await qrRefund(desk, a.id, 1_000),
      await qrRefund(desk, a.id, 345),
      await qrRefund(desk, b.id, 800),
    ];
    card = await cardSale(desk, 30_000);
    desk.clock.set(AFTER_D);
  }, 30_000);

  afterAll(async () => {
    await desk?.close();
  });

  it('the scenario is what it claims: two payments, three partial refunds, one QR nobody paid', () => {
    expect([a, b, card].map((v) => v.state)).toEqual(['completed', 'completed', 'completed']);
    expect(c).toMatchObject({ state: 'cancelled', reason: 'cancelled_by_operator' });
    expect(refunds.map((r) => [r.state, r.approvedAmount])).toEqual([
      ['completed', 1_000],
      ['completed', 345],
      ['completed', 800],
    ]);
    expect(new Set(refunds.map((r) => factsOf(desk, r.id).outRequestNo)).size).toBe(3);
    const bill = desk.sim.bill(provider, D);
    expect(bill).toBeDefined();
  });

  it('all matched: every bill line pairs with its journal operation by its keys, nothing to report', async () => {
    const { report } = await reconcile();
    expect(sig(report)).toEqual([]);
    expect(report.summary).toMatchObject({
      hostLines: 5,
      localOperations: 6, // a, b, c and the three refunds (the card sale is not scan-to-pay)
      matched: 5,
      matchedBy: { out_trade_no: 2, out_request_no: 3, trade_no: 0 },
      counts: { host_only: 0, local_only: 0, amount_mismatch: 0, status_mismatch: 0, late_arrival: 0 },
    });
    expect(report.totals[0]).toMatchObject({
      local: { domestic: { debitAmount: 21_145, debitCount: 2, creditAmount: 2_145, creditCount: 3 } },
      hostFile: { debitAmount: 21_145, debitCount: 2, creditAmount: 2_145, creditCount: 3 },
      difference: { debitAmount: 0, debitCount: 0, creditAmount: 0, creditCount: 0 },
    });
    expect(report.qr).toEqual({ provider, date: D, laterBills: [] });
    expect(report.runId).toBeGreaterThan(0);
  });

  it('missing at us: a trade another till took on the same merchant account is host_only', async () => {
    desk.clock.set(`${D}T05:00:00.000Z`);
    other = `OTHERTILL${provider.toUpperCase()}1`;
    const r = await desk.otherTill[provider].payByCode({
      outTradeNo: other,
      amount: 4_200,
      subject: 'another till',
      authCode: CODE[provider],
    });
    expect(r.status).toBe('ok');
    desk.clock.set(AFTER_D);
    const { report } = await reconcile();
    expect(sig(report)).toEqual([`host_only:${other}:qr_investigate_unknown_trade:needs_attention`]);
    const item = report.items[0]!;
    expect(item.local).toBeNull();
    expect(item.host).toMatchObject({
      amount: 4_200,
      type: 'sale',
      date: D,
      qr: { provider, outTradeNo: other },
    });
    expect(item.host!.qr!.tradeNo).toBe(
      desk.sim.trades(provider).find((t) => t.outTradeNo === other)!.tradeNo,
    );
    expect(report.summary.matched).toBe(5);
  });

  it('missing at the provider: a completed journal payment dropped from the bill is local_only', async () => {
    desk.edits.drop.add(factsOf(desk, b.id).outTradeNo);
    try {
      const { report } = await reconcile();
      expect(sig(report)).toEqual(
        [
          `host_only:${other}:qr_investigate_unknown_trade:needs_attention`,
          `local_only:${b.id}:qr_missing_at_provider:needs_attention`,
        ].sort(),
      );
      const item = report.items.find((i) => i.category === 'local_only')!;
      expect(item.host).toBeNull();
      expect(item.local).toMatchObject({
        kind: 'sale',
        state: 'completed',
        approvedAmount: 8_800,
        qr: { method: provider, outTradeNo: factsOf(desk, b.id).outTradeNo },
      });
      // b's refund is still in the bill, and still pairs with its journal refund
      expect(report.summary.matchedBy).toMatchObject({ out_trade_no: 1, out_request_no: 3 });
    } finally {
      desk.edits.drop.clear();
    }
  });

  it('an amount difference: amount_mismatch with the delta in fen', async () => {
    desk.edits.amount.set(factsOf(desk, a.id).outTradeNo, 12_340);
    try {
      const { report } = await reconcile();
      expect(sig(report)).toEqual(
        [
          `amount_mismatch:${a.id}:qr_raise_amount_difference:needs_attention`,
          `host_only:${other}:qr_investigate_unknown_trade:needs_attention`,
        ].sort(),
      );
      const item = report.items.find((i) => i.category === 'amount_mismatch')!;
      expect(item).toMatchObject({ amountDelta: -5, matchedBy: 'out_trade_no' });
      expect(item.local).toMatchObject({ approvedAmount: 12_345 });
      expect(item.host).toMatchObject({ amount: 12_340 });
      expect(report.totals[0]!.difference).toMatchObject({ debitAmount: 4_200 - 5, debitCount: 1 });
    } finally {
      desk.edits.amount.clear();
    }
  });

  it('a status disagreement: closed here, charged in the bill', async () => {
    const outTradeNo = factsOf(desk, c.id).outTradeNo;
    desk.edits.extra.push({
      date: D,
      line: { kind: 'payment', outTradeNo, tradeNo: 'T-LATE-PAID', amount: 5_000, at: `${D}T03:00:00.000Z` },
    });
    try {
      const { report } = await reconcile({ persist: false });
      expect(sig(report)).toEqual(
        [
          `host_only:${other}:qr_investigate_unknown_trade:needs_attention`,
          `status_mismatch:${c.id}:qr_refund_or_accept_told_failed:needs_attention`,
        ].sort(),
      );
    } finally {
      desk.edits.extra.length = 0;
    }
  });

  it('a re-run of the same day and provider is idempotent: the same run, the same items, nothing added', async () => {
    const runs = () =>
      desk.journal.db
        .prepare('SELECT id FROM recon_runs WHERE terminal_id = ? AND source = ?')
        .all(TID, `qr:${provider}:${D}`) as { id: number }[];
    const itemCount = (runId: number) =>
      (
        desk.journal.db.prepare('SELECT count(*) AS n FROM recon_items WHERE run_id = ?').get(runId) as {
          n: number;
        }
      ).n;
    const first = (await reconcile()).report;
    const second = (await reconcile()).report;
    expect(second.runId).toBe(first.runId);
    expect(second.items.map((i) => i.itemId)).toEqual(first.items.map((i) => i.itemId));
    expect(sig(second)).toEqual(sig(first));
    expect(runs()).toEqual([{ id: first.runId }]);
    expect(itemCount(first.runId!)).toBe(1);
    // Something changed at the provider: the day's run is replaced, still one run.
    desk.edits.drop.add(factsOf(desk, b.id).outTradeNo);
    try {
      const third = (await reconcile()).report;
      expect(third.runId).toBe(first.runId);
      expect(third.items).toHaveLength(2);
      expect(itemCount(first.runId!)).toBe(2);
      expect(runs()).toHaveLength(1);
    } finally {
      desk.edits.drop.clear();
    }
    const back = (await reconcile()).report;
    expect(itemCount(back.runId!)).toBe(1);
    // the stored run reads back as the report (settlement.report)
    const stored = desk.service.report({ runId: back.runId! }).reconciliation!;
    expect(sig(stored)).toEqual(sig(back));
    expect(stored.qr).toEqual({ provider, date: D, laterBills: [] });
    expect(stored.items[0]!.action.text).toBe(back.items[0]!.action.text);
  });

  it('the CSV export carries the provider and its keys, live and from the stored run', async () => {
    desk.edits.amount.set(factsOf(desk, a.id).outTradeNo, 12_000);
    try {
      const { report, csv, json } = await reconcile();
      // docs/reconciliation.md shows this run: QR_RECON_SAMPLE_DIR=/tmp/x npx vitest run test/settlement/qr-reconcile.test.ts
      const sample = process.env['QR_RECON_SAMPLE_DIR'];
      if (sample) {
        writeFileSync(join(sample, `${provider}-report.csv`), csv);
        writeFileSync(join(sample, `${provider}-report.json`), json);
      }
      expect(csv).toBe(reportCsv(report));
      expect(csv.split('\n')[0]).toBe(REPORT_CSV_HEADER.join(','));
      const rows = csvRows(csv);
      expect(rows.map((r) => `${r['category']}:${r['method']}:${r['out_trade_no']}`).sort()).toEqual(
        [
          `amount_mismatch:${provider}:${factsOf(desk, a.id).outTradeNo}`,
          `host_only:${provider}:${other}`,
        ].sort(),
      );
      const amount = rows.find((r) => r['category'] === 'amount_mismatch')!;
      expect(amount).toMatchObject({
        operation_id: a.id,
        local_amount: '12345',
        host_amount: '12000',
        amount_delta: '-345',
        trade_no: factsOf(desk, a.id).tradeNo,
        action: 'qr_raise_amount_difference',
      });
      const stored = desk.service.report({ runId: report.runId!, format: 'csv' });
      const storedRows = csvRows(stored.csv!);
      const keyCols = (r: Record<string, string>) =>
        [
          'category',
          'status',
          'operation_id',
          'local_amount',
          'host_amount',
          'amount_delta',
          'method',
          'out_trade_no',
          'trade_no',
          'action',
        ]
          .map((k) => r[k])
          .join('|');
      expect(storedRows.map(keyCols).sort()).toEqual(rows.map(keyCols).sort());
    } finally {
      desk.edits.amount.clear();
    }
  });

  it('the journal export lists QR payments beside card payments with the provider and out_trade_no', () => {
    const db = new Database(join(desk.dir, JOURNAL_FILE), { readonly: true });
    let csv: string;
    try {
      csv = exportCsv(db);
    } finally {
      db.close();
    }
    const rows = csvRows(csv);
    const row = (id: string) => rows.find((r) => r['id'] === id)!;
    expect(row(card.id)).toMatchObject({
      method: 'card',
      out_trade_no: '',
      masked_pan: '621234*********0010',
    });
    expect(row(a.id)).toMatchObject({
      method: provider,
      out_trade_no: factsOf(desk, a.id).outTradeNo,
      trade_no: factsOf(desk, a.id).tradeNo,
      out_request_no: '',
    });
    expect(row(refunds[0]!.id)).toMatchObject({
      kind: 'refund',
      method: provider,
      out_trade_no: factsOf(desk, a.id).outTradeNo,
      out_request_no: factsOf(desk, refunds[0]!.id).outRequestNo,
      trade_no: factsOf(desk, a.id).tradeNo,
    });
    expect(factsOf(desk, a.id).tradeNo).toBeTruthy();
  });

  it('late arrivals: a QR shown before midnight and paid after is in the next day’s bill', async () => {
    // E 12:00: an ordinary payment; E 23:59:50: a QR shown; E+1 00:00:05: the customer pays it.
    desk.clock.set(`${E}T04:00:00.000Z`);
    const m = await qrSale(desk, provider, 3_300, 'code');
    desk.clock.set(`${E}T15:59:50.000Z`);
    const late = await qrSale(desk, provider, 6_600, {
      beforeScan: () => desk.clock.set(`${E}T16:00:05.000Z`),
    });
    expect([m.state, late.state]).toEqual(['completed', 'completed']);
    expect(late.createdAt.slice(0, 16)).toBe(`${E}T15:59`);
    expect(factsOf(desk, late.id).paidAt?.slice(0, 16)).toBe(`${E}T16:00`);

    // The morning after: E+1's bill is not out yet; the late one waits for it.
    desk.clock.set(`${E1}T01:00:00.000Z`);
    const early = (await desk.service.reconcileQr({ provider, date: E })).report;
    expect(sig(early)).toEqual([`late_arrival:${late.id}:qr_await_next_bill:needs_attention`]);
    expect(early.items[0]!.detail).toContain(`expected in the bill of ${E1}`);
    expect(early.summary).toMatchObject({ hostLines: 1, matched: 1, localOperations: 2 });

    // Two days on: E+1's bill is read too, the late one is in it: resolved, same run.
    desk.clock.set('2031-04-22T02:00:00.000Z');
    const settled = (await desk.service.reconcileQr({ provider, date: E })).report;
    expect(settled.runId).toBe(early.runId);
    expect(settled.qr?.laterBills).toEqual([E1]);
    expect(sig(settled)).toEqual([`late_arrival:${late.id}:qr_late_arrival:resolved`]);
    expect(settled.items[0]).toMatchObject({ matchedBy: 'out_trade_no', amountDelta: 0 });
    expect(settled.items[0]!.host).toMatchObject({ date: E1, amount: 6_600 });

    // E+1's own reconciliation: the line pairs with the journal's payment of E (within a day).
    const next = (await desk.service.reconcileQr({ provider, date: E1 })).report;
    expect(sig(next)).toEqual([`late_arrival:${late.id}:qr_late_arrival:resolved`]);
    expect(next.summary).toMatchObject({ hostLines: 1, matched: 1, localOperations: 0 });
    expect(next.totals[0]!.difference).toMatchObject({ debitAmount: 6_600, debitCount: 1 });

    // No tolerance: E+1's line is still paired by its key, but the dates must agree.
    const exact = (
      await desk.service.reconcileQr({ provider, date: E1, tolerance: { dateDays: 0 }, persist: false })
    ).report;
    expect(sig(exact)).toEqual([`late_arrival:${late.id}:qr_check_dates:needs_attention`]);
  });

  it('posbridge reconcile --qr through the daemon’s admin route: the report, exit 1 on differences, 2 on usage', async () => {
    // The desk stands for the running daemon: its journal holds the state directory's lock.
    const token = loadOrCreateToken(desk.dir);
    const d = { token, settlement: desk.service } as unknown as Daemon;
    const route = adminRoutes().find((r) => r.path === '/admin/reconcile')!;
    const server: Server = createServer((req, res) => void route.handler(req, res, d));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    writeDaemonFile(desk.dir, { pid: process.pid, port: (server.address() as AddressInfo).port });
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      desk.clock.set(AFTER_D);
      // Day D has the other till's trade: a difference.
      expect(await reconcileCommand(['--qr', provider, '--date', D, '--home', desk.dir])).toBe(1);
      const printed = JSON.parse(out.join('')) as ReconciliationReport;
      expect(sig(printed)).toEqual([`host_only:${other}:qr_investigate_unknown_trade:needs_attention`]);
      out.length = 0;
      expect(await reconcileCommand(['--qr', provider, '--date', D, '--csv', '--home', desk.dir])).toBe(1);
      expect(out.join('').split('\n')[0]).toBe(REPORT_CSV_HEADER.join(','));
      // E+1: only a resolved late arrival, no difference.
      desk.clock.set('2031-04-22T02:00:00.000Z');
      expect(await reconcileCommand(['--qr', provider, '--date', E1, '--home', desk.dir])).toBe(0);
      // A day not over yet: the daemon refuses it (exit 1, the error on stderr).
      expect(await reconcileCommand(['--qr', provider, '--date', '2031-04-22', '--home', desk.dir])).toBe(1);
      expect(await reconcileCommand(['--qr', 'paypal', '--date', D, '--home', desk.dir])).toBe(2);
      expect(await reconcileCommand(['--qr', provider, '--home', desk.dir])).toBe(2);
      expect(
        await reconcileCommand(['--qr', provider, '--date', D, '--file', 'x.csv', '--home', desk.dir]),
      ).toBe(2);
      // No daemon for this state directory: offline needs --config (the providers' credentials).
      const idle = mkdtempSync(join(tmpdir(), 'pb-qr-idle-'));
      expect(await reconcileCommand(['--qr', provider, '--date', D, '--home', idle])).toBe(2);
    } finally {
      spy.mockRestore();
      err.mockRestore();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('refuses what it cannot reconcile, with stable codes', async () => {
    desk.clock.set(AFTER_D);
    await expect(desk.service.reconcileQr({ provider, date: '2031-03-15' })).rejects.toMatchObject({
      code: 'invalid_request',
      path: 'date',
    });
    await expect(desk.service.reconcileQr({ provider, date: '2031-02-30' })).rejects.toMatchObject({
      code: 'invalid_request',
      path: 'date',
    });
    await expect(desk.service.reconcileQr({ provider: 'paypal' as never, date: D })).rejects.toBeInstanceOf(
      SettlementError,
    );
    desk.sim.setBehaviour({
      systemError: {
        count: 1,
        only: [provider === 'alipay' ? 'alipay.data.dataservice.bill.downloadurl.query' : 'wechat.tradebill'],
      },
    });
    await expect(desk.service.reconcileQr({ provider, date: D })).rejects.toMatchObject({
      code: 'bill_unavailable',
      retryable: true,
    });
  });
});
