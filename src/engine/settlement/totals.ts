/**
 * Batch totals as docs/acquirer-messages.md §3.13 defines them, from the journal: debit = approved sales
 * and pre-auth completions (captures) of the batch that are neither voided nor reversed, by approved
 * amount; credit = approved refunds of the batch that are not reversed. Domestic = UnionPay cards
 * (card facts `scheme`), foreign = the others. Voids, pre-auths, pre-auth voids, balance inquiries,
 * declines and operations whose outcome is not known (`needs_attention`) count nowhere.
 */
import type { OpRow, SettlementStore } from './store.js';
import type { BatchTotals, Totals } from './types.js';

/** The columns the totals read. */
export type TotalsOp = Pick<OpRow, 'id' | 'kind' | 'state' | 'scheme' | 'amount' | 'approvedAmount'>;

export const zeroTotals = (): Totals => ({ debitAmount: 0, debitCount: 0, creditAmount: 0, creditCount: 0 });

/** Which side of field 48 an operation counts on, if any. */
export function totalsSide(op: TotalsOp, voided: ReadonlySet<string>): 'debit' | 'credit' | undefined {
  if (op.state !== 'completed') return undefined;
  if ((op.kind === 'sale' || op.kind === 'capture') && !voided.has(op.id)) return 'debit';
  if (op.kind === 'refund') return 'credit';
  return undefined;
}

export const isDomestic = (op: Pick<OpRow, 'scheme'>): boolean => op.scheme === 'unionpay';

export function addTo(t: BatchTotals, op: TotalsOp, side: 'debit' | 'credit'): void {
  const part = isDomestic(op) ? t.domestic : t.foreign;
  const amount = op.approvedAmount ?? op.amount;
  if (side === 'debit') {
    part.debitAmount += amount;
    part.debitCount += 1;
  } else {
    part.creditAmount += amount;
    part.creditCount += 1;
  }
}

export function computeTotals(ops: readonly TotalsOp[], voided: ReadonlySet<string>): BatchTotals {
  const t: BatchTotals = { domestic: zeroTotals(), foreign: zeroTotals() };
  for (const op of ops) {
    const side = totalsSide(op, voided);
    if (side) addTo(t, op, side);
  }
  return t;
}

/** Ids of operations of a batch cancelled by a completed void. */
export function voidedOfBatch(store: SettlementStore, terminalId: string, batch: string): Set<string> {
  const rows = store.journal.db
    .prepare(
      `SELECT v.original_id AS id FROM operations v JOIN operations o ON o.id = v.original_id
       WHERE v.kind = 'void' AND v.state = 'completed' AND o.terminal_id = ? AND o.batch = ?`,
    )
    .all(terminalId, batch) as { id: string }[];
  return new Set(rows.map((r) => r.id));
}

/** The journal's totals of one batch, and the operations that count in them (the batch upload). */
export function batchTotals(
  store: SettlementStore,
  terminalId: string,
  batch: string,
): { totals: BatchTotals; counted: OpRow[]; ops: OpRow[] } {
  const ops = store.opsOfBatch(terminalId, batch);
  const voided = voidedOfBatch(store, terminalId, batch);
  const counted = ops.filter((o) => totalsSide(o, voided) !== undefined);
  return { totals: computeTotals(ops, voided), counted, ops };
}

export function sumTotals(t: BatchTotals): Totals {
  return {
    debitAmount: t.domestic.debitAmount + t.foreign.debitAmount,
    debitCount: t.domestic.debitCount + t.foreign.debitCount,
    creditAmount: t.domestic.creditAmount + t.foreign.creditAmount,
    creditCount: t.domestic.creditCount + t.foreign.creditCount,
  };
}

export function diffTotals(a: Totals, b: Totals): Totals {
  return {
    debitAmount: a.debitAmount - b.debitAmount,
    debitCount: a.debitCount - b.debitCount,
    creditAmount: a.creditAmount - b.creditAmount,
    creditCount: a.creditCount - b.creditCount,
  };
}

export const totalsEqual = (a: Totals, b: Totals): boolean =>
  a.debitAmount === b.debitAmount &&
  a.debitCount === b.debitCount &&
  a.creditAmount === b.creditAmount &&
  a.creditCount === b.creditCount;

const n = (v: number, width: number): string => String(Math.min(v, 10 ** width - 1)).padStart(width, '0');

/**
 * Field 48 of the 0500 (`n62`): per side debit amount n12, debit count n3, credit amount n12, credit
 * count n3, result n1 (`0` in the request). Counts above 999 cannot be carried: they are sent as 999 (the
 * host will answer unbalanced and the batch upload carries every transaction).
 */
export function field48(t: BatchTotals): string {
  const part = (p: Totals): string =>
    `${n(p.debitAmount, 12)}${n(p.debitCount, 3)}${n(p.creditAmount, 12)}${n(p.creditCount, 3)}0`;
  return part(t.domestic) + part(t.foreign);
}

export function parseField48(f48: string): BatchTotals & { result: { domestic: string; foreign: string } } {
  const part = (s: string): Totals => ({
    debitAmount: Number(s.slice(0, 12)),
    debitCount: Number(s.slice(12, 15)),
    creditAmount: Number(s.slice(15, 27)),
    creditCount: Number(s.slice(27, 30)),
  });
  return {
    domestic: part(f48.slice(0, 31)),
    foreign: part(f48.slice(31, 62)),
    result: { domestic: f48.charAt(30), foreign: f48.charAt(61) },
  };
}
