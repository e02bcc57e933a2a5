/**
 * Reconciliation: the journal against (a) the host's settlement totals (what the 0500 carried and the
 * 0510 answered) and (b) the host's settlement file. Every difference becomes an item with both records
 * (masked PAN only) and a suggested action; docs/reconciliation.md explains the categories and the
 * matching rules:
 *
 * 1. `tid_batch_stan`: same terminal, batch and STAN (a STAN is unique in a batch), unless both sides
 *    have an RRN and they differ;
 * 2. `tid_rrn`: same terminal and RRN (unique across the host's life);
 * 3. `tid_stan_date` (files without batch numbers, answers that never came so no RRN here): same
 *    terminal and STAN, a compatible type, the host's date within `tolerance.dateDays` of the terminal's
 *    local date; RRNs, when both sides have one, must agree. Several candidates (the STAN counter wraps
 *    at 999999): the same amount first, then the nearest date.
 */
import { createHash } from 'node:crypto';
import type { Journal } from '../../journal/index.js';
import { HOLDS, dateOfDay, dayNumber, hostTypes, localClass, localDateOf, localRecord } from './classify.js';
import { parseHostFile } from './hostfile.js';
import { SettlementStore, type OpRow } from './store.js';
import { computeTotals, diffTotals, sumTotals, zeroTotals } from './totals.js';
import {
  DEFAULT_TOLERANCE,
  type HostRecord,
  type LocalRecord,
  type MatchRule,
  type MatchTolerance,
  type ReconAction,
  type ReconCategory,
  type ReconClass,
  type ReconItem,
  type ReconciliationReport,
  type Totals,
  type TotalsComparison,
} from './types.js';

export interface ReconcileInput {
  terminalId: string;
  /** The host's settlement file: its CSV text and a name for the report (never the content). */
  file?: { name: string; content: string };
  /** Without a file: the batches whose settlement totals are compared (default: the last settled one). */
  batches?: string[];
  tolerance?: Partial<MatchTolerance>;
  /** Journal the run and its items, and resolve boundary items the file settles (default true). */
  persist?: boolean;
  now?: () => Date;
}

/** Suggested actions, by code. */
export const ACTIONS: Record<string, string> = {
  investigate_lost_transaction:
    'The host charged a transaction the journal does not know: find where it was taken (another device, a restored journal) and record it, or refund the customer with the card present.',
  confirm_or_refund:
    'The customer was charged but the journal never finished this payment: confirm with the customer and complete the order, or refund with the card present.',
  refund_or_accept_told_declined:
    'The customer was told it failed, but the host charged it: refund with the card present, or, with the customer, accept it as the payment.',
  ask_acquirer_missing_at_host:
    'Completed here but not in the host file: the money will not arrive as it stands; ask the acquirer, and if it is lost, take the payment again.',
  close_not_charged: 'The host holds nothing for it: nobody was charged; close the payment as not charged.',
  raise_amount_adjustment:
    'The amounts differ: compare the receipt with the acquirer record and raise an adjustment for the difference.',
  raise_reversal_not_applied:
    'Reversed here but still charged at the host: ask the acquirer to reverse it, or refund the customer.',
  charge_again_or_raise:
    'Completed here but reversed at the host: the money will not arrive; ask the acquirer, or take the payment again.',
  raise_status_with_acquirer:
    'The two sides disagree on the status (for example voided here, captured there): raise it with the acquirer with both records.',
  reconcile_with_host_file:
    'The reversal could not be sent before the batch closed: reconcile the batch with the host file; if the host charged it, refund the customer.',
};

const action = (code: string): ReconAction => ({ code, text: ACTIONS[code] ?? code });

/** The columns matching needs; the rest of an operation is read only for the items reported. */
type LeanOp = Pick<
  OpRow,
  | 'id'
  | 'kind'
  | 'state'
  | 'reason'
  | 'terminalId'
  | 'batch'
  | 'stan'
  | 'localDate'
  | 'rrn'
  | 'amount'
  | 'approvedAmount'
  | 'scheme'
  | 'createdAt'
>;

function loadLean(
  store: SettlementStore,
  tid: string,
  batches: string[],
  fromIso: string,
  toIso: string,
): LeanOp[] {
  const rows = store.journal.db
    .prepare(
      `SELECT id, kind, state, reason, batch, stan, local_date, rrn, amount, approved_amount,
         json_extract(card, '$.scheme'), created_at
       FROM operations
       WHERE terminal_id = ? AND kind != 'balance' AND stan IS NOT NULL
         AND (batch IN (SELECT value FROM json_each(?)) OR (created_at >= ? AND created_at < ?))
       ORDER BY rowid`,
    )
    .raw(true)
    .all(tid, JSON.stringify(batches), fromIso, toIso) as unknown[][];
  const out: LeanOp[] = new Array<LeanOp>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out[i] = {
      id: r[0] as string,
      kind: r[1] as OpRow['kind'],
      state: r[2] as OpRow['state'],
      reason: r[3] as string | null,
      terminalId: tid,
      batch: r[4] as string | null,
      stan: r[5] as string | null,
      localDate: r[6] as string | null,
      rrn: r[7] as string | null,
      amount: Number(r[8]),
      approvedAmount: r[9] === null ? null : Number(r[9]),
      scheme: r[10] as string | null,
      createdAt: r[11] as string,
    };
  }
  return out;
}

interface LocalEntry {
  op: LeanOp;
  cls: ReconClass;
  day: number;
  date: string;
  matched: boolean;
  strict: boolean;
}

const EMPTY_COUNTS = (): Record<ReconCategory, number> => ({
  host_only: 0,
  local_only: 0,
  amount_mismatch: 0,
  status_mismatch: 0,
  pending_reversal: 0,
  late_arrival: 0,
});

/** Compares the journal with the host's file (and settlement totals); see the module comment. */
export function reconcile(journal: Journal, input: ReconcileInput): ReconciliationReport {
  const now = input.now ?? (() => new Date());
  const store = new SettlementStore(journal, now);
  const tolerance: MatchTolerance = { ...DEFAULT_TOLERANCE, ...input.tolerance };
  const tid = input.terminalId;
  if (!input.file) return totalsOnly(store, tid, input, tolerance, now);

  const parsed = parseHostFile(input.file.content);
  const records = parsed.records.filter((r) => r.terminalId === tid);
  const otherTerminals = parsed.records.length - records.length;
  const fileBatches = [...new Set(records.map((r) => r.batch).filter((b): b is string => b !== null))].sort();
  const noBatch = records.some((r) => r.batch === null);
  let minDay = Number.POSITIVE_INFINITY;
  let maxDay = Number.NEGATIVE_INFINITY;
  const recDay = new Map<HostRecord, number>();
  for (const r of records) {
    const d = dayNumber(r.date);
    recDay.set(r, d);
    if (d < minDay) minDay = d;
    if (d > maxDay) maxDay = d;
  }

  // ---- the journal's side: operations of the file's batches, and of its dates (± tolerance)
  const tol = tolerance.dateDays;
  const hasDates = records.length > 0;
  const fromIso = hasDates ? `${dateOfDay(minDay - tol - 1)}T00:00:00.000Z` : '9999';
  const toIso = hasDates ? `${dateOfDay(maxDay + tol + 2)}T00:00:00.000Z` : '0000';
  const ops = loadLean(store, tid, fileBatches, fromIso, toIso);
  const voided = new Set(
    (
      journal.db
        .prepare(
          "SELECT original_id FROM operations WHERE kind = 'void' AND state = 'completed' AND terminal_id = ?",
        )
        .raw(true)
        .all(tid) as [string][]
    ).map((r) => r[0]),
  );
  const batchSet = new Set(fileBatches);
  const fullRow: FullRow = (op) =>
    store.op(op.id) ?? {
      ...op,
      authCode: null,
      currency: '',
      responseCode: null,
      maskedPan: null,
      entryMode: null,
      orderId: null,
      originalId: null,
    };
  const locals: LocalEntry[] = [];
  const byBatchStan = new Map<string, LocalEntry>();
  const byRrn = new Map<string, LocalEntry>();
  const byStan = new Map<string, LocalEntry[]>();
  for (const op of ops) {
    const date = localDateOf(op);
    const day = dayNumber(date);
    const inBatch = op.batch !== null && batchSet.has(op.batch);
    const inDates = day >= minDay - tol && day <= maxDay + tol;
    if (!inBatch && !inDates) continue;
    const e: LocalEntry = {
      op,
      cls: localClass(op, voided),
      day,
      date,
      matched: false,
      strict: inBatch || (noBatch && day >= minDay && day <= maxDay),
    };
    locals.push(e);
    if (op.batch) byBatchStan.set(`${op.batch}|${op.stan!}`, e);
    if (op.rrn) byRrn.set(op.rrn, e);
    const list = byStan.get(op.stan!);
    if (list) list.push(e);
    else byStan.set(op.stan!, [e]);
  }

  // ---- pairing
  const items: ReconItem[] = [];
  let matched = 0;
  const matchedBy: Record<MatchRule, number> = { tid_batch_stan: 0, tid_rrn: 0, tid_stan_date: 0 };
  let ignoredHostLines = 0;
  const rrnAgrees = (e: LocalEntry, h: HostRecord): boolean => !e.op.rrn || !h.rrn || e.op.rrn === h.rrn;
  for (const h of records) {
    let e: LocalEntry | undefined;
    let rule: MatchRule | undefined;
    if (h.batch) {
      const c = byBatchStan.get(`${h.batch}|${h.stan}`);
      if (c && !c.matched && rrnAgrees(c, h)) {
        e = c;
        rule = 'tid_batch_stan';
      }
    }
    if (!e && h.rrn) {
      const c = byRrn.get(h.rrn);
      if (c && !c.matched) {
        e = c;
        rule = 'tid_rrn';
      }
    }
    if (!e) {
      const day = recDay.get(h)!;
      let best: LocalEntry | undefined;
      let bestScore = Number.POSITIVE_INFINITY;
      for (const c of byStan.get(h.stan) ?? []) {
        if (c.matched || !rrnAgrees(c, h) || !hostTypes(c.op.kind).includes(h.type)) continue;
        const gap = Math.abs(c.day - day);
        if (gap > tol) continue;
        const score = (hostAmount(c.op) === h.amount || c.op.amount === h.amount ? 0 : 1000) + gap;
        if (score < bestScore) {
          bestScore = score;
          best = c;
        }
      }
      if (best) {
        e = best;
        rule = 'tid_stan_date';
      }
    }
    if (e) {
      e.matched = true;
      matched++;
      matchedBy[rule!]++;
      const item = classifyPair(fullRow, e, h, rule!);
      if (item) items.push(item);
      continue;
    }
    if (HOLDS.has(h.class)) {
      items.push(
        makeItem(
          fullRow,
          'host_only',
          null,
          h,
          undefined,
          'investigate_lost_transaction',
          `host ${h.status} ${h.type}; the journal has no record`,
        ),
      );
    } else {
      ignoredHostLines++;
    }
  }
  for (const e of locals) {
    if (e.matched || !e.strict) continue;
    if (HOLDS.has(e.cls)) {
      items.push(
        makeItem(
          fullRow,
          'local_only',
          e,
          null,
          undefined,
          'ask_acquirer_missing_at_host',
          `journal ${e.op.state} ${e.op.kind}; not in the host file`,
        ),
      );
    } else if (e.cls === 'doubtful') {
      items.push(
        makeItem(
          fullRow,
          'local_only',
          e,
          null,
          undefined,
          'close_not_charged',
          `journal ${e.op.state} ${e.op.kind} (${e.op.reason ?? 'no reason'}); the host has no record`,
          'resolved',
        ),
      );
    }
  }
  items.sort(
    (a, b) =>
      (a.batch ?? '').localeCompare(b.batch ?? '') ||
      (a.stan ?? '').localeCompare(b.stan ?? '') ||
      a.category.localeCompare(b.category),
  );

  // ---- totals per batch (the file has no card scheme: its figures are domestic + foreign)
  const totals: TotalsComparison[] = [];
  const fileTotals = (rs: HostRecord[]): Totals => {
    const t = zeroTotals();
    for (const r of rs) {
      if ((r.type === 'sale' || r.type === 'completion') && r.class === 'captured') {
        t.debitAmount += r.amount;
        t.debitCount += 1;
      } else if (r.type === 'refund' && r.class === 'approved') {
        t.creditAmount += r.amount;
        t.creditCount += 1;
      }
    }
    return t;
  };
  const localByBatch = new Map<string, LeanOp[]>();
  for (const e of locals) {
    if (e.op.batch === null || !batchSet.has(e.op.batch)) continue;
    const list = localByBatch.get(e.op.batch);
    if (list) list.push(e.op);
    else localByBatch.set(e.op.batch, [e.op]);
  }
  const hostByBatch = new Map<string, HostRecord[]>();
  for (const r of records) {
    if (r.batch === null) continue;
    const list = hostByBatch.get(r.batch);
    if (list) list.push(r);
    else hostByBatch.set(r.batch, [r]);
  }
  for (const b of fileBatches) {
    const local = computeTotals(localByBatch.get(b) ?? [], voided);
    const hostFile = fileTotals(hostByBatch.get(b) ?? []);
    const rec = store.getBatch(tid, b);
    totals.push({
      batch: b,
      local,
      settlement: rec
        ? { state: rec.state, sent: rec.totals, hostResult: rec.hostResult, result: rec.result }
        : null,
      hostFile,
      difference: diffTotals(hostFile, sumTotals(local)),
    });
  }
  if (noBatch) {
    const local = computeTotals(
      locals.filter((e) => e.strict && !(e.op.batch && batchSet.has(e.op.batch))).map((e) => e.op),
      voided,
    );
    const hostFile = fileTotals(records.filter((r) => r.batch === null));
    totals.push({
      batch: '*',
      local,
      settlement: null,
      hostFile,
      difference: diffTotals(hostFile, sumTotals(local)),
    });
  }

  const counts = EMPTY_COUNTS();
  for (const i of items) counts[i.category]++;
  const report: ReconciliationReport = {
    generatedAt: now().toISOString(),
    terminalId: tid,
    source: {
      file: input.file.name,
      sha256: createHash('sha256').update(input.file.content).digest('hex'),
      hasBatchNumbers: parsed.hasBatchNumbers,
    },
    scope: {
      batches: fileBatches,
      from: hasDates ? dateOfDay(minDay) : null,
      to: hasDates ? dateOfDay(maxDay) : null,
    },
    tolerance,
    summary: {
      hostLines: records.length,
      otherTerminals,
      ignoredHostLines,
      localOperations: locals.filter((e) => e.strict).length,
      matched,
      matchedBy,
      counts,
      errors: parsed.errors,
    },
    totals,
    items,
  };
  if (input.persist !== false) persistRun(store, report);
  return report;
}

function hostAmount(op: Pick<OpRow, 'amount' | 'approvedAmount'>): number {
  return op.approvedAmount ?? op.amount;
}

/** Reads the full journal row of an operation (for the items reported). */
type FullRow = (op: LeanOp) => OpRow;

function makeItem(
  fullRow: FullRow,
  category: ReconCategory,
  e: LocalEntry | null,
  h: HostRecord | null,
  matchedBy: MatchRule | undefined,
  actionCode: string,
  detail: string,
  status: ReconItem['status'] = 'needs_attention',
): ReconItem {
  // The full row is read for the (few) items only.
  const local: LocalRecord | null = e ? localRecord(fullRow(e.op), e.cls, e.date) : null;
  const item: ReconItem = {
    category,
    terminalId: e?.op.terminalId ?? h!.terminalId,
    batch: e?.op.batch ?? h?.batch ?? null,
    stan: e?.op.stan ?? h?.stan ?? null,
    rrn: e?.op.rrn ?? (h?.rrn || null),
    ...(matchedBy ? { matchedBy } : {}),
    local,
    host: h,
    detail,
    action: action(actionCode),
    status,
  };
  if (e && h) item.amountDelta = h.amount - hostAmount(e.op);
  return item;
}

/** A matched pair: undefined when both sides agree. */
function classifyPair(
  fullRow: FullRow,
  e: LocalEntry,
  h: HostRecord,
  rule: MatchRule,
): ReconItem | undefined {
  const l = e.cls;
  const hostHolds = HOLDS.has(h.class);
  const desc = `journal ${e.op.state} ${e.op.kind} (${l}), host ${h.status} ${h.type} (${h.class})`;
  if (l === 'doubtful') {
    return hostHolds
      ? makeItem(
          fullRow,
          'host_only',
          e,
          h,
          rule,
          'confirm_or_refund',
          `${desc}: charged at the host, not final here`,
        )
      : makeItem(
          fullRow,
          'status_mismatch',
          e,
          h,
          rule,
          'close_not_charged',
          `${desc}: the host holds nothing`,
          'resolved',
        );
  }
  if (l === 'none') {
    return hostHolds
      ? makeItem(
          fullRow,
          'host_only',
          e,
          h,
          rule,
          'refund_or_accept_told_declined',
          `${desc}: charged at the host, ${e.op.state} here`,
        )
      : undefined;
  }
  if (l === 'reversed') {
    return hostHolds
      ? makeItem(
          fullRow,
          'status_mismatch',
          e,
          h,
          rule,
          'raise_reversal_not_applied',
          `${desc}: reversed here, not at the host`,
        )
      : undefined;
  }
  // the journal holds it (captured, voided, authorised, approved)
  if (!hostHolds)
    return makeItem(
      fullRow,
      'status_mismatch',
      e,
      h,
      rule,
      'charge_again_or_raise',
      `${desc}: the host does not hold it`,
    );
  if (l !== h.class)
    return makeItem(fullRow, 'status_mismatch', e, h, rule, 'raise_status_with_acquirer', desc);
  if (h.amount !== hostAmount(e.op))
    return makeItem(
      fullRow,
      'amount_mismatch',
      e,
      h,
      rule,
      'raise_amount_adjustment',
      `${desc}: amounts differ`,
    );
  return undefined;
}

/** Without a file: the journal's totals against what the 0500 carried and what the 0510 answered. */
function totalsOnly(
  store: SettlementStore,
  tid: string,
  input: ReconcileInput,
  tolerance: MatchTolerance,
  now: () => Date,
): ReconciliationReport {
  const batches = input.batches?.length
    ? input.batches.map((b) => b.padStart(6, '0'))
    : [store.lastSettled(tid)?.batch].filter((b): b is string => b !== undefined);
  const totals: TotalsComparison[] = [];
  for (const b of batches) {
    const ops = store.opsOfBatch(tid, b);
    const voided = new Set(
      (
        store.journal.db
          .prepare(
            `SELECT v.original_id AS id FROM operations v JOIN operations o ON o.id = v.original_id
             WHERE v.kind = 'void' AND v.state = 'completed' AND o.terminal_id = ? AND o.batch = ?`,
          )
          .all(tid, b) as { id: string }[]
      ).map((r) => r.id),
    );
    const rec = store.getBatch(tid, b);
    totals.push({
      batch: b,
      local: computeTotals(ops, voided),
      settlement: rec
        ? { state: rec.state, sent: rec.totals, hostResult: rec.hostResult, result: rec.result }
        : null,
      hostFile: null,
      difference: null,
    });
  }
  const items: ReconItem[] = store
    .openBoundaryItems(tid)
    .filter((i) => i.batch !== null && batches.includes(i.batch))
    .map((i) => ({
      category: i.category,
      terminalId: i.terminalId,
      batch: i.batch,
      stan: i.stan,
      rrn: i.local?.rrn ?? null,
      local: i.local,
      host: null,
      detail: i.detail ?? '',
      action: action(i.action),
      itemId: i.id,
      status: i.status,
    }));
  const counts = EMPTY_COUNTS();
  for (const i of items) counts[i.category]++;
  const report: ReconciliationReport = {
    generatedAt: now().toISOString(),
    terminalId: tid,
    source: { file: null, sha256: null, hasBatchNumbers: false },
    scope: { batches, from: null, to: null },
    tolerance,
    summary: {
      hostLines: 0,
      otherTerminals: 0,
      ignoredHostLines: 0,
      localOperations: 0,
      matched: 0,
      matchedBy: { tid_batch_stan: 0, tid_rrn: 0, tid_stan_date: 0 },
      counts,
      errors: [],
    },
    totals,
    items,
  };
  if (input.persist !== false) persistRun(store, report, false);
  return report;
}

/** Journals the run and its items; resolves boundary items the host file settles. One transaction. */
function persistRun(store: SettlementStore, report: ReconciliationReport, withItems = true): void {
  store.journal.transaction(() => {
    const runId = store.insertRun({
      terminalId: report.terminalId,
      source: report.source.file,
      fileSha256: report.source.sha256,
      scope: { ...report.scope, tolerance: report.tolerance, hasBatchNumbers: report.source.hasBatchNumbers },
      summary: report.summary,
      totals: report.totals,
    });
    report.runId = runId;
    if (!withItems) return;
    for (const item of report.items) {
      item.itemId = store.insertItem({
        runId,
        terminalId: item.terminalId,
        batch: item.batch,
        stan: item.stan,
        operationId: item.local?.operationId ?? null,
        category: item.category,
        status: item.status,
        local: item.local,
        host: item.host,
        action: item.action.code,
        detail: item.detail,
      });
      // A reversal that crossed the boundary: the file says whether the host holds it.
      if (item.local && item.action.code === 'close_not_charged') {
        for (const b of store.boundaryItemsOf(item.local.operationId))
          store.resolveItem(b.id, `host holds nothing (reconciliation run ${runId})`);
      }
    }
  });
}
