/**
 * What each side says happened to a transaction, reduced to a class both sides share (see
 * `ReconClass`), and the dates the matching rules compare.
 */
import type { OpRow } from './store.js';
import type { HostRecord, LocalRecord, ReconClass } from './types.js';

/** The journal's class of an operation; `voided` holds the ids cancelled by a completed void. */
export function localClass(
  op: Pick<OpRow, 'id' | 'kind' | 'state'>,
  voided: ReadonlySet<string>,
): ReconClass {
  switch (op.state) {
    case 'completed':
      if (op.kind === 'sale' || op.kind === 'capture') return voided.has(op.id) ? 'voided' : 'captured';
      if (op.kind === 'preauth') return 'authorised';
      return 'approved';
    case 'reversed':
      return 'reversed';
    case 'declined':
    case 'failed':
    case 'cancelled':
      return 'none';
    default:
      // not final (authorizing, approved, completing, partially_approved, unknown, reversing) or needs_attention
      return 'doubtful';
  }
}

/**
 * The host file's class of a line. Refund states of a sale (`refunded`, `partially_refunded`) are still
 * `captured`: the refunds are lines of their own. A pre-auth `held`, `completed` or `released` is
 * `authorised`: captures and releases are lines of their own, possibly in a later batch.
 */
export function hostClass(type: string, status: string): ReconClass {
  if (status === 'reversed') return 'reversed';
  if (status === 'declined') return 'none';
  switch (type) {
    case 'sale':
    case 'completion':
      return status === 'voided' ? 'voided' : 'captured';
    case 'preauth':
      return 'authorised';
    default:
      return 'approved';
  }
}

/** The host file's `type` values an operation kind can appear as. */
export function hostTypes(kind: string): readonly string[] {
  switch (kind) {
    case 'sale':
      return ['sale'];
    case 'capture':
      return ['completion'];
    case 'preauth':
      return ['preauth'];
    case 'preauth_void':
      return ['preauth_void'];
    case 'refund':
      return ['refund'];
    case 'void':
      return ['void', 'completion_void'];
    default:
      return [];
  }
}

/** Classes under which the host holds money or an authorisation. */
export const HOLDS: ReadonlySet<ReconClass> = new Set(['captured', 'voided', 'authorised', 'approved']);

const DAY = 86_400_000;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date (NaN when it is not one). */
export function dayNumber(date: string): number {
  const y = Number(date.slice(0, 4));
  const m = Number(date.slice(5, 7));
  const d = Number(date.slice(8, 10));
  if (date.length !== 10 || !y || !m || !d) return Number.NaN;
  return Date.UTC(y, m - 1, d) / DAY;
}

export function dateOfDay(day: number): string {
  return new Date(day * DAY).toISOString().slice(0, 10);
}

/**
 * The terminal's local date of an operation as YYYY-MM-DD: field 13 (MMDD) of its request, with the year
 * that puts it nearest to when the journal wrote the row (so a 1231 written on 1 January is last year);
 * the journal's UTC date when field 13 is not known.
 */
export function localDateOf(op: Pick<OpRow, 'localDate' | 'createdAt'>): string {
  const created = op.createdAt.slice(0, 10);
  const md = op.localDate;
  if (!md || !/^\d{4}$/.test(md)) return created;
  const createdDay = dayNumber(created);
  const y = Number(created.slice(0, 4));
  let best = created;
  let bestGap = Number.POSITIVE_INFINITY;
  for (const year of [y - 1, y, y + 1]) {
    const cand = `${year}-${md.slice(0, 2)}-${md.slice(2, 4)}`;
    const gap = Math.abs(dayNumber(cand) - createdDay);
    if (gap < bestGap) {
      bestGap = gap;
      best = cand;
    }
  }
  return best;
}

export function localRecord(op: OpRow, cls: ReconClass, date?: string): LocalRecord {
  return {
    operationId: op.id,
    kind: op.kind,
    state: op.state,
    reason: op.reason,
    terminalId: op.terminalId,
    batch: op.batch,
    stan: op.stan,
    date: date ?? localDateOf(op),
    rrn: op.rrn,
    authCode: op.authCode,
    amount: op.amount,
    approvedAmount: op.approvedAmount,
    currency: op.currency,
    maskedPan: op.maskedPan,
    scheme: op.scheme,
    orderId: op.orderId,
    class: cls,
  };
}

export type { HostRecord };
