/**
 * Central reconciliation on both stores: payments of three daemons (two stores, three terminals) come in
 * through the real ingestion path, two acquirer files (no batch ids, many terminals, a late line in the
 * next day's file) are imported, and the run's report is checked row by row, to the fen.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HubPayment, IngestBatch } from '../../src/api/index.js';
import {
  createEnrolCode,
  enrol,
  fleetReport,
  importAcquirerFile,
  ingest,
  int,
  reconcileFleet,
  startHubService,
  type AuthedDaemon,
  type HubDb,
  type HubService,
  type ReconDayRow,
} from '../../src/hub/index.js';
import { STORES, freshDb } from './hub-db.js';

interface P {
  tid: string;
  kind?: string;
  state: string;
  amount: number;
  approved?: number | null;
  stan: string;
  rrn?: string | null;
  date: string;
  originalId?: string;
}

function payment(id: string, p: P): HubPayment {
  const at = `${p.date}T09:00:00.000Z`;
  return {
    paymentId: id,
    kind: (p.kind ?? 'sale') as HubPayment['kind'],
    state: p.state as HubPayment['state'],
    final: true,
    reason: null,
    orderId: `O-${id}`,
    originalId: p.originalId ?? null,
    amount: p.amount,
    approvedAmount: p.approved !== undefined ? p.approved : p.state === 'completed' ? p.amount : null,
    currency: 'CNY',
    operatorId: 'op1',
    card: { panDisplay: '622202******1234', scheme: 'unionpay', kind: 'chip', entryMode: '051' },
    host: { batch: '000001', stan: p.stan, rrn: p.rrn ?? null, authCode: null, responseCode: null },
    voided: false,
    refundedAmount: 0,
    capturedAmount: 0,
    cancelRequested: false,
    signed: false,
    method: 'card',
    qr: null,
    createdAt: at,
    updatedAt: at,
    terminalId: p.tid,
    localDate: p.date,
  };
}

async function daemon(db: HubDb, store: string, tid: string): Promise<AuthedDaemon> {
  const { code } = await createEnrolCode(db, { store });
  const r = await enrol(db, { code, terminalIds: [tid], version: 'test' });
  return { id: r.daemonId, store: r.store };
}

/** Sends the payments through the hub's ingestion, one event each. */
async function push(db: HubDb, d: AuthedDaemon, pays: Record<string, P>): Promise<void> {
  const payments = Object.entries(pays).map(([id, p]) => payment(id, p));
  const batch: IngestBatch = {
    protocol: 1,
    journalId: `journal-${d.id}`,
    after: 0,
    upTo: payments.length,
    events: payments.map((p, i) => ({
      seq: i + 1,
      at: p.updatedAt,
      event: {
        paymentId: p.paymentId,
        seq: i + 1,
        durable: true,
        type: 'state',
        state: p.state,
        final: true,
      },
    })),
    payments,
  };
  const ack = await ingest(db, d, batch);
  expect(ack.ackedSeq).toBe(payments.length);
}

const D3 = '2026-12-03';
const D4 = '2026-12-04';
const D5 = '2026-12-05';

/** Daemon A, terminal T1 (Shanghai). */
const A: Record<string, P> = {
  a1: { tid: 'T1', state: 'completed', amount: 100_00, stan: '000001', rrn: 'R1', date: D3 },
  a2: { tid: 'T1', state: 'completed', amount: 250_50, stan: '000002', rrn: 'R2', date: D3 },
  a3: { tid: 'T1', state: 'completed', amount: 80_00, stan: '000003', rrn: 'R3', date: D3 },
  a4: { tid: 'T1', state: 'completed', amount: 60_00, stan: '000004', rrn: 'R4', date: D3 },
  a5: { tid: 'T1', state: 'reversed', amount: 45_00, stan: '000005', rrn: 'R5', date: D3 },
  a6: { tid: 'T1', state: 'unknown', amount: 70_00, stan: '000006', date: D3 },
  a7: { tid: 'T1', state: 'completed', amount: 30_00, stan: '000007', date: D3 },
  a8: { tid: 'T1', state: 'unknown', amount: 20_00, stan: '000008', date: D3 },
  a9: { tid: 'T1', state: 'declined', amount: 10_00, stan: '000009', date: D3 },
  a10: { tid: 'T1', state: 'completed', amount: 5_00, stan: '000010', rrn: 'R10', date: D5 },
};
/** Daemon B, terminal T2 (Shanghai): a STAN that wrapped, a void, a refund. */
const B: Record<string, P> = {
  b1: { tid: 'T2', state: 'completed', amount: 500_00, stan: '000100', date: D3 },
  b2: { tid: 'T2', state: 'completed', amount: 700_00, stan: '000100', date: D4 },
  b3: { tid: 'T2', state: 'completed', amount: 12_34, stan: '000101', rrn: 'RB3', date: D4 },
  b3v: {
    tid: 'T2',
    kind: 'void',
    state: 'completed',
    amount: 12_34,
    stan: '000102',
    rrn: 'RB4',
    date: D4,
    originalId: 'b3',
  },
  b4: { tid: 'T2', kind: 'refund', state: 'completed', amount: 5_00, stan: '000103', rrn: 'RB5', date: D4 },
  b5: { tid: 'T2', state: 'completed', amount: 99_00, stan: '000104', rrn: 'RB6', date: D4 },
};
/** Daemon C, terminal T3, a store whose name a spreadsheet would run as a formula. */
const C: Record<string, P> = {
  c1: { tid: 'T3', state: 'completed', amount: 1_00, stan: '000200', rrn: 'RC1', date: D4 },
  c2: { tid: 'T3', state: 'declined', amount: 2_00, stan: '000201', date: D4 },
};

const FILE_1 = [
  'date,tid,batch,stan,rrn,amount,type,status',
  `${D3},T1,,000001,R1,10000,sale,approved`,
  `${D3},T1,,000002,R2,25049,sale,approved`,
  `${D3},T1,,000005,R5,4500,sale,approved`,
  `${D3},T1,,000006,R6,7000,sale,approved`,
  `${D3},T1,,000007,R7,3000,sale,approved`,
  '',
].join('\n');

/** The next day's file: other column order, no batch column, the late line of a4, a wrapped STAN. */
const FILE_2 = [
  'tid,date,trace,rrn,type,status,amount',
  `T1,${D4},000004,R4,sale,approved,6000`,
  `T2,${D4},000100,RB1,sale,approved,50000`,
  `T2,${D4},000100,RB2,sale,approved,70000`,
  `T2,${D4},000101,RB3,sale,voided,1234`,
  `T2,${D4},000102,RB4,void,approved,1234`,
  `T2,${D4},000103,RB5,refund,approved,500`,
  `T2,${D4},000104,RB6,sale,reversed,9900`,
  `T3,${D4},000200,RC1,sale,approved,100`,
  `T3,${D4},000201,RC2,sale,approved,200`,
  `T3,${D4},000202,RC3,sale,reversed,300`,
  `T9,${D4},000001,R99,sale,approved,9999`,
  `T1,${D5},000010,R10,sale,approved,500`,
  '',
].join('\r\n');

const ZERO = {
  acquirerLines: 0,
  localPayments: 0,
  matched: 0,
  matchedAmount: 0,
  late: 0,
  lateAmount: 0,
  missingAtAcquirer: 0,
  missingAtAcquirerAmount: 0,
  missingAtUs: 0,
  missingAtUsAmount: 0,
  amountDifferences: 0,
  amountDifferenceLocal: 0,
  amountDifferenceHost: 0,
  amountDelta: 0,
  statusDifferences: 0,
  notCharged: 0,
  ignoredLines: 0,
};

const EXPECTED_DAYS: Omit<ReconDayRow, 'runId'>[] = [
  {
    ...ZERO,
    day: D3,
    store: 'Shanghai',
    terminalId: 'T1',
    status: 'differences',
    acquirerLines: 6,
    localPayments: 9,
    matched: 3,
    matchedAmount: 100_00 + 60_00 + 30_00,
    late: 1,
    lateAmount: 60_00,
    missingAtAcquirer: 1,
    missingAtAcquirerAmount: 80_00,
    missingAtUs: 1,
    missingAtUsAmount: 70_00,
    amountDifferences: 1,
    amountDifferenceLocal: 250_50,
    amountDifferenceHost: 250_49,
    amountDelta: -1,
    statusDifferences: 1,
    notCharged: 1,
  },
  {
    ...ZERO,
    day: D3,
    store: 'Shanghai',
    terminalId: 'T2',
    status: 'balanced',
    acquirerLines: 1,
    localPayments: 1,
    matched: 1,
    matchedAmount: 500_00,
    late: 1,
    lateAmount: 500_00,
  },
  {
    ...ZERO,
    day: D4,
    store: null,
    terminalId: 'T9',
    status: 'differences',
    acquirerLines: 1,
    missingAtUs: 1,
    missingAtUsAmount: 99_99,
  },
  {
    ...ZERO,
    day: D4,
    store: '=Beijing',
    terminalId: 'T3',
    status: 'differences',
    acquirerLines: 3,
    localPayments: 2,
    matched: 1,
    matchedAmount: 1_00,
    missingAtUs: 1,
    missingAtUsAmount: 2_00,
    ignoredLines: 1,
  },
  {
    ...ZERO,
    day: D4,
    store: 'Shanghai',
    terminalId: 'T2',
    status: 'differences',
    acquirerLines: 5,
    localPayments: 5,
    matched: 4,
    matchedAmount: 700_00 + 12_34 + 12_34 + 5_00,
    statusDifferences: 1,
  },
];

const strip = (rows: ReconDayRow[]) => rows.map(({ runId: _r, ...rest }) => rest);

async function seed(db: HubDb): Promise<void> {
  await push(db, await daemon(db, 'Shanghai', 'T1'), A);
  await push(db, await daemon(db, 'Shanghai', 'T2'), B);
  await push(db, await daemon(db, '=Beijing', 'T3'), C);
}

for (const store of STORES) {
  describe.skipIf(store.skip)(`central reconciliation (${store.name})`, () => {
    let db: HubDb | undefined;
    let hub: HubService | undefined;
    afterEach(async () => {
      await hub?.close();
      await db?.close();
      hub = undefined;
      db = undefined;
    });

    it('matches every daemon’s payments against the acquirer files per store, terminal and day, to the fen', async () => {
      db = await freshDb(store.name);
      hub = await startHubService({ db });
      await seed(db);
      const f1 = await importAcquirerFile(db, 'acq-2026-12-03.csv', FILE_1);
      expect(f1).toMatchObject({
        imported: true,
        lines: 5,
        terminals: 1,
        firstDate: D3,
        lastDate: D3,
        superseded: 0,
      });
      const f2 = await importAcquirerFile(db, 'acq-2026-12-04.csv', FILE_2);
      expect(f2).toMatchObject({ imported: true, lines: 12, terminals: 4, firstDate: D4, lastDate: D5 });

      const run = await reconcileFleet(db, { from: D3, to: D4 });
      expect(run).toMatchObject({
        from: D3,
        to: D4,
        tolerance: { dateDays: 1 },
        matched: 9,
        matchedAmount: 142_068,
        late: 2,
        lateAmount: 560_00,
        missingAtAcquirer: 1,
        missingAtAcquirerAmount: 80_00,
        missingAtUs: 3,
        missingAtUsAmount: 70_00 + 2_00 + 99_99,
        amountDifferences: 1,
        amountDelta: -1,
        statusDifferences: 2,
        notCharged: 1,
        ignoredLines: 1,
        matchedBy: { tid_rrn: 9, tid_stan_date: 5 },
        days: 5,
        items: 10,
      });

      const report = await fleetReport(db, { from: D3, to: D4 });
      expect(strip(report.days)).toEqual(EXPECTED_DAYS);
      expect(report.run?.id).toBe(run.runId);
      expect(report.daysTotal).toBe(5);
      expect(
        report.stores.map((s) => [
          s.day,
          s.store,
          s.terminals,
          s.status,
          s.matched,
          s.matchedAmount,
          s.late,
          s.missingAtUsAmount,
        ]),
      ).toEqual([
        [D3, 'Shanghai', 2, 'differences', 4, 690_00, 2, 70_00],
        [D4, null, 1, 'differences', 0, 0, 0, 99_99],
        [D4, '=Beijing', 1, 'differences', 1, 1_00, 0, 2_00],
        [D4, 'Shanghai', 1, 'differences', 4, 729_68, 0, 0],
      ]);
      const cut = await fleetReport(db, { from: D3, to: D4, dayLimit: 2, itemLimit: 3 });
      expect([cut.days.length, cut.daysTotal, cut.items.length, cut.itemsTotal]).toEqual([2, 5, 3, 10]);
      expect(cut.totals).toEqual(report.totals);
      expect(report.itemsTotal).toBe(10);
      const byPayment = new Map(report.items.filter((i) => i.local).map((i) => [i.local!.paymentId, i]));
      expect(byPayment.get('a2')).toMatchObject({
        category: 'amount_mismatch',
        amountDelta: -1,
        matchedBy: 'tid_rrn',
        action: { code: 'raise_amount_adjustment' },
      });
      expect(byPayment.get('a3')).toMatchObject({
        category: 'local_only',
        status: 'needs_attention',
        host: null,
        action: { code: 'ask_acquirer_missing_at_host' },
      });
      expect(byPayment.get('a4')).toMatchObject({
        category: 'late_arrival',
        status: 'resolved',
        host: { date: D4, line: 2 },
        local: { date: D3 },
      });
      expect(byPayment.get('a5')).toMatchObject({
        category: 'status_mismatch',
        action: { code: 'raise_reversal_not_applied' },
      });
      expect(byPayment.get('a6')).toMatchObject({
        category: 'host_only',
        matchedBy: 'tid_stan_date',
        action: { code: 'confirm_or_refund' },
      });
      expect(byPayment.get('a8')).toMatchObject({
        category: 'local_only',
        status: 'resolved',
        action: { code: 'close_not_charged' },
      });
      // The wrapped STAN: the 500.00 line went to b1 (same amount, a day later) though b2 is on its day.
      expect(byPayment.get('b1')).toMatchObject({
        category: 'late_arrival',
        matchedBy: 'tid_stan_date',
        host: { amount: 500_00, line: 3 },
      });
      expect(byPayment.get('b5')).toMatchObject({
        category: 'status_mismatch',
        action: { code: 'charge_again_or_raise' },
      });
      expect(byPayment.get('c2')).toMatchObject({
        category: 'host_only',
        action: { code: 'refund_or_accept_told_declined' },
      });
      const lost = report.items.find((i) => !i.local);
      expect(lost).toMatchObject({
        category: 'host_only',
        terminalId: 'T9',
        store: null,
        host: { amount: 99_99 },
        action: { code: 'investigate_lost_transaction' },
      });
      expect(
        byPayment.has('a1') ||
          byPayment.has('a7') ||
          byPayment.has('b2') ||
          byPayment.has('a9') ||
          byPayment.has('a10'),
      ).toBe(false);

      // One store only.
      const beijing = await fleetReport(db, { from: D3, to: D4, store: '=Beijing' });
      expect(beijing.days.map((d) => d.terminalId)).toEqual(['T3']);
      expect(beijing.totals).toMatchObject({
        matched: 1,
        matchedAmount: 1_00,
        missingAtUs: 1,
        missingAtUsAmount: 2_00,
      });

      // Running again gives the same rows, not more.
      const again = await reconcileFleet(db, { from: D3, to: D4 });
      expect(again.runId).toBeGreaterThan(run.runId);
      const report2 = await fleetReport(db, { from: D3, to: D4 });
      expect(strip(report2.days)).toEqual(EXPECTED_DAYS);
      expect(
        report2.items.map(({ local, host, category }) => [local?.paymentId, host?.line, category]),
      ).toEqual(report.items.map(({ local, host, category }) => [local?.paymentId, host?.line, category]));
      const [n] = await db.query<{ d: unknown; i: unknown }>(
        'SELECT (SELECT count(*) FROM hub_recon_days) AS d, (SELECT count(*) FROM hub_recon_items) AS i',
      );
      expect([int(n!.d), int(n!.i)]).toEqual([5, 10]);
    });

    it('a re-imported file changes nothing and says so; a later file replaces the lines it repeats', async () => {
      db = await freshDb(store.name);
      hub = await startHubService({ db });
      await seed(db);
      await importAcquirerFile(db, 'acq-1.csv', FILE_1);
      await importAcquirerFile(db, 'acq-2.csv', FILE_2);
      const again = await importAcquirerFile(db, 'acq-1-copy.csv', FILE_1);
      expect(again).toMatchObject({ imported: false, lines: 5, name: 'acq-1-copy.csv' });
      expect(again.message).toMatch(/already imported \(as "acq-1\.csv"/);
      const count = async () =>
        (
          await db!.query<{ f: unknown; l: unknown }>(
            'SELECT (SELECT count(*) FROM hub_acq_files) AS f, (SELECT count(*) FROM hub_acq_lines) AS l',
          )
        ).map((r) => [int(r.f), int(r.l)])[0];
      expect(await count()).toEqual([2, 17]);

      // The acquirer re-sends the 3 December with a2 corrected (the whole day again, and a3 it had lost).
      const corrected = `${FILE_1.replace(',25049,', ',25050,')}${D3},T1,,000003,R3,8000,sale,approved\n`;
      const f3 = await importAcquirerFile(db, 'acq-1-corrected.csv', corrected);
      // a2's line differs only in amount: the same transaction, replaced; the other four are repeats.
      expect(f3).toMatchObject({ imported: true, lines: 6, superseded: 5 });
      await reconcileFleet(db, { from: D3, to: D3 });
      const r = await fleetReport(db, { from: D3, to: D3 });
      expect(r.days.find((d) => d.terminalId === 'T1')).toMatchObject({
        acquirerLines: 7,
        matched: 5,
        matchedAmount: 100_00 + 250_50 + 80_00 + 60_00 + 30_00,
        amountDifferences: 0,
        missingAtAcquirer: 0,
        missingAtUs: 1,
        statusDifferences: 1,
      });
    });

    it('a line the acquirer lists twice pairs once (the nearest date, then the first line): the other is missing at us', async () => {
      db = await freshDb(store.name);
      hub = await startHubService({ db });
      await push(db, await daemon(db, 'Shanghai', 'T5'), {
        d1: { tid: 'T5', state: 'completed', amount: 10_00, stan: '000001', rrn: 'RD1', date: D3 },
        d2: { tid: 'T5', state: 'completed', amount: 20_00, stan: '000002', rrn: 'RD2', date: D3 },
      });
      const file = [
        'date,tid,stan,rrn,amount,type,status',
        `${D4},T5,000001,RD1,1000,sale,approved`,
        `${D3},T5,000001,RD1,1000,sale,approved`,
        `${D3},T5,000002,RD2,2000,sale,approved`,
        `${D3},T5,000002,RD2,2000,sale,approved`,
        '',
      ].join('\n');
      await importAcquirerFile(db, 'dup.csv', file);
      const run = await reconcileFleet(db, { from: D3, to: D4 });
      expect(run).toMatchObject({
        matched: 2,
        late: 0,
        missingAtUs: 2,
        missingAtUsAmount: 30_00,
        matchedBy: { tid_rrn: 2, tid_stan_date: 0 },
      });
      const r = await fleetReport(db, { from: D3, to: D4 });
      expect(r.items.map((i) => [i.category, i.host?.line, i.host?.date])).toEqual([
        ['host_only', 5, D3],
        ['host_only', 2, D4],
      ]);
    });

    it('a malformed file is refused whole with a typed error naming the line and the column', async () => {
      db = await freshDb(store.name);
      hub = await startHubService({ db });
      const bad = FILE_1.replace(`${D3},T1,,000005,R5,4500,`, `${D3},T1,,000005,R5,45.00,`);
      await expect(importAcquirerFile(db, 'bad.csv', bad)).rejects.toMatchObject({
        code: 'bad_file',
        status: 400,
        path: 'line:4:amount',
        line: 4,
        column: 'amount',
        message: expect.stringMatching(/^line 4, column amount: amount is not an integer/),
      });
      await expect(
        importAcquirerFile(db, 'bad.csv', FILE_1.replace('sale,approved', 'sale,maybe')),
      ).rejects.toMatchObject({
        path: 'line:2:status',
      });
      await expect(importAcquirerFile(db, 'bad.csv', 'date,tid,stan,amount\n')).rejects.toMatchObject({
        path: 'line:1:header',
      });
      const [n] = await db.query<{ n: unknown }>(
        'SELECT (SELECT count(*) FROM hub_acq_files) + (SELECT count(*) FROM hub_acq_lines) AS n',
      );
      expect(int(n!.n)).toBe(0);
    });

    it('routes: log in or 401; import, run and the report as JSON and injection-safe CSV', async () => {
      db = await freshDb(store.name);
      hub = await startHubService({ db, issueAdminToken: true });
      await seed(db);
      const h = hub;
      const auth = { authorization: `Bearer ${h.adminToken!}` };
      for (const [method, path] of [
        ['POST', '/api/reconcile/files?name=x.csv'],
        ['GET', '/api/reconcile/files'],
        ['POST', '/api/reconcile/run'],
        ['GET', '/api/reconcile/report'],
      ] as const) {
        const res = await fetch(`${h.url}${path}`, {
          method,
          ...(method === 'POST' ? { body: FILE_1 } : {}),
        });
        expect(res.status, path).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      }
      const post = (name: string, body: string, headers: Record<string, string> = {}) =>
        fetch(`${h.url}/api/reconcile/files?name=${encodeURIComponent(name)}`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'text/csv', ...headers },
          body,
        });
      const other = await post('x.csv', FILE_1, { origin: 'http://evil.example' });
      expect(other.status).toBe(403);
      const r1 = await post('acq-1.csv', FILE_1);
      expect(r1.status).toBe(201);
      expect(await r1.json()).toMatchObject({ imported: true, lines: 5, name: 'acq-1.csv' });
      expect((await post('acq-1.csv', FILE_1)).status).toBe(200);
      expect((await post('acq-2.csv', FILE_2)).status).toBe(201);
      const bad = await post('bad.csv', FILE_2.replace('T9,', ',').replace(/\r\n/g, '\n'));
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { code: 'bad_file', path: 'line:12:tid' } });

      const files = await fetch(`${h.url}/api/reconcile/files`, { headers: auth });
      expect(((await files.json()) as { files: { name: string }[] }).files.map((f) => f.name)).toEqual([
        'acq-2.csv',
        'acq-1.csv',
      ]);

      const badRun = await fetch(`${h.url}/api/reconcile/run`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ from: '2026-13-01' }),
      });
      expect(badRun.status).toBe(400);
      expect(((await badRun.json()) as { error: { path: string } }).error.path).toBe('from');
      // Without a range: the days of the files imported since the last run (here: all, 3 to 5 December).
      const run = await fetch(`${h.url}/api/reconcile/run`, { method: 'POST', headers: auth });
      expect(run.status).toBe(200);
      expect(await run.json()).toMatchObject({
        from: D3,
        to: D5,
        matched: 10,
        matchedAmount: 142_068 + 5_00,
      });
      const ranged = await fetch(`${h.url}/api/reconcile/run?from=${D3}&to=${D4}`, {
        method: 'POST',
        headers: auth,
      });
      expect(await ranged.json()).toMatchObject({ from: D3, to: D4, matched: 9 });
      // Nothing imported since: the last run's days again; then a new file: its days.
      const same = await fetch(`${h.url}/api/reconcile/run`, { method: 'POST', headers: auth });
      expect(await same.json()).toMatchObject({ from: D3, to: D4, matched: 9 });
      expect(
        (
          await post(
            'acq-3.csv',
            `date,tid,stan,rrn,amount,type,status\n${D5},T1,000011,R11,700,sale,approved\n`,
          )
        ).status,
      ).toBe(201);
      const fresh = await fetch(`${h.url}/api/reconcile/run`, { method: 'POST', headers: auth });
      expect(await fresh.json()).toMatchObject({
        from: D5,
        to: D5,
        matched: 1,
        missingAtUs: 1,
        missingAtUsAmount: 700,
      });

      const json = await fetch(`${h.url}/api/reconcile/report?from=${D3}&to=${D4}`, { headers: auth });
      const report = (await json.json()) as { days: ReconDayRow[]; totals: { missingAtUsAmount: number } };
      expect(strip(report.days)).toEqual(EXPECTED_DAYS);
      expect(report.totals.missingAtUsAmount).toBe(70_00 + 2_00 + 99_99);

      const csv = await fetch(`${h.url}/api/reconcile/report?from=${D3}&to=${D4}&format=csv`, {
        headers: auth,
      });
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      const lines = (await csv.text()).trimEnd().split('\n');
      expect(lines[0]).toBe(
        'day,store,terminal_id,status,acquirer_lines,local_payments,matched,matched_amount,late,late_amount,missing_at_acquirer,missing_at_acquirer_amount,missing_at_us,missing_at_us_amount,amount_differences,amount_difference_local,amount_difference_host,amount_delta,status_differences,not_charged,ignored_lines',
      );
      expect(lines).toContain(`${D4},'=Beijing,T3,differences,3,2,1,100,0,0,0,0,1,200,0,0,0,0,0,0,1`);
      expect(lines).toContain(
        `${D3},Shanghai,T1,differences,6,9,3,19000,1,6000,1,8000,1,7000,1,25050,25049,-1,1,1,0`,
      );
      expect(lines.at(-1)).toBe('total,,,,16,17,9,142068,2,56000,1,8000,3,17199,1,25050,25049,-1,2,1,1');
      const perStore = await fetch(
        `${h.url}/api/reconcile/report?from=${D3}&to=${D4}&format=csv&detail=stores`,
        { headers: auth },
      );
      const storeLines = (await perStore.text()).trimEnd().split('\n');
      expect(storeLines[0]).toMatch(/^day,store,terminals,status,acquirer_lines,/);
      expect(storeLines.slice(1)).toEqual([
        `${D3},Shanghai,2,differences,7,10,4,69000,2,56000,1,8000,1,7000,1,25050,25049,-1,1,1,0`,
        `${D4},,1,differences,1,0,0,0,0,0,0,0,1,9999,0,0,0,0,0,0,0`,
        `${D4},'=Beijing,1,differences,3,2,1,100,0,0,0,0,1,200,0,0,0,0,0,0,1`,
        `${D4},Shanghai,1,differences,5,5,4,72968,0,0,0,0,0,0,0,0,0,0,1,0,0`,
        'total,,5,,16,17,9,142068,2,56000,1,8000,3,17199,1,25050,25049,-1,2,1,1',
      ]);
      const items = await fetch(
        `${h.url}/api/reconcile/report?from=${D4}&to=${D4}&store=%3DBeijing&format=csv&detail=items`,
        {
          headers: auth,
        },
      );
      const itemLines = (await items.text()).trimEnd().split('\n');
      expect(itemLines).toHaveLength(2);
      expect(itemLines[1]).toMatch(
        new RegExp(
          `^${D4},'=Beijing,T3,host_only,needs_attention,tid_stan_date,000201,RC2,d_[0-9a-f]+,c2,sale,declined,200,${D4},\\d+,10,${D4},sale,approved,200,0,refund_or_accept_told_declined$`,
        ),
      );
    });
  });
}
