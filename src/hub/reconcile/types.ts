/** Central reconciliation's public shapes (docs/fleet.md, Central reconciliation). Money is integer fen. */
import type { MatchTolerance } from '../../engine/settlement/types.js';

export interface ImportResult {
  /** False when a file with the same content was imported before: nothing changed. */
  imported: boolean;
  fileId: number;
  sha256: string;
  /** The name given now (the first import's name is kept when this is a re-import). */
  name: string;
  /** Transaction lines stored (balance inquiries are not transactions). */
  lines: number;
  /** Lines of earlier files this file replaced (same terminal, date, STAN, RRN and type). */
  superseded: number;
  terminals: number;
  firstDate: string | null;
  lastDate: string | null;
  importedAt: string;
  message: string;
}

export interface ReconcileFleetOptions {
  /** First and last day (YYYY-MM-DD, inclusive). Default: every day the imported files cover. */
  from?: string;
  to?: string;
  tolerance?: Partial<MatchTolerance>;
  /** Who asked (dashboard user or `admin-token`), kept with the run. */
  by?: string;
}

/** Counts and fen of one store/terminal/day, or of a whole report. */
export interface ReconFigures {
  /** Acquirer lines and local payments that fell in this row. */
  acquirerLines: number;
  localPayments: number;
  /** Pairs on which both sides agree (late arrivals included). */
  matched: number;
  matchedAmount: number;
  /** Of the matched: booked by the acquirer on a later day than the terminal's, within the tolerance. */
  late: number;
  lateAmount: number;
  /** Completed here, in no acquirer file. Amount: ours. */
  missingAtAcquirer: number;
  missingAtAcquirerAmount: number;
  /** In an acquirer file, holding money, and unknown here or not completed here. Amount: the acquirer's. */
  missingAtUs: number;
  missingAtUsAmount: number;
  /** Paired, both hold it, amounts differ. */
  amountDifferences: number;
  amountDifferenceLocal: number;
  amountDifferenceHost: number;
  /** host − local over the amount differences. */
  amountDelta: number;
  /** Paired, the statuses disagree (reversed on one side, voided on one side, …). */
  statusDifferences: number;
  /** Not final here and nothing at the acquirer: nobody was charged (resolved). */
  notCharged: number;
  /** Acquirer lines that moved nothing (reversed, declined) with no payment here. */
  ignoredLines: number;
}

export interface ReconDayRow extends ReconFigures {
  day: string;
  /** null: a terminal the hub does not know (a line of a terminal no daemon reported). */
  store: string | null;
  terminalId: string;
  /** `balanced` when nothing needs a person, else `differences`. */
  status: 'balanced' | 'differences';
  runId: number;
}

export type ReconItemCategory =
  'host_only' | 'local_only' | 'amount_mismatch' | 'status_mismatch' | 'late_arrival';

export interface FleetReconItem {
  day: string;
  store: string | null;
  terminalId: string;
  category: ReconItemCategory;
  status: 'needs_attention' | 'resolved';
  action: { code: string; text: string };
  matchedBy: 'tid_rrn' | 'tid_stan_date' | null;
  stan: string | null;
  rrn: string | null;
  local: {
    daemonId: string;
    paymentId: string;
    kind: string;
    state: string;
    amount: number;
    date: string;
  } | null;
  host: {
    fileId: number;
    line: number;
    date: string;
    type: string;
    status: string;
    amount: number;
  } | null;
  /** host − local (fen), when both sides are there. */
  amountDelta: number | null;
}

export interface ReconRunSummary extends ReconFigures {
  runId: number;
  from: string;
  to: string;
  tolerance: MatchTolerance;
  matchedBy: { tid_rrn: number; tid_stan_date: number };
  /** Rows of hub_recon_days and hub_recon_items written. */
  days: number;
  items: number;
  startedAt: string;
  durationMs: number;
}

export interface FleetReportOptions {
  from?: string;
  to?: string;
  store?: string;
  /** Items returned at most (default 1000; 0 for none). */
  itemLimit?: number;
  /** Store/terminal/day rows returned at most (default 1000; 0 for none; the totals cover all). */
  dayLimit?: number;
}

export interface ReconStoreRow extends ReconFigures {
  day: string;
  store: string | null;
  /** Terminals with a row that day. */
  terminals: number;
  status: 'balanced' | 'differences';
}

export interface FleetReport {
  from: string | null;
  to: string | null;
  store: string | null;
  generatedAt: string;
  /** The latest run that wrote any of these days. */
  run: { id: number; from: string; to: string; finishedAt: string } | null;
  totals: ReconFigures;
  /** Per store and day (every terminal summed). */
  stores: ReconStoreRow[];
  /** Per store, terminal and day (the first `dayLimit`, by day, store, terminal). */
  days: ReconDayRow[];
  daysTotal: number;
  items: FleetReconItem[];
  /** Items in the range (the list above may be cut at `itemLimit`). */
  itemsTotal: number;
}
