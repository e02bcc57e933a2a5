/**
 * Report outputs: JSON (the report object as is) and CSV (one line per item, then nothing else: the
 * totals are in the JSON). Card data: the masked PAN only, as everywhere outside the sealed store.
 * The last four columns are scan-to-pay's (empty on card items): the provider and its order, refund
 * request and trade numbers.
 */
import type { ReconciliationReport } from './types.js';

export const REPORT_CSV_HEADER = [
  'category',
  'status',
  'terminal_id',
  'batch',
  'stan',
  'rrn',
  'matched_by',
  'operation_id',
  'local_kind',
  'local_state',
  'local_amount',
  'local_date',
  'masked_pan',
  'host_line',
  'host_type',
  'host_status',
  'host_amount',
  'host_date',
  'amount_delta',
  'action',
  'detail',
  'method',
  'out_trade_no',
  'out_request_no',
  'trade_no',
] as const;

/** One CSV field: quoted when needed; text that a spreadsheet would run as a formula is defused. */
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function reportCsv(report: ReconciliationReport): string {
  const lines: string[] = [REPORT_CSV_HEADER.join(',')];
  for (const i of report.items) {
    const l = i.local;
    const h = i.host;
    lines.push(
      [
        i.category,
        i.status,
        i.terminalId,
        i.batch,
        i.stan,
        i.rrn,
        i.matchedBy ?? '',
        l?.operationId,
        l?.kind,
        l?.state,
        l ? (l.approvedAmount ?? l.amount) : null,
        l?.date,
        l?.maskedPan,
        h?.line ?? null,
        h?.type,
        h?.status,
        h?.amount ?? null,
        h?.date,
        i.amountDelta ?? null,
        i.action.code,
        i.detail,
        l?.qr?.method ?? h?.qr?.provider,
        l?.qr?.outTradeNo ?? h?.qr?.outTradeNo,
        l?.qr?.outRequestNo ?? h?.qr?.outRequestNo,
        h?.qr?.tradeNo || l?.qr?.tradeNo,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function reportJson(report: ReconciliationReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
