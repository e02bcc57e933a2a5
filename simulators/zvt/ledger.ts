/**
 * What the simulated terminal booked: every transaction with its receipt number, trace, amount, type
 * and status, pre-authorisation holds and captures. Masked card data only.
 */
export type ZvtTxnType = 'sale' | 'preauth' | 'capture' | 'preauth_void' | 'void' | 'refund' | 'end_of_day';

/**
 * - `approved`: booked (a sale, pre-authorisation, capture, release, void);
 * - `declined`: refused by the simulated host or card (no receipt number);
 * - `reversed`: voided later, or auto-reversed because the ECR never acknowledged its result;
 * - `refunded`: a refund that was booked.
 */
export type ZvtTxnStatus = 'approved' | 'declined' | 'reversed' | 'refunded';

export interface ZvtTxn {
  /** 4 digits; only booked transactions have one. */
  receiptNo: string | null;
  trace: string;
  turnoverNo: string;
  type: ZvtTxnType;
  status: ZvtTxnStatus;
  amount: number;
  currency: string;
  resultCode: string;
  /** Why a booked transaction was reversed: `void` (06 30) or `auto_reversal`. */
  reversal?: 'void' | 'auto_reversal';
  maskedPan: string | null;
  cardId: string | null;
  authCode: string | null;
  /** Pre-authorisations: the amount still held, and what was captured. */
  hold?: number;
  captured?: number;
  /** Captures, releases and voids: the receipt number they name. */
  originalReceiptNo?: string;
  signature?: boolean;
  /** End of day: the batch it closed and how many transactions. */
  batch: number;
  count?: number;
  at: string;
}

export class ZvtLedger {
  private readonly txns: ZvtTxn[] = [];
  private receiptCounter = 0;
  private traceCounter = 0;
  private turnoverCounter = 0;
  private batchNo = 1;

  get batch(): number {
    return this.batchNo;
  }

  nextReceiptNo(): string {
    this.receiptCounter = (this.receiptCounter % 9999) + 1;
    return String(this.receiptCounter).padStart(4, '0');
  }

  nextTrace(): string {
    this.traceCounter = (this.traceCounter % 999_999) + 1;
    return String(this.traceCounter).padStart(6, '0');
  }

  nextTurnover(): string {
    this.turnoverCounter = (this.turnoverCounter % 999_999) + 1;
    return String(this.turnoverCounter).padStart(6, '0');
  }

  add(t: Omit<ZvtTxn, 'batch' | 'at'> & { batch?: number }): ZvtTxn {
    const full: ZvtTxn = { ...t, batch: t.batch ?? this.batchNo, at: new Date().toISOString() };
    this.txns.push(full);
    return full;
  }

  all(): ZvtTxn[] {
    return this.txns.map((t) => ({ ...t }));
  }

  byReceipt(receiptNo: string, types: readonly ZvtTxnType[]): ZvtTxn | undefined {
    return [...this.txns].reverse().find((t) => t.receiptNo === receiptNo && types.includes(t.type));
  }

  /** Totals of the open batch: booked sales and captures minus refunds; closes the batch. */
  closeBatch(): { total: number; count: number; batch: number } {
    let total = 0;
    let count = 0;
    for (const t of this.txns) {
      if (t.batch !== this.batchNo || t.type === 'end_of_day') continue;
      if (t.status === 'approved' && (t.type === 'sale' || t.type === 'capture')) {
        total += t.amount;
        count++;
      } else if (t.status === 'refunded') {
        total -= t.amount;
        count++;
      }
    }
    const batch = this.batchNo++;
    return { total, count, batch };
  }

  reset(): void {
    this.txns.length = 0;
    this.receiptCounter = 0;
    this.traceCounter = 0;
    this.turnoverCounter = 0;
    this.batchNo = 1;
  }
}
