/**
 * The journal's side of a scan-to-pay reconciliation: QR sales and refunds of one provider (`reader_id`
 * `qr:<method>`, facts in `result.qr`, see engine/qr-flow.ts), their China dates and classes.
 */
import type { Journal } from '../../journal/index.js';
import { cstDate, type QrMethod } from '../../qr/index.js';
import { dateOfDay, dayNumber, localClass } from './classify.js';
import type { LocalQrFacts, ReconClass } from './types.js';

const HOUR = 3_600_000;

/** A QR sale or refund as matching needs it. */
export interface QrLocal {
  id: string;
  kind: 'sale' | 'refund';
  state: string;
  reason: string | null;
  amount: number;
  approvedAmount: number | null;
  createdAt: string;
  facts: LocalQrFacts | undefined;
  /** China date (YYYY-MM-DD) the operation was made on: the day whose bill it belongs to. */
  date: string;
  day: number;
  cls: ReconClass;
  /** Made on the day reconciled (reported when missing), else only a candidate for pairing. */
  strict: boolean;
  matched: boolean;
}

/** 00:00 China time of a YYYY-MM-DD date, as an ISO 8601 UTC string. */
export function cstDayStartIso(date: string): string {
  return new Date(dayNumber(date) * 24 * HOUR - 8 * HOUR).toISOString();
}

/** The next (or previous, with n < 0) calendar date. */
export function addDays(date: string, n: number): string {
  return dateOfDay(dayNumber(date) + n);
}

export function isCalendarDate(date: unknown): date is string {
  return typeof date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(date) && dateOfDay(dayNumber(date)) === date;
}

/** What the bill uses: the amount the provider charged (payments) or gave back (refunds). */
export function qrAmount(l: Pick<QrLocal, 'amount' | 'approvedAmount'>): number {
  return l.approvedAmount ?? l.amount;
}

const COLUMNS = `o.id, o.kind, o.state, o.reason, o.amount, o.approved_amount, o.created_at,
  json_extract(o.result, '$.qr') AS qr, json_extract(orig.result, '$.qr.tradeNo') AS orig_trade_no`;

type Row = {
  id: string;
  kind: string;
  state: string;
  reason: string | null;
  amount: number;
  approved_amount: number | null;
  created_at: string;
  qr: string | null;
  orig_trade_no: string | null;
};

function toLocal(r: Row, strictDay: number): QrLocal {
  const date = cstDate(new Date(r.created_at));
  const day = dayNumber(date);
  let facts: LocalQrFacts | undefined;
  if (r.qr) {
    const q = JSON.parse(r.qr) as Partial<LocalQrFacts>;
    if (q.method && q.outTradeNo) {
      const tradeNo = q.tradeNo ?? r.orig_trade_no ?? undefined;
      facts = {
        method: q.method,
        mode: q.mode ?? 'qr',
        outTradeNo: q.outTradeNo,
        ...(q.outRequestNo ? { outRequestNo: q.outRequestNo } : {}),
        ...(tradeNo ? { tradeNo } : {}),
        ...(q.paidAt ? { paidAt: q.paidAt } : {}),
      };
    }
  }
  const kind = r.kind === 'refund' ? 'refund' : 'sale';
  return {
    id: r.id,
    kind,
    state: r.state,
    reason: r.reason,
    amount: Number(r.amount),
    approvedAmount: r.approved_amount === null ? null : Number(r.approved_amount),
    createdAt: r.created_at,
    facts,
    date,
    day,
    cls: localClass({ id: r.id, kind, state: r.state as never }, new Set()),
    strict: day === strictDay,
    matched: false,
  };
}

/** QR sales and refunds of `method` made from `from` to `to` (China dates, inclusive). */
export function loadQrLocals(
  journal: Journal,
  terminalId: string,
  method: QrMethod,
  from: string,
  to: string,
  strictDate: string,
): QrLocal[] {
  const rows = journal.db
    .prepare(
      `SELECT ${COLUMNS} FROM operations o LEFT JOIN operations orig ON orig.id = o.original_id
       WHERE o.terminal_id = ? AND o.reader_id = ? AND o.kind IN ('sale', 'refund')
         AND o.created_at >= ? AND o.created_at < ?
       ORDER BY o.rowid`,
    )
    .all(terminalId, `qr:${method}`, cstDayStartIso(from), cstDayStartIso(addDays(to, 1))) as Row[];
  const strictDay = dayNumber(strictDate);
  return rows.map((r) => toLocal(r, strictDay));
}

/**
 * QR operations outside the date window whose provider order number or trade number a bill line names
 * (a refund made days after its payment is found by its own date; this catches clocks far apart).
 */
export function loadQrLocalsByKeys(
  journal: Journal,
  terminalId: string,
  method: QrMethod,
  outTradeNos: string[],
  tradeNos: string[],
  exclude: ReadonlySet<string>,
  strictDate: string,
): QrLocal[] {
  if (outTradeNos.length === 0 && tradeNos.length === 0) return [];
  const rows = journal.db
    .prepare(
      `SELECT ${COLUMNS} FROM operations o LEFT JOIN operations orig ON orig.id = o.original_id
       WHERE o.terminal_id = ? AND o.reader_id = ? AND o.kind IN ('sale', 'refund')
         AND (json_extract(o.result, '$.qr.outTradeNo') IN (SELECT value FROM json_each(?))
           OR json_extract(o.result, '$.qr.tradeNo') IN (SELECT value FROM json_each(?))
           OR json_extract(orig.result, '$.qr.tradeNo') IN (SELECT value FROM json_each(?)))
       ORDER BY o.rowid`,
    )
    .all(
      terminalId,
      `qr:${method}`,
      JSON.stringify(outTradeNos),
      JSON.stringify(tradeNos),
      JSON.stringify(tradeNos),
    ) as Row[];
  const strictDay = dayNumber(strictDate);
  return rows.filter((r) => !exclude.has(r.id)).map((r) => ({ ...toLocal(r, strictDay), strict: false }));
}
