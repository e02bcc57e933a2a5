/**
 * The central reconciliation report: the persisted results (hub_recon_days, hub_recon_items) of a range
 * of days, optionally one store, as JSON (the dashboard shows it) or CSV (one line per store, terminal
 * and day, or per item; every field through the per-daemon report's `csvField`, so a spreadsheet never
 * runs a store name as a formula).
 */
import { ACTIONS } from '../../engine/settlement/reconcile.js';
import { csvField } from '../../engine/settlement/report.js';
import { int, type HubSql } from '../db.js';
import { HubError } from '../errors.js';
import { checkDate, figures, FIGURES_SQL } from './match.js';
import type { FleetReconItem, FleetReport, FleetReportOptions, ReconDayRow, ReconFigures } from './types.js';

/** Action texts: the per-daemon reconciliation's, and the one central reconciliation adds. */
const ACTION_TEXT: Record<string, string> = {
  ...ACTIONS,
  late_arrival_booked_later:
    "The acquirer booked it on a later day than the terminal's (around midnight, or a late batch): nothing to do, the money comes with that day's settlement.",
};

const EMPTY: ReconFigures = figures({});

/** The figures a narrow table shows first (the dashboard shows 14 columns), the rest follow. */
function leading(f: ReconFigures) {
  return {
    matched: f.matched,
    matchedAmount: f.matchedAmount,
    missingAtAcquirer: f.missingAtAcquirer,
    missingAtAcquirerAmount: f.missingAtAcquirerAmount,
    missingAtUs: f.missingAtUs,
    missingAtUsAmount: f.missingAtUsAmount,
    amountDifferences: f.amountDifferences,
    amountDelta: f.amountDelta,
    statusDifferences: f.statusDifferences,
    late: f.late,
  };
}

const DAY_COLUMNS = `day::text AS day, store, terminal_id, run_id, acquirer_lines, local_payments, matched, matched_amount,
  late, late_amount, missing_acquirer, missing_acquirer_amount, missing_us, missing_us_amount, amount_diff,
  amount_diff_local, amount_diff_host, status_diff, not_charged, ignored_lines, needs_attention`;

export async function fleetReport(db: HubSql, opts: FleetReportOptions = {}): Promise<FleetReport> {
  let from = opts.from === undefined ? undefined : checkDate(opts.from, 'from');
  let to = opts.to === undefined ? undefined : checkDate(opts.to, 'to');
  const store = opts.store ?? null;
  if (store !== null && (store.length === 0 || store.length > 100))
    throw new HubError('bad_request', 'store: 1 to 100 characters', 'store');
  const limit = opts.itemLimit ?? 1000;
  if (!Number.isInteger(limit) || limit < 0 || limit > 100_000)
    throw new HubError('bad_request', 'limit: 0 to 100000', 'limit');
  const dayLimit = opts.dayLimit ?? 1000;
  if (!Number.isInteger(dayLimit) || dayLimit < 0)
    throw new HubError('bad_request', 'dayLimit: a whole number', 'dayLimit');
  if (from === undefined || to === undefined) {
    // Without a range: the latest run's, narrowed by whichever end was given.
    const [last] = await db.query<{ from_date: string; to_date: string }>(
      'SELECT from_date::text AS from_date, to_date::text AS to_date FROM hub_recon_runs ORDER BY id DESC LIMIT 1',
    );
    from ??= last?.from_date ?? to;
    to ??= last?.to_date ?? from;
  }
  const report: FleetReport = {
    from: from ?? null,
    to: to ?? null,
    store,
    generatedAt: new Date().toISOString(),
    run: null,
    totals: { ...EMPTY },
    stores: [],
    days: [],
    daysTotal: 0,
    items: [],
    itemsTotal: 0,
  };
  if (from === undefined || to === undefined) return report;
  if (to < from) throw new HubError('bad_request', 'to: on or after from', 'to');

  const where = 'day BETWEEN $1::date AND $2::date AND ($3::text IS NULL OR store = $3::text)';
  const params = [from, to, store];
  const [tot] = await db.query<Record<string, unknown>>(
    `SELECT ${FIGURES_SQL}, count(*) AS n, max(run_id) AS run_id FROM hub_recon_days WHERE ${where}`,
    params,
  );
  report.totals = figures(tot!);
  report.daysTotal = int(tot!['n']);
  const perStore = await db.query<Record<string, unknown>>(
    `SELECT day::text AS day, store, count(*) AS terminals, sum(needs_attention) AS needs_attention, ${FIGURES_SQL}
     FROM hub_recon_days WHERE ${where} GROUP BY day, store ORDER BY day, store`,
    params,
  );
  report.stores = perStore.map((r) => {
    const f = figures(r);
    return {
      day: r['day'] as string,
      store: (r['store'] as string) || null,
      terminals: int(r['terminals']),
      status: int(r['needs_attention']) > 0 ? 'differences' : 'balanced',
      ...leading(f),
      ...f,
    };
  });
  const rows =
    dayLimit > 0
      ? await db.query<Record<string, unknown>>(
          `SELECT ${DAY_COLUMNS} FROM hub_recon_days WHERE ${where} ORDER BY day, store, terminal_id LIMIT $4`,
          [...params, dayLimit],
        )
      : [];
  report.days = rows.map((r): ReconDayRow => {
    const f = figures(r);
    return {
      day: r['day'] as string,
      store: (r['store'] as string) || null,
      terminalId: r['terminal_id'] as string,
      status: int(r['needs_attention']) > 0 ? 'differences' : 'balanced',
      ...leading(f),
      ...f,
      runId: int(r['run_id']),
    };
  });
  const runId = int(tot!['run_id']);
  if (runId > 0) {
    const [run] = await db.query<{
      id: unknown;
      from_date: string;
      to_date: string;
      finished_at: Date | string;
    }>(
      'SELECT id, from_date::text AS from_date, to_date::text AS to_date, finished_at FROM hub_recon_runs WHERE id = $1',
      [runId],
    );
    if (run)
      report.run = {
        id: int(run.id),
        from: run.from_date,
        to: run.to_date,
        finishedAt: new Date(run.finished_at).toISOString(),
      };
  }
  const [count] = await db.query<{ n: unknown }>(
    `SELECT count(*) AS n FROM hub_recon_items WHERE ${where}`,
    params,
  );
  report.itemsTotal = int(count!.n);
  if (limit > 0 && report.itemsTotal > 0) {
    const items = await db.query<Record<string, unknown>>(
      `SELECT day::text AS day, store, terminal_id, category, status, action, matched_by, daemon_id, payment_id,
         local_kind, local_state, local_amount, local_date::text AS local_date, file_id, line,
         host_date::text AS host_date, host_type, host_status, host_amount, stan, rrn
       FROM hub_recon_items WHERE ${where}
       ORDER BY day, store, terminal_id, category, stan, payment_id, file_id, line LIMIT $4`,
      [...params, limit],
    );
    report.items = items.map(toItem);
  }
  return report;
}

function toItem(r: Record<string, unknown>): FleetReconItem {
  const code = r['action'] as string;
  const hasLocal = r['payment_id'] !== null;
  const hasHost = r['file_id'] !== null;
  return {
    day: r['day'] as string,
    store: (r['store'] as string) || null,
    terminalId: r['terminal_id'] as string,
    category: r['category'] as FleetReconItem['category'],
    status: r['status'] as FleetReconItem['status'],
    action: { code, text: ACTION_TEXT[code] ?? code },
    matchedBy: (r['matched_by'] as FleetReconItem['matchedBy']) ?? null,
    stan: (r['stan'] as string | null) ?? null,
    rrn: (r['rrn'] as string | null) ?? null,
    local: hasLocal
      ? {
          daemonId: r['daemon_id'] as string,
          paymentId: r['payment_id'] as string,
          kind: r['local_kind'] as string,
          state: r['local_state'] as string,
          amount: int(r['local_amount']),
          date: r['local_date'] as string,
        }
      : null,
    host: hasHost
      ? {
          fileId: int(r['file_id']),
          line: int(r['line']),
          date: r['host_date'] as string,
          type: r['host_type'] as string,
          status: r['host_status'] as string,
          amount: int(r['host_amount']),
        }
      : null,
    amountDelta: hasLocal && hasHost ? int(r['host_amount']) - int(r['local_amount']) : null,
  };
}

export const DAYS_CSV_HEADER = [
  'day',
  'store',
  'terminal_id',
  'status',
  'acquirer_lines',
  'local_payments',
  'matched',
  'matched_amount',
  'late',
  'late_amount',
  'missing_at_acquirer',
  'missing_at_acquirer_amount',
  'missing_at_us',
  'missing_at_us_amount',
  'amount_differences',
  'amount_difference_local',
  'amount_difference_host',
  'amount_delta',
  'status_differences',
  'not_charged',
  'ignored_lines',
] as const;

const figureCells = (f: ReconFigures): number[] => [
  f.acquirerLines,
  f.localPayments,
  f.matched,
  f.matchedAmount,
  f.late,
  f.lateAmount,
  f.missingAtAcquirer,
  f.missingAtAcquirerAmount,
  f.missingAtUs,
  f.missingAtUsAmount,
  f.amountDifferences,
  f.amountDifferenceLocal,
  f.amountDifferenceHost,
  f.amountDelta,
  f.statusDifferences,
  f.notCharged,
  f.ignoredLines,
];

/** One line per store, terminal and day, then a `total` line; amounts in fen. */
export function daysCsv(report: FleetReport): string {
  const lines = [DAYS_CSV_HEADER.join(',')];
  for (const d of report.days)
    lines.push([d.day, d.store, d.terminalId, d.status, ...figureCells(d)].map(csvField).join(','));
  lines.push(['total', report.store, null, null, ...figureCells(report.totals)].map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}

/** One line per store and day (terminals summed), then a `total` line; amounts in fen. */
export function storesCsv(report: FleetReport): string {
  const lines = [['day', 'store', 'terminals', ...DAYS_CSV_HEADER.slice(3)].join(',')];
  for (const d of report.stores)
    lines.push([d.day, d.store, d.terminals, d.status, ...figureCells(d)].map(csvField).join(','));
  lines.push(
    ['total', report.store, report.daysTotal, null, ...figureCells(report.totals)].map(csvField).join(','),
  );
  return `${lines.join('\n')}\n`;
}

export const ITEMS_CSV_HEADER = [
  'day',
  'store',
  'terminal_id',
  'category',
  'status',
  'matched_by',
  'stan',
  'rrn',
  'daemon_id',
  'payment_id',
  'local_kind',
  'local_state',
  'local_amount',
  'local_date',
  'file_id',
  'host_line',
  'host_date',
  'host_type',
  'host_status',
  'host_amount',
  'amount_delta',
  'action',
] as const;

/** One line per item (differences and late arrivals). */
export function itemsCsv(report: FleetReport): string {
  const lines = [ITEMS_CSV_HEADER.join(',')];
  for (const i of report.items)
    lines.push(
      [
        i.day,
        i.store,
        i.terminalId,
        i.category,
        i.status,
        i.matchedBy,
        i.stan,
        i.rrn,
        i.local?.daemonId,
        i.local?.paymentId,
        i.local?.kind,
        i.local?.state,
        i.local?.amount,
        i.local?.date,
        i.host?.fileId,
        i.host?.line,
        i.host?.date,
        i.host?.type,
        i.host?.status,
        i.host?.amount,
        i.amountDelta,
        i.action.code,
      ]
        .map(csvField)
        .join(','),
    );
  return `${lines.join('\n')}\n`;
}
