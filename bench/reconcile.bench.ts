/**
 * Reconciliation: 100,000 journal operations against a 100,000-line host settlement file (goal: under
 * 5 s). The rows are synthetic, written straight into a temporary journal (one transaction) and a CSV;
 * one in a thousand of each kind of difference is planted, and the report must find exactly those.
 * Measured three ways: a file with batch numbers, without (RRN pairs), and without batch numbers or
 * RRNs (every pair by TID + STAN + date + amount).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sealer } from '../src/crypto/index.js';
import { reconcile, type ReconciliationReport } from '../src/engine/settlement/index.js';
import { Journal } from '../src/journal/index.js';

const TID = 'BENCH001';
const N = 100_000;
const PER_BATCH = 1_000;
const DAYS = 20;

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** Differences planted (one in a thousand of each; host_only twice: unknown here, and not final here). */
interface Planted {
  hostOnly: number;
  localOnly: number;
  amount: number;
  status: number;
}

/** Writes the journal rows and returns the host file's lines (without header). */
function generate(journal: Journal): {
  lines: {
    date: string;
    batch: string;
    stan: string;
    rrn: string;
    amount: number;
    type: string;
    status: string;
  }[];
  planted: Planted;
} {
  const insert = journal.db
    .prepare(`INSERT INTO operations (id, kind, idempotency_key, params_hash, operator_id,
    order_id, original_id, amount, currency, approved_amount, state, reason, terminal_id, reader_id, batch, stan,
    local_date, rrn, auth_code, response_code, card, created_at, updated_at)
    VALUES (?, ?, ?, 'x', 'bench', NULL, NULL, ?, '156', ?, ?, NULL, ?, NULL, ?, ?, ?, ?, '123456', '00', ?, ?, ?)`);
  const card = JSON.stringify({
    maskedPan: '621234*********0010',
    fingerprint: 'fp1:bench',
    scheme: 'unionpay',
    kind: 'chip',
    entryMode: '051',
    panDisplay: '621234*********0010',
  });
  const visa = card.replace('unionpay', 'visa').replace('621234*********0010', '411111******3347');
  const lines: ReturnType<typeof generate>['lines'] = [];
  const planted: Planted = { hostOnly: 0, localOnly: 0, amount: 0, status: 0 };
  const start = Date.UTC(2026, 2, 1, 2, 0, 0);
  journal.transaction(() => {
    for (let i = 0; i < N; i++) {
      const at = new Date(start + Math.floor((i / N) * DAYS * 86_400_000));
      const iso = at.toISOString();
      const date = iso.slice(0, 10);
      const batch = pad(1 + Math.floor(i / PER_BATCH), 6);
      const stan = pad(1 + i, 6);
      const rrn = pad(500_000_000 + i, 12);
      const refund = i % 10 === 9;
      const amount = 1_000 + (i % 977) * 100;
      const kind = refund ? 'refund' : 'sale';
      const m = i % 1000;
      // one in a thousand of each difference
      const hostOnly = m === 101;
      const localOnly = m === 202;
      const amountDiff = m === 303;
      const statusDiff = m === 404;
      const state = hostOnly ? 'needs_attention' : statusDiff ? 'reversed' : 'completed';
      {
        insert.run(
          `op-${i}`,
          kind,
          `k-${i}`,
          amount,
          hostOnly ? null : amount,
          state,
          TID,
          batch,
          stan,
          `${date.slice(5, 7)}${date.slice(8, 10)}`,
          rrn,
          i % 3 === 0 ? visa : card,
          iso,
          iso,
        );
      }
      if (localOnly) {
        // The host never had this one, but has one the journal does not know (so the file keeps 100,000
        // lines): a local_only and a host_only.
        planted.localOnly++;
        planted.hostOnly++;
        lines.push({
          date,
          batch,
          stan: pad(900_000 + Math.floor(i / 1000), 6),
          rrn: pad(900_000_000 + i, 12),
          amount,
          type: kind,
          status: 'approved',
        });
        continue;
      }
      if (hostOnly) planted.hostOnly++;
      if (amountDiff) planted.amount++;
      if (statusDiff) planted.status++;
      lines.push({
        date,
        batch,
        stan,
        rrn,
        amount: amountDiff ? amount - 100 : amount,
        type: kind,
        status: 'approved',
      });
    }
  });
  return { lines, planted };
}

function time(label: string, fn: () => ReconciliationReport, planted: Planted): void {
  const t0 = performance.now();
  const r = fn();
  const ms = performance.now() - t0;
  const c = r.summary.counts;
  const ok =
    r.summary.errors.length === 0 &&
    c.host_only === planted.hostOnly &&
    c.local_only === planted.localOnly &&
    c.amount_mismatch === planted.amount &&
    c.status_mismatch === planted.status;
  console.log(
    `  ${label.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(6)} s  (goal < 5 s)  matched ${r.summary.matched.toLocaleString('en-US')}, items ${r.items.length} ${ok ? '(exactly the planted ones)' : `(MISMATCH: ${JSON.stringify(c)})`}`,
  );
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-recon-'));
  const journal = Journal.open({ dir, sealer: await Sealer.load(dir) });
  try {
    const t0 = performance.now();
    const { lines, planted } = generate(journal);
    console.log(
      `  ${N.toLocaleString('en-US')} journal rows, ${lines.length.toLocaleString('en-US')}-line host file (${N / PER_BATCH} batches over ${DAYS} days), generated in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
    );
    const withBatch = `date,tid,batch,stan,rrn,amount,type,status\n${lines.map((l) => `${l.date},${TID},${l.batch},${l.stan},${l.rrn},${l.amount},${l.type},${l.status}`).join('\n')}\n`;
    const noBatch = `date,tid,stan,rrn,amount,type,status\n${lines.map((l) => `${l.date},${TID},${l.stan},${l.rrn},${l.amount},${l.type},${l.status}`).join('\n')}\n`;
    const bare = `date,tid,stan,rrn,amount,type,status\n${lines.map((l) => `${l.date},${TID},${l.stan},,${l.amount},${l.type},${l.status}`).join('\n')}\n`;
    time(
      'with batch numbers (TID + batch + STAN)',
      () => reconcile(journal, { terminalId: TID, file: { name: 'b.csv', content: withBatch } }),
      planted,
    );
    time(
      'without batch numbers (TID + RRN)',
      () => reconcile(journal, { terminalId: TID, file: { name: 'n.csv', content: noBatch } }),
      planted,
    );
    time(
      'without batch or RRN (TID + STAN + date + amount)',
      () => reconcile(journal, { terminalId: TID, file: { name: 'r.csv', content: bare } }),
      planted,
    );
  } finally {
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
