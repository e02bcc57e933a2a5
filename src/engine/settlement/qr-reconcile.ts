/**
 * Scan-to-pay reconciliation: the journal's QR sales and refunds of one provider against that
 * provider's trade bill of one China date (`QrProvider.bill(date)`). Bills have no terminal, batch or
 * STAN; lines pair with journal operations by key (docs/reconciliation.md, "Scan-to-pay bills"):
 *
 * 1. `out_trade_no`: a payment line and the QR sale with that provider order number;
 * 2. `out_request_no`: a refund line and the QR refund with that refund request number;
 * 3. `trade_no`: the provider's trade number (a sale's, or the payment a refund belongs to; several
 *    refund candidates: the same amount first, then the nearest date).
 *
 * Dates: an operation belongs to the China date it was made on. A trade made before midnight and
 * completed after lands in the next day's bill: a **late arrival** (`late_arrival`), within
 * `tolerance.dateDays` (default 1) and resolved when the other day's bill has it. Amounts are integer
 * fen on both sides.
 */
import { createHash } from 'node:crypto';
import type { Journal } from '../../journal/index.js';
import { cstDate, cstDateTime, type BillLine, type QrMethod } from '../../qr/index.js';
import { dayNumber, localRecord } from './classify.js';
import { SettlementError } from './errors.js';
import { qrAction } from './qr-actions.js';
import {
  addDays,
  cstDayStartIso,
  isCalendarDate,
  loadQrLocals,
  loadQrLocalsByKeys,
  qrAmount,
  type QrLocal,
} from './qr-local.js';
import { persistQrRun } from './qr-persist.js';
import { SettlementStore } from './store.js';
import { diffTotals, zeroTotals } from './totals.js';
import {
  DEFAULT_TOLERANCE,
  type HostRecord,
  type LocalRecord,
  type MatchTolerance,
  type QrMatchRule,
  type ReconCategory,
  type ReconItem,
  type ReconciliationReport,
  type Totals,
} from './types.js';

export interface QrTolerance extends MatchTolerance {
  /**
   * When the next day's bill was not read: a payment or refund made this many minutes (or fewer) before
   * midnight, China time, and missing from the bill is a late arrival awaiting that bill, not `local_only`.
   */
  lateMinutes: number;
}

export const DEFAULT_QR_TOLERANCE: QrTolerance = { ...DEFAULT_TOLERANCE, lateMinutes: 15 };

/** One provider bill: its China date and its lines. */
export interface QrBill {
  date: string;
  lines: readonly BillLine[];
}

export interface QrReconcileInput {
  terminalId: string;
  provider: QrMethod;
  /** China date (YYYY-MM-DD) of `bill`. */
  date: string;
  bill: readonly BillLine[];
  /** The bills of the following days (up to `tolerance.dateDays`) the caller could read: late arrivals are looked up there. */
  laterBills?: QrBill[];
  tolerance?: Partial<QrTolerance>;
  /** Journal the run: one run per terminal, provider and date, replaced by a re-run (default true). */
  persist?: boolean;
  now?: () => Date;
}

const QR_PROVIDERS: readonly QrMethod[] = ['alipay', 'wechat'];

const EMPTY_COUNTS = (): Record<ReconCategory, number> => ({
  host_only: 0,
  local_only: 0,
  amount_mismatch: 0,
  status_mismatch: 0,
  pending_reversal: 0,
  late_arrival: 0,
});

/** The journal's source name of a scan-to-pay run (`recon_runs.source`): one run per provider and date. */
export const qrRunSource = (provider: QrMethod, date: string): string => `qr:${provider}:${date}`;

export function checkQrParams(provider: unknown, date: unknown): asserts provider is QrMethod {
  if (!QR_PROVIDERS.includes(provider as QrMethod))
    throw new SettlementError('invalid_request', 'provider must be alipay or wechat', { path: 'provider' });
  if (!isCalendarDate(date))
    throw new SettlementError('invalid_request', 'date must be a YYYY-MM-DD date (China time)', {
      path: 'date',
    });
}

interface Found {
  l: QrLocal;
  rule: QrMatchRule;
}

/** The journal's QR operations, indexed by the keys bill lines carry. */
class QrIndex {
  private readonly salesByOut = new Map<string, QrLocal>();
  private readonly salesByTrade = new Map<string, QrLocal>();
  private readonly refundsByReq = new Map<string, QrLocal>();
  private readonly refundsByTrade = new Map<string, QrLocal[]>();
  readonly all: QrLocal[] = [];

  add(l: QrLocal): void {
    this.all.push(l);
    const f = l.facts;
    if (!f) return;
    if (l.kind === 'sale') {
      this.salesByOut.set(f.outTradeNo, l);
      if (f.tradeNo) this.salesByTrade.set(f.tradeNo, l);
    } else {
      if (f.outRequestNo) this.refundsByReq.set(f.outRequestNo, l);
      if (f.tradeNo) {
        const list = this.refundsByTrade.get(f.tradeNo);
        if (list) list.push(l);
        else this.refundsByTrade.set(f.tradeNo, [l]);
      }
    }
  }

  find(line: BillLine, billDay: number): Found | undefined {
    if (line.kind === 'payment') {
      const a = this.salesByOut.get(line.outTradeNo);
      if (a && !a.matched) return { l: a, rule: 'out_trade_no' };
      const b = line.tradeNo ? this.salesByTrade.get(line.tradeNo) : undefined;
      if (b && !b.matched) return { l: b, rule: 'trade_no' };
      return undefined;
    }
    const a = line.outRequestNo ? this.refundsByReq.get(line.outRequestNo) : undefined;
    if (a && !a.matched) return { l: a, rule: 'out_request_no' };
    let best: QrLocal | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const c of this.refundsByTrade.get(line.tradeNo) ?? []) {
      // A refund with another request number is another refund.
      if (
        c.matched ||
        (line.outRequestNo && c.facts?.outRequestNo && c.facts.outRequestNo !== line.outRequestNo)
      )
        continue;
      const score = (qrAmount(c) === line.amount ? 0 : 1000) + Math.abs(c.day - billDay);
      if (score < bestScore) {
        bestScore = score;
        best = c;
      }
    }
    return best ? { l: best, rule: 'trade_no' } : undefined;
  }
}

/** Looks a journal operation up in a bill (late arrivals in the following days' bills). */
function findLine(
  bill: QrBill,
  l: QrLocal,
  used: Set<BillLine>,
): { line: BillLine; index: number } | undefined {
  const f = l.facts;
  if (!f) return undefined;
  for (let i = 0; i < bill.lines.length; i++) {
    const line = bill.lines[i]!;
    if (used.has(line)) continue;
    const hit =
      l.kind === 'sale'
        ? line.kind === 'payment' &&
          (line.outTradeNo === f.outTradeNo || (!!f.tradeNo && line.tradeNo === f.tradeNo))
        : line.kind === 'refund' &&
          (f.outRequestNo ? line.outRequestNo === f.outRequestNo : line.tradeNo === f.tradeNo);
    if (hit) return { line, index: i };
  }
  return undefined;
}

function hostRecord(provider: QrMethod, billDate: string, line: BillLine, index: number): HostRecord {
  const payment = line.kind === 'payment';
  return {
    line: index + 1,
    date: billDate,
    terminalId: '',
    batch: null,
    stan: '',
    rrn: '',
    amount: line.amount,
    type: payment ? 'sale' : 'refund',
    status: payment ? 'paid' : 'refunded',
    class: payment ? 'captured' : 'approved',
    qr: {
      provider,
      billDate,
      outTradeNo: line.outTradeNo,
      ...(line.outRequestNo ? { outRequestNo: line.outRequestNo } : {}),
      tradeNo: line.tradeNo,
      at: line.at,
    },
  };
}

const cstTime = (iso: string | undefined): string => (iso ? `${cstDateTime(new Date(iso))} China time` : '?');

/** Compares the journal's QR operations of one provider with its bill of one day; see the module comment. */
export function reconcileQr(journal: Journal, input: QrReconcileInput): ReconciliationReport {
  checkQrParams(input.provider, input.date);
  const now = input.now ?? (() => new Date());
  const store = new SettlementStore(journal, now);
  const tolerance: QrTolerance = { ...DEFAULT_QR_TOLERANCE, ...input.tolerance };
  const { terminalId: tid, provider, date } = input;
  const tol = tolerance.dateDays;
  const billDay = dayNumber(date);
  const laterBills = (input.laterBills ?? []).filter((b) => b.date > date);

  // ---- the journal's side: the day, and the days around it within the tolerance
  const index = new QrIndex();
  for (const l of loadQrLocals(journal, tid, provider, addDays(date, -tol), addDays(date, tol), date))
    index.add(l);
  const missingKeys = input.bill.filter((line) => !index.find(line, billDay));
  const loaded = new Set(index.all.map((l) => l.id));
  for (const l of loadQrLocalsByKeys(
    journal,
    tid,
    provider,
    [...new Set(missingKeys.map((l) => l.outTradeNo).filter(Boolean))],
    [...new Set(missingKeys.map((l) => l.tradeNo).filter(Boolean))],
    loaded,
    date,
  ))
    index.add(l);

  const localOf = (l: QrLocal): LocalRecord => {
    const row = store.op(l.id)!;
    return { ...localRecord(row, l.cls, l.date), ...(l.facts ? { qr: l.facts } : {}) };
  };
  const item = (
    category: ReconCategory,
    l: QrLocal | null,
    h: HostRecord | null,
    actionCode: string,
    detail: string,
    status: ReconItem['status'] = 'needs_attention',
    matchedBy?: QrMatchRule,
  ): ReconItem => {
    const it: ReconItem = {
      category,
      terminalId: tid,
      batch: null,
      stan: null,
      rrn: null,
      ...(matchedBy ? { matchedBy } : {}),
      local: l ? localOf(l) : null,
      host: h,
      detail,
      action: qrAction(actionCode),
      status,
    };
    if (l && h) it.amountDelta = h.amount - qrAmount(l);
    return it;
  };

  /** A pair: undefined when both sides agree. */
  const classifyPair = (l: QrLocal, h: HostRecord, rule: QrMatchRule): ReconItem | undefined => {
    const sale = l.kind === 'sale';
    const desc =
      `journal ${l.state} ${provider} ${sale ? 'payment' : 'refund'} of ${l.date} (${l.cls}); ` +
      `bill of ${h.date}: ${h.status} ${h.amount} fen at ${cstTime(h.qr?.at)}`;
    const pair = (
      c: ReconCategory,
      code: string,
      detail: string,
      status: ReconItem['status'] = 'needs_attention',
    ): ReconItem => item(c, l, h, code, detail, status, rule);
    switch (l.cls) {
      case 'doubtful':
        return pair(
          'host_only',
          sale ? 'qr_confirm_or_recover' : 'qr_recover_refund',
          `${desc}: not final here`,
        );
      case 'none':
        return pair(
          'status_mismatch',
          sale ? 'qr_refund_or_accept_told_failed' : 'qr_record_refund_made',
          `${desc}: ${l.state} here (${l.reason ?? 'no reason'})`,
        );
      case 'reversed':
        return pair('status_mismatch', 'qr_reversal_not_applied', `${desc}: reversed here`);
      default: {
        if (h.amount !== qrAmount(l))
          return pair('amount_mismatch', 'qr_raise_amount_difference', `${desc}: amounts differ`);
        const gap = dayNumber(h.date) - l.day;
        if (gap === 0) return undefined;
        return Math.abs(gap) <= tol
          ? pair('late_arrival', 'qr_late_arrival', `${desc}: booked on the bill of ${h.date}`, 'resolved')
          : pair('late_arrival', 'qr_check_dates', `${desc}: ${Math.abs(gap)} days apart`);
      }
    }
  };

  // ---- pairing the day's bill
  const items: ReconItem[] = [];
  let matched = 0;
  const matchedBy: Record<QrMatchRule, number> = { out_trade_no: 0, out_request_no: 0, trade_no: 0 };
  input.bill.forEach((line, i) => {
    const h = hostRecord(provider, date, line, i);
    const found = index.find(line, billDay);
    if (!found) {
      items.push(
        item(
          'host_only',
          null,
          h,
          line.kind === 'payment' ? 'qr_investigate_unknown_trade' : 'qr_investigate_unknown_refund',
          `${provider} bill of ${date}: ${h.status} ${line.amount} fen at ${cstTime(line.at)}; the journal has no record`,
        ),
      );
      return;
    }
    found.l.matched = true;
    matched++;
    matchedBy[found.rule]++;
    const it = classifyPair(found.l, h, found.rule);
    if (it) items.push(it);
  });

  // ---- the day's operations the bill does not have: later bills (late arrivals), else missing
  const usedLater = new Set<BillLine>();
  const checked = new Set(laterBills.map((b) => b.date));
  const midnight = Date.parse(cstDayStartIso(addDays(date, 1)));
  for (const l of index.all) {
    if (l.matched || !l.strict) continue;
    let later: { h: HostRecord; rule: QrMatchRule } | undefined;
    for (const b of laterBills) {
      const hit = findLine(b, l, usedLater);
      if (hit) {
        usedLater.add(hit.line);
        const rule: QrMatchRule =
          l.kind === 'refund' && l.facts?.outRequestNo
            ? 'out_request_no'
            : l.kind === 'sale' && hit.line.outTradeNo === l.facts?.outTradeNo
              ? 'out_trade_no'
              : 'trade_no';
        later = { h: hostRecord(provider, b.date, hit.line, hit.index), rule };
        break;
      }
    }
    if (later) {
      l.matched = true;
      const it = classifyPair(l, later.h, later.rule);
      if (it) items.push(it);
      continue;
    }
    if (l.cls === 'none' || l.cls === 'reversed') continue;
    const what = `journal ${l.state} ${provider} ${l.kind === 'sale' ? 'payment' : 'refund'} made ${cstTime(l.createdAt)}`;
    if (l.cls === 'doubtful') {
      items.push(
        item(
          'local_only',
          l,
          null,
          'qr_query_not_charged',
          `${what} (${l.reason ?? 'not final'}); not in the bill of ${date}`,
        ),
      );
      continue;
    }
    const paidDay = l.kind === 'sale' && l.facts?.paidAt ? cstDate(new Date(l.facts.paidAt)) : undefined;
    const nextDay = addDays(date, 1);
    const nearMidnight = midnight - Date.parse(l.createdAt) <= tolerance.lateMinutes * 60_000;
    const awaited =
      tol > 0 &&
      (paidDay !== undefined
        ? paidDay > date && !checked.has(paidDay)
        : nearMidnight && !checked.has(nextDay));
    if (awaited) {
      const expected = paidDay ?? nextDay;
      items.push(
        item(
          'late_arrival',
          l,
          null,
          'qr_await_next_bill',
          `${what}${l.facts?.paidAt ? `, paid ${cstTime(l.facts.paidAt)}` : ''}; not in the bill of ${date}: expected in the bill of ${expected}, not read yet`,
        ),
      );
    } else {
      items.push(
        item(
          'local_only',
          l,
          null,
          l.kind === 'sale' ? 'qr_missing_at_provider' : 'qr_refund_missing_at_provider',
          `${what}; not in the bill of ${date}${checked.size ? ` nor of ${[...checked].join(', ')}` : ''}`,
        ),
      );
    }
  }
  const key = (i: ReconItem): string =>
    `${i.local?.qr?.outTradeNo ?? i.host?.qr?.outTradeNo ?? ''}|${i.local?.qr?.outRequestNo ?? i.host?.qr?.outRequestNo ?? ''}`;
  items.sort((a, b) => a.category.localeCompare(b.category) || key(a).localeCompare(key(b)));

  // ---- the day's totals: payments are debits, refunds credits (fen)
  const local = zeroTotals();
  for (const l of index.all) {
    if (!l.strict) continue;
    if (l.kind === 'sale' && l.cls === 'captured') {
      local.debitAmount += qrAmount(l);
      local.debitCount++;
    } else if (l.kind === 'refund' && l.cls === 'approved') {
      local.creditAmount += qrAmount(l);
      local.creditCount++;
    }
  }
  const billTotals: Totals = zeroTotals();
  for (const line of input.bill) {
    if (line.kind === 'payment') {
      billTotals.debitAmount += line.amount;
      billTotals.debitCount++;
    } else {
      billTotals.creditAmount += line.amount;
      billTotals.creditCount++;
    }
  }

  const counts = EMPTY_COUNTS();
  for (const i of items) counts[i.category]++;
  const sha256 = createHash('sha256')
    .update(JSON.stringify({ provider, date, bill: input.bill, laterBills }))
    .digest('hex');
  const report: ReconciliationReport = {
    generatedAt: now().toISOString(),
    terminalId: tid,
    source: { file: qrRunSource(provider, date), sha256, hasBatchNumbers: false },
    scope: { batches: [], from: date, to: date },
    tolerance,
    summary: {
      hostLines: input.bill.length,
      otherTerminals: 0,
      ignoredHostLines: 0,
      localOperations: index.all.filter((l) => l.strict).length,
      matched,
      matchedBy: { tid_batch_stan: 0, tid_rrn: 0, tid_stan_date: 0, ...matchedBy },
      counts,
      errors: [],
    },
    totals: [
      {
        batch: qrRunSource(provider, date),
        local: { domestic: local, foreign: zeroTotals() },
        settlement: null,
        hostFile: billTotals,
        difference: diffTotals(billTotals, local),
      },
    ],
    items,
    qr: { provider, date, laterBills: laterBills.map((b) => b.date) },
  };
  if (input.persist !== false) persistQrRun(store, report, now);
  return report;
}
