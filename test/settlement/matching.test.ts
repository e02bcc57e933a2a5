import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Sealer } from '../../src/crypto/index.js';
import {
  parseHostFile,
  reconcile,
  reconcileFileOffline,
  reportCsv,
} from '../../src/engine/settlement/index.js';
import { Journal, type OperationKind, type OperationState } from '../../src/journal/index.js';

const TID = 'POSB0001';
let journal: Journal;
let clock = new Date('2026-03-14T10:00:00Z');
let n = 0;

async function open(): Promise<Journal> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-recon-'));
  journal = Journal.open({ dir, sealer: await Sealer.load(dir), now: () => clock });
  return journal;
}

afterEach(() => journal?.close());

/** A journal row as the engine would have left it. */
function row(o: {
  kind?: OperationKind;
  state: OperationState;
  stan: string;
  batch?: string;
  amount?: number;
  approved?: number | null;
  rrn?: string | null;
  localDate?: string;
  at?: string;
  originalId?: string;
  scheme?: string;
}): string {
  if (o.at) clock = new Date(o.at);
  const id = `op-${++n}`;
  journal.insertOperation({
    id,
    kind: o.kind ?? 'sale',
    idempotencyKey: id,
    paramsHash: 'x',
    operatorId: 'op',
    orderId: null,
    originalId: o.originalId ?? null,
    amount: o.amount ?? 1_000,
    currency: '156',
    state: 'created',
    terminalId: TID,
    readerId: null,
    batch: o.batch ?? '000001',
  });
  journal.updateOperation(id, {
    state: o.state,
    stan: o.stan,
    localDate: o.localDate ?? `${clock.toISOString().slice(5, 7)}${clock.toISOString().slice(8, 10)}`,
    rrn: o.rrn === undefined ? `RRN${o.stan}` : o.rrn,
    approvedAmount: o.approved === undefined ? (o.amount ?? 1_000) : o.approved,
    card: {
      maskedPan: '621234*********0010',
      fingerprint: 'fp1:x',
      scheme: o.scheme ?? 'unionpay',
      kind: 'chip',
      entryMode: '051',
      panDisplay: '621234*********0010',
    },
  });
  return id;
}

const file = (lines: string[], header = 'date,tid,batch,stan,rrn,amount,type,status') =>
  `${header}\n${lines.join('\n')}\n`;

const run = (content: string, tolerance?: { dateDays: number }) =>
  reconcile(journal, {
    terminalId: TID,
    file: { name: 'f.csv', content },
    persist: false,
    ...(tolerance ? { tolerance } : {}),
  });

const cats = (r: ReturnType<typeof run>) =>
  r.items.map((i) => `${i.category}:${i.local?.operationId ?? '-'}:${i.action.code}`).sort();

describe('classification', () => {
  it('each combination of the two sides', async () => {
    await open();
    const ok = row({ state: 'completed', stan: '000001' });
    const revHere = row({ state: 'reversed', stan: '000002' });
    const revThere = row({ state: 'completed', stan: '000003' });
    const declHere = row({ state: 'declined', stan: '000004', approved: null });
    const voided = row({ state: 'completed', stan: '000005' });
    row({ kind: 'void', state: 'completed', stan: '000006', originalId: voided });
    const doubtNone = row({ state: 'needs_attention', stan: '000007', rrn: null, approved: null });
    const fine = row({ state: 'reversed', stan: '000008' });
    const refund = row({ kind: 'refund', state: 'completed', stan: '000009', originalId: ok, amount: 300 });
    const pre = row({ kind: 'preauth', state: 'completed', stan: '000010', amount: 5_000 });
    const r = run(
      file([
        `2026-03-14,${TID},000001,000001,RRN000001,1000,sale,partially_refunded`,
        `2026-03-14,${TID},000001,000002,RRN000002,1000,sale,approved`,
        `2026-03-14,${TID},000001,000003,RRN000003,1000,sale,reversed`,
        `2026-03-14,${TID},000001,000004,RRN000004,1000,sale,approved`,
        `2026-03-14,${TID},000001,000005,RRN000005,1000,sale,approved`,
        `2026-03-14,${TID},000001,000006,RRN000006,1000,void,approved`,
        `2026-03-14,${TID},000001,000008,RRN000008,1000,sale,reversed`,
        `2026-03-14,${TID},000001,000009,RRN000009,300,refund,approved`,
        `2026-03-14,${TID},000001,000010,RRN000010,5000,preauth,completed`,
        `2026-03-14,${TID},000001,000011,RRN000011,2500,sale,approved`,
        `2026-03-14,${TID},000001,000012,RRN000012,2500,sale,reversed`,
        `2026-03-14,OTHER001,000001,000001,RRN900001,1000,sale,approved`,
      ]),
    );
    expect(cats(r)).toEqual(
      [
        `status_mismatch:${revHere}:raise_reversal_not_applied`,
        `status_mismatch:${revThere}:charge_again_or_raise`,
        `host_only:${declHere}:refund_or_accept_told_declined`,
        `status_mismatch:${voided}:raise_status_with_acquirer`,
        `local_only:${doubtNone}:close_not_charged`,
        'host_only:-:investigate_lost_transaction',
      ].sort(),
    );
    expect(r.summary).toMatchObject({ otherTerminals: 1, ignoredHostLines: 1, matched: 9, errors: [] });
    void [ok, fine, refund, pre];
  });

  it('an RRN that disagrees means another transaction, whatever batch and STAN say', async () => {
    await open();
    const id = row({ state: 'completed', stan: '000001', rrn: 'AAA000000001' });
    const r = run(file([`2026-03-14,${TID},000001,000001,BBB000000001,1000,sale,approved`]));
    expect(cats(r)).toEqual([
      `host_only:-:investigate_lost_transaction`,
      `local_only:${id}:ask_acquirer_missing_at_host`,
    ]);
  });

  it('bad lines are reported with their number, never dropped silently', async () => {
    await open();
    const f = parseHostFile(
      file([
        `2026-03-14,${TID},000001,000001,R1,10.50,sale,approved`,
        `2026-13-45,${TID},000001,000002,R2,100,sale,approved`,
        `2026-03-14,${TID},000001,000003,R3,100,teleport,approved`,
        `"2026-03-14","${TID}",000001,000004,"R,4",100,sale,approved`,
      ]),
    );
    expect(f.errors).toEqual([
      { line: 2, error: 'amount is not an integer of minor units (fen)' },
      { line: 3, error: 'date is not YYYY-MM-DD' },
      { line: 4, error: 'unknown type' },
    ]);
    expect(f.records).toMatchObject([{ line: 5, rrn: 'R,4', stan: '000004', batch: '000001' }]);
  });
});

describe('matching without batch numbers', () => {
  const noBatch = 'date,tid,stan,rrn,amount,type,status';

  it('the terminal date and the host date a day apart around midnight, across a year end', async () => {
    await open();
    // the terminal wrote 31 Dec 23:59 local (field 13 = 1231); the host booked it on 1 January
    const id = row({
      state: 'completed',
      stan: '000042',
      rrn: null,
      localDate: '1231',
      at: '2027-01-01T00:00:30Z',
    });
    const r = run(file([`2027-01-01,${TID},000042,,1000,sale,approved`], noBatch));
    expect(r.items).toEqual([]);
    expect(r.summary.matchedBy.tid_stan_date).toBe(1);
    const strict = run(file([`2027-01-01,${TID},000042,,1000,sale,approved`], noBatch), { dateDays: 0 });
    expect(cats(strict)).toEqual(['host_only:-:investigate_lost_transaction']);
    void id;
  });

  it('the STAN wrapped: the same STAN on other days is another transaction; the nearest same amount wins', async () => {
    await open();
    const old = row({
      state: 'completed',
      stan: '000123',
      rrn: null,
      batch: '000001',
      at: '2026-03-01T09:00:00Z',
    });
    const a = row({
      state: 'completed',
      stan: '000123',
      rrn: null,
      batch: '000007',
      amount: 500,
      at: '2026-03-13T22:00:00Z',
    });
    const b = row({
      state: 'completed',
      stan: '000123',
      rrn: null,
      batch: '000008',
      amount: 900,
      at: '2026-03-14T09:00:00Z',
    });
    const r = run(
      file(
        [`2026-03-14,${TID},000123,,900,sale,approved`, `2026-03-14,${TID},000123,,500,sale,approved`],
        noBatch,
      ),
    );
    expect(r.items).toEqual([]);
    expect(r.summary.matched).toBe(2);
    void [old, a, b];
    // Only the file's days are in scope for local_only: the 1 March transaction is not reported.
    const one = run(file([`2026-03-14,${TID},000123,,900,sale,approved`], noBatch));
    expect(cats(one)).toEqual([]); // a (13 March) is outside the file's day, so not local_only either
  });

  it('types must agree when pairing by STAN and date', async () => {
    await open();
    const id = row({ kind: 'refund', state: 'completed', stan: '000200', rrn: null });
    const r = run(file([`2026-03-14,${TID},000200,,1000,sale,approved`], noBatch));
    expect(cats(r)).toEqual([
      `host_only:-:investigate_lost_transaction`,
      `local_only:${id}:ask_acquirer_missing_at_host`,
    ]);
    expect(reportCsv(r).trim().split('\n')).toHaveLength(3);
  });
});

describe('posbridge reconcile --file without a daemon', () => {
  it('reads the file, journals the run, and refuses what it cannot read', async () => {
    await open();
    const id = row({ state: 'completed', stan: '000001' });
    const dir = mkdtempSync(join(tmpdir(), 'pb-recon-file-'));
    const path = join(dir, 'host.csv');
    writeFileSync(path, file([`2026-03-14,${TID},000001,000001,RRN000001,1000,sale,approved`]));
    const out = await reconcileFileOffline(journal, TID, { file: path });
    expect(out.report.items).toEqual([]);
    expect(out.report.runId).toBeGreaterThan(0);
    expect(JSON.parse(out.json)).toMatchObject({ terminalId: TID, summary: { matched: 1 } });
    expect(out.csv.trim().split('\n')).toHaveLength(1);
    await expect(
      reconcileFileOffline(journal, TID, { file: join(dir, 'missing.csv') }),
    ).rejects.toMatchObject({
      code: 'file_unreadable',
    });
    writeFileSync(path, 'this is not,a settlement file\n');
    await expect(reconcileFileOffline(journal, TID, { file: path })).rejects.toMatchObject({
      code: 'file_invalid',
    });
    void id;
  });
});
