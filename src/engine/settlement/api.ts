/**
 * What the daemon exposes (the lead wires these):
 *
 * | surface                                   | call                                        |
 * | ----------------------------------------- | ------------------------------------------- |
 * | `posbridge settle`                        | `service.settle({ operatorId })`            |
 * | `posbridge reconcile --file <csv>`        | `service.reconcileFile({ file })` (or `reconcileFileOffline()` when no daemon runs) |
 * | `posbridge reconcile --qr <p> --date <d>` | `service.reconcileQr({ provider, date })` (or `reconcileQrOffline()`) |
 * | WebSocket `settlement.run`                | `service.start({ operatorId })`: returns at once; `settlement.state` events follow |
 * | WebSocket `settlement.report`             | `service.report({ batch?, runId?, format? })` |
 *
 * Errors are `SettlementError` with a stable `code` (`batch_busy`,
 * `file_unreadable`, `file_invalid`, `invalid_request`, `not_found`, `bill_unavailable`) and `retryable`.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Journal } from '../../journal/index.js';
import { cstDate, type QrMethod, type QrProvider } from '../../qr/index.js';
import { SettlementError } from './errors.js';
import { actionText } from './qr-actions.js';
import { addDays } from './qr-local.js';
import {
  checkQrParams,
  DEFAULT_QR_TOLERANCE,
  reconcileQr,
  type QrBill,
  type QrTolerance,
} from './qr-reconcile.js';
import { reconcile } from './reconcile.js';
import { reportCsv, reportJson } from './report.js';
import { Settlement, type SettlementDeps } from './settle.js';
import { SettlementStore } from './store.js';
import type {
  BatchRecord,
  BatchState,
  MatchTolerance,
  QrRunScope,
  ReconItem,
  ReconSummary,
  ReconciliationReport,
  SettlementResult,
  TotalsComparison,
} from './types.js';

/** `settlement.run` / `posbridge settle` parameters. */
export interface SettlementRunParams {
  /** Who closes the batch (audit). */
  operatorId: string;
}

/** `settlement.run` answers at once with this; progress follows as durable `settlement.state` events. */
export interface SettlementRunAccepted {
  terminalId: string;
  batch: string;
  /** The batch's state when the run started (`closing` / `uploading`: an interrupted close resumes). */
  state: BatchState;
  resumed: boolean;
}

/** `settlement.report` parameters: a batch's settlement, a reconciliation run, or the latest of both. */
export interface SettlementReportParams {
  batch?: string;
  runId?: number;
  format?: 'json' | 'csv';
}

export interface SettlementReportResult {
  terminalId: string;
  currentBatch: string;
  /** The batch asked for, else the last settled one (null when none). */
  settlement: BatchRecord | null;
  /** The reconciliation run asked for, else the latest (null when none ran). */
  reconciliation: ReconciliationReport | null;
  /** Pending reversals that crossed a batch boundary and are still open. */
  openItems: ReconItem[];
  /** With `format: 'csv'`: the reconciliation items as CSV. */
  csv?: string;
}

/** `posbridge reconcile --file <csv>` parameters. */
export interface ReconcileFileParams {
  /** Path of the host's settlement file. */
  file: string;
  tolerance?: Partial<MatchTolerance>;
  /** Journal the run (default true). */
  persist?: boolean;
}

export interface ReconcileFileResult {
  report: ReconciliationReport;
  json: string;
  csv: string;
}

/** `posbridge reconcile --qr <provider> --date <YYYY-MM-DD>` parameters. */
export interface ReconcileQrParams {
  provider: QrMethod;
  /** The China date whose bill is reconciled; the day must be over in China time. */
  date: string;
  tolerance?: Partial<QrTolerance>;
  /** Journal the run (default true): one run per provider and date, a re-run replaces it. */
  persist?: boolean;
}

/** Largest settlement file read (bytes). */
export const MAX_HOST_FILE_BYTES = 256 * 1024 * 1024;

/** The service's dependencies: settlement's, and the scan-to-pay providers whose bills it reconciles. */
export interface SettlementServiceDeps extends SettlementDeps {
  /** The desk's QR providers (the engine's: `EngineDeps.qr`); `reconcileQr` downloads their bills. */
  qr?: Partial<Record<QrMethod, QrProvider>>;
}

export class SettlementService {
  readonly settlement: Settlement;
  private readonly journal: Journal;
  private readonly terminalId: string;
  private readonly now: () => Date;
  private readonly qr: Partial<Record<QrMethod, QrProvider>>;

  constructor(deps: SettlementServiceDeps) {
    this.settlement = new Settlement(deps);
    this.journal = deps.journal;
    this.terminalId = deps.terminalId;
    this.now = deps.now ?? (() => new Date());
    this.qr = deps.qr ?? {};
  }

  /** `posbridge settle`: closes the current batch (or resumes an interrupted close) and waits for the end. */
  settle(params: SettlementRunParams): Promise<SettlementResult> {
    checkOperator(params);
    return this.settlement.closeBatch({ operatorId: params.operatorId });
  }

  /**
   * `settlement.run`: starts (or joins) the close and returns at once. `done` settles with the result;
   * the WebSocket layer forwards `settlement.state` events (SettlementDeps.onEvent) as notifications.
   */
  start(params: SettlementRunParams): SettlementRunAccepted & { done: Promise<SettlementResult> } {
    checkOperator(params);
    const batch = this.settlement.currentBatch();
    const state = this.settlement.store.getBatch(this.terminalId, batch)?.state ?? 'open';
    const resumed = state !== 'open' || this.settlement.busy;
    const done = this.settlement.closeBatch({ operatorId: params.operatorId });
    done.catch(() => undefined); // the caller may not await it; errors stay on `done`
    return { terminalId: this.terminalId, batch, state, resumed, done };
  }

  /** `settlement.report`. */
  report(params: SettlementReportParams = {}): SettlementReportResult {
    if (params.batch !== undefined && !/^\d{1,6}$/.test(params.batch))
      throw new SettlementError('invalid_request', 'batch must be 1 to 6 digits', { path: 'batch' });
    const store = this.settlement.store;
    const settlement = params.batch
      ? (store.getBatch(this.terminalId, params.batch.padStart(6, '0')) ?? null)
      : (store.lastSettled(this.terminalId) ?? null);
    if (params.batch && !settlement)
      throw new SettlementError('not_found', 'no settlement for this batch', { path: 'batch' });
    const reconciliation = storedReport(store, this.terminalId, params.runId);
    if (params.runId !== undefined && !reconciliation)
      throw new SettlementError('not_found', 'no such reconciliation run', { path: 'runId' });
    const openItems = store.openBoundaryItems(this.terminalId).map(itemOf);
    return {
      terminalId: this.terminalId,
      currentBatch: this.settlement.currentBatch(),
      settlement,
      reconciliation,
      openItems,
      ...(params.format === 'csv' && reconciliation ? { csv: reportCsv(reconciliation) } : {}),
    };
  }

  /** `posbridge reconcile --file <csv>` through the running daemon. */
  reconcileFile(params: ReconcileFileParams): Promise<ReconcileFileResult> {
    return reconcileFileOffline(this.journal, this.terminalId, params, this.now);
  }

  /** `posbridge reconcile --qr <provider> --date <d>`: downloads the provider's bill and reconciles it. */
  reconcileQr(params: ReconcileQrParams): Promise<ReconcileFileResult> {
    return reconcileQrOffline(this.journal, this.terminalId, this.qr, params, this.now);
  }
}

/**
 * A scan-to-pay bill against the journal (the daemon's `reconcileQr`, or the CLI holding the state
 * directory's lock): downloads the bill of `date` and, for late arrivals, the bills of the following
 * days within `tolerance.dateDays` that are already over in China time (one that cannot be had is
 * left out: its trades wait as `late_arrival`).
 */
export async function reconcileQrOffline(
  journal: Journal,
  terminalId: string,
  providers: Partial<Record<QrMethod, QrProvider>>,
  params: ReconcileQrParams,
  now: () => Date = () => new Date(),
): Promise<ReconcileFileResult> {
  checkQrParams(params?.provider, params?.date);
  const p = providers[params.provider];
  if (!p)
    throw new SettlementError('invalid_request', `${params.provider} is not configured on this desk`, {
      path: 'provider',
    });
  const today = cstDate(now());
  if (params.date >= today)
    throw new SettlementError(
      'invalid_request',
      `the bill of ${params.date} is out only after that day ends (China time; today is ${today})`,
      { path: 'date' },
    );
  const r = await p.bill(params.date);
  if (r.status !== 'ok')
    throw new SettlementError(
      'bill_unavailable',
      `the ${params.provider} bill of ${params.date} could not be downloaded (${r.status}: ${r.message})`,
      { path: 'date', retryable: r.status !== 'rejected' || r.retryable },
    );
  const dateDays = params.tolerance?.dateDays ?? DEFAULT_QR_TOLERANCE.dateDays;
  const laterBills: QrBill[] = [];
  for (let k = 1; k <= dateDays; k++) {
    const d = addDays(params.date, k);
    if (d >= today) break;
    const later = await p.bill(d);
    if (later.status === 'ok') laterBills.push({ date: d, lines: later.value });
    else break;
  }
  const report = reconcileQr(journal, {
    terminalId,
    provider: params.provider,
    date: params.date,
    bill: r.value,
    laterBills,
    ...(params.tolerance ? { tolerance: params.tolerance } : {}),
    ...(params.persist !== undefined ? { persist: params.persist } : {}),
    now,
  });
  return { report, json: reportJson(report), csv: reportCsv(report) };
}

/** `posbridge reconcile --file <csv>` without a daemon (the CLI holds the state directory's lock). */
export async function reconcileFileOffline(
  journal: Journal,
  terminalId: string,
  params: ReconcileFileParams,
  now: () => Date = () => new Date(),
): Promise<ReconcileFileResult> {
  let content: string;
  try {
    const s = await stat(params.file);
    if (!s.isFile()) throw new Error('not a file');
    if (s.size > MAX_HOST_FILE_BYTES) throw new Error('too large');
    content = await readFile(params.file, 'utf8');
  } catch (e) {
    throw new SettlementError('file_unreadable', `cannot read the settlement file: ${(e as Error).message}`, {
      path: 'file',
    });
  }
  const report = reconcile(journal, {
    terminalId,
    file: { name: basename(params.file), content },
    ...(params.tolerance ? { tolerance: params.tolerance } : {}),
    ...(params.persist !== undefined ? { persist: params.persist } : {}),
    now,
  });
  if (report.summary.hostLines === 0 && report.summary.errors.length > 0)
    throw new SettlementError('file_invalid', `no line could be read (${report.summary.errors[0]!.error})`, {
      path: 'file',
    });
  return { report, json: reportJson(report), csv: reportCsv(report) };
}

function checkOperator(params: SettlementRunParams): void {
  if (typeof params?.operatorId !== 'string' || params.operatorId.length < 1 || params.operatorId.length > 64)
    throw new SettlementError('invalid_request', 'operatorId must be 1 to 64 characters', {
      path: 'operatorId',
    });
}

function itemOf(i: ReturnType<SettlementStore['openBoundaryItems']>[number]): ReconItem {
  return {
    category: i.category,
    terminalId: i.terminalId,
    batch: i.batch,
    stan: i.stan,
    rrn: i.local?.rrn || i.host?.rrn || null,
    local: i.local,
    host: i.host,
    detail: i.detail ?? '',
    action: { code: i.action, text: actionText(i.action) },
    itemId: i.id,
    status: i.status,
  };
}

/** A journaled reconciliation run as a report (the latest when `runId` is not given). */
export function storedReport(
  store: SettlementStore,
  terminalId: string,
  runId?: number,
): ReconciliationReport | null {
  const run = runId !== undefined ? store.run(runId) : store.lastRun(terminalId);
  if (!run || run.terminalId !== terminalId) return null;
  const scope = run.scope as {
    batches?: string[];
    from?: string | null;
    to?: string | null;
    tolerance?: MatchTolerance;
    hasBatchNumbers?: boolean;
    qr?: QrRunScope;
  };
  return {
    runId: run.id,
    generatedAt: run.at,
    terminalId,
    source: { file: run.source, sha256: run.fileSha256, hasBatchNumbers: scope.hasBatchNumbers ?? false },
    scope: { batches: scope.batches ?? [], from: scope.from ?? null, to: scope.to ?? null },
    tolerance: scope.tolerance ?? { dateDays: 1 },
    summary: run.summary as unknown as ReconSummary,
    totals: run.totals as TotalsComparison[],
    items: store.itemsOfRun(run.id).map((i) => {
      const item = itemOf(i);
      if (item.local && item.host)
        item.amountDelta = item.host.amount - (item.local.approvedAmount ?? item.local.amount);
      return item;
    }),
    ...(scope.qr ? { qr: scope.qr } : {}),
  };
}
