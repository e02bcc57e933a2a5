/**
 * Public types of settlement (batch close, 0500/0510, batch upload) and reconciliation (journal against
 * the host's totals and settlement file). No type here carries card data beyond the masked PAN.
 */

/** Debit and credit figures of one side (domestic or foreign) of a batch, amounts in fen. */
export interface Totals {
  debitAmount: number;
  debitCount: number;
  creditAmount: number;
  creditCount: number;
}

/** Field 48 of the 0500: domestic (UnionPay) cards, then the others. */
export interface BatchTotals {
  domestic: Totals;
  foreign: Totals;
}

/** Where a batch is: every step is journaled, so a close interrupted by a crash resumes. */
export type BatchState = 'open' | 'closing' | 'uploading' | 'settled';

/** The 0510 result digit of each side: `1` balanced, `2` unbalanced. */
export interface HostResult {
  domestic: '1' | '2' | '0';
  foreign: '1' | '2' | '0';
}

/** A pending reversal that met the batch boundary: it can never be sent now (needs attention). */
export interface BoundaryItem {
  itemId: number;
  operationId: string;
  kind: string;
  amount: number;
  stan: string | null;
  maskedPan: string | null;
  reason: string;
}

/** A batch's settlement record (the journal's `settlement_batches` row). */
export interface BatchRecord {
  terminalId: string;
  batch: string;
  state: BatchState;
  totals: BatchTotals | null;
  /** balanced | unbalanced, once the 0510 came. */
  result: 'balanced' | 'unbalanced' | null;
  hostResult: HostResult | null;
  /** Field 39 of the (first) 0510. */
  responseCode: string | null;
  /** Field 15 of the 0510 (MMDD). */
  hostDate: string | null;
  /** 0320 / 201 messages the host answered (after an unbalanced answer). */
  uploadCount: number | null;
  /** 0320 / 203 TC uploads sent during the upload because they were still missing. */
  tcUploadCount: number | null;
  /** The result digits of the second 0510 (after the upload), when one was sent. */
  resettleResult: HostResult | null;
  pendingReversals: number;
  pansErased: number | null;
  nextBatch: string | null;
  operatorId: string | null;
  startedAt: string;
  closedAt: string | null;
  settledAt: string | null;
}

/** What `closeBatch()` returns. */
export interface SettlementResult extends BatchRecord {
  /**
   * `settled` when the batch is done; otherwise the step it stopped at and why (the host did not
   * answer, declined the 0500, or an upload could not go out): call `closeBatch()` again to resume.
   */
  outcome: 'settled' | 'incomplete';
  /** Why it stopped, when `outcome` is `incomplete` (a stable code). */
  stoppedReason?: string;
  /** Pending reversals of this batch that became `needs_attention` at close. */
  boundary: BoundaryItem[];
  /** Messages of this run, in order (purpose, MTI, STAN, outcome, response code). */
  messages: SettlementMessageView[];
}

export interface SettlementMessageView {
  purpose: 'settlement' | 'resettlement' | 'batch_upload' | 'tc_upload' | 'upload_end';
  mti: string;
  stan: string;
  operationId: string | null;
  outcome: string;
  responseCode: string | null;
}

export interface SettlementConfig {
  /** How long `closeBatch()` waits for operations of the batch still in flight (ms). */
  inFlightWaitMs: number;
  /** Attempts per upload message before the close stops (resumable) with `upload_failed`. */
  uploadAttempts: number;
  /** Send the 0500 again after the upload end (the host answers a settled batch's 0500 again). */
  resettleAfterUpload: boolean;
  /** A pre-auth nobody captured or voided keeps its sealed PAN this many days, then it is erased. */
  preauthExpiryDays: number;
  /** Field 63 of the 0500 (operator number, `ans3`); omitted when empty. */
  operatorField63: string;
}

export const DEFAULT_SETTLEMENT_CONFIG: SettlementConfig = {
  inFlightWaitMs: 10_000,
  uploadAttempts: 3,
  resettleAfterUpload: true,
  preauthExpiryDays: 30,
  operatorField63: '',
};

// ------------------------------------------------------------------ reconciliation

/** What a difference is. See docs/reconciliation.md. */
export type ReconCategory =
  | 'host_only'
  | 'local_only'
  | 'amount_mismatch'
  | 'status_mismatch'
  /** Raised at batch close: a reversal that could not be sent before the batch closed. */
  | 'pending_reversal'
  /**
   * Scan-to-pay bills: a trade recorded here on one China date and booked by the provider on another
   * (completed around midnight); `resolved` when the other day's bill has it, else `needs_attention`.
   */
  | 'late_arrival';

/**
 * How a side sees a transaction, reduced to what can be compared:
 * - `captured`: a sale or completion that moved money and is neither voided nor reversed;
 * - `voided`: a sale or completion cancelled by a void;
 * - `authorised`: a pre-auth (held, completed or released later: all mean the authorisation stands);
 * - `approved`: a void, pre-auth void or refund that took effect;
 * - `reversed`: taken back by a reversal;
 * - `none`: declined, failed, cancelled (nothing moved);
 * - `doubtful`: the journal does not know (not final, or `needs_attention`).
 */
export type ReconClass = 'captured' | 'voided' | 'authorised' | 'approved' | 'reversed' | 'none' | 'doubtful';

/** The journal's side of an item: masked PAN only. */
export interface LocalRecord {
  operationId: string;
  kind: string;
  state: string;
  reason: string | null;
  terminalId: string;
  batch: string | null;
  stan: string | null;
  /** The terminal's local date of the request (YYYY-MM-DD, from field 13 and the journal's clock). */
  date: string | null;
  rrn: string | null;
  authCode: string | null;
  amount: number;
  approvedAmount: number | null;
  currency: string;
  maskedPan: string | null;
  scheme: string | null;
  orderId: string | null;
  class: ReconClass;
  /** Scan-to-pay operations: what the journal keeps of the provider's trade. */
  qr?: LocalQrFacts;
}

/** The journal's scan-to-pay facts of a reconciled operation (`result.qr`, no buyer). */
export interface LocalQrFacts {
  method: 'alipay' | 'wechat';
  mode: 'qr' | 'code';
  /** The provider order number (of the original payment, for a refund). */
  outTradeNo: string;
  /** Refunds: the refund request number. */
  outRequestNo?: string;
  /** The provider's trade number, when the journal learnt it (for a refund: its payment's). */
  tradeNo?: string;
  /** ISO 8601 UTC, the provider's payment time (payments). */
  paidAt?: string;
}

/** A scan-to-pay bill line as the host side of an item. */
export interface HostQrFacts {
  provider: 'alipay' | 'wechat';
  /** The China date of the bill the line is in (YYYY-MM-DD). */
  billDate: string;
  outTradeNo: string;
  outRequestNo?: string;
  tradeNo: string;
  /** ISO 8601 UTC: payment completion or refund time. */
  at: string;
}

/** The host's side: one line of the settlement file. */
export interface HostRecord {
  line: number;
  date: string;
  terminalId: string;
  batch: string | null;
  stan: string;
  rrn: string;
  amount: number;
  type: string;
  status: string;
  class: ReconClass;
  /** Scan-to-pay bills: the provider's line (then `terminalId` and `stan` are empty: bills carry neither). */
  qr?: HostQrFacts;
}

export interface ReconAction {
  /** Stable code (e.g. `refund_or_confirm_with_customer`). */
  code: string;
  /** What an operator should do, in one sentence. */
  text: string;
}

export interface ReconItem {
  category: ReconCategory;
  terminalId: string;
  batch: string | null;
  stan: string | null;
  rrn: string | null;
  /** How the two records were paired (absent for one-sided items). */
  matchedBy?: MatchRule | QrMatchRule;
  local: LocalRecord | null;
  host: HostRecord | null;
  /** host amount minus local amount (fen), when both are known. */
  amountDelta?: number;
  detail: string;
  action: ReconAction;
  /** The journal's item id (persisted runs and boundary items). */
  itemId?: number;
  status: 'needs_attention' | 'resolved';
}

/** Which rule paired a host line with a journal operation (docs/reconciliation.md, matching). */
export type MatchRule = 'tid_batch_stan' | 'tid_rrn' | 'tid_stan_date';

/**
 * How a scan-to-pay bill line was paired (docs/reconciliation.md, "Scan-to-pay bills"): the provider
 * order number (payments), the refund request number (refunds), else the provider's trade number.
 */
export type QrMatchRule = 'out_trade_no' | 'out_request_no' | 'trade_no';

export interface TotalsComparison {
  batch: string;
  /** The journal's totals, as the 0500 would carry them now. */
  local: BatchTotals;
  /** What the 0500 carried and what the 0510 answered (absent when the batch was not settled here). */
  settlement: {
    state: BatchState;
    sent: BatchTotals | null;
    hostResult: HostResult | null;
    result: 'balanced' | 'unbalanced' | null;
  } | null;
  /** Figures computed from the host's file (domestic and foreign together: the file has no scheme). */
  hostFile: Totals | null;
  /** hostFile minus the journal's (domestic + foreign), when the file covers the batch. */
  difference: Totals | null;
}

export interface ReconSummary {
  hostLines: number;
  /** Lines of other terminals in the file (ignored). */
  otherTerminals: number;
  /** Host lines with no journal counterpart that moved nothing (reversed): not differences. */
  ignoredHostLines: number;
  localOperations: number;
  matched: number;
  /** Pairs found by each matching rule (scan-to-pay runs add the `QrMatchRule`s). */
  matchedBy: Record<MatchRule, number> & Partial<Record<QrMatchRule, number>>;
  counts: Record<ReconCategory, number>;
  /** Lines that could not be read (line number and why); never silently dropped. */
  errors: { line: number; error: string }[];
}

export interface ReconciliationReport {
  runId?: number;
  generatedAt: string;
  terminalId: string;
  source: { file: string | null; sha256: string | null; hasBatchNumbers: boolean };
  scope: { batches: string[]; from: string | null; to: string | null };
  tolerance: MatchTolerance;
  summary: ReconSummary;
  totals: TotalsComparison[];
  items: ReconItem[];
  /** Scan-to-pay runs: which provider's bill of which China date, and which later bills were read. */
  qr?: QrRunScope;
}

export interface QrRunScope {
  provider: 'alipay' | 'wechat';
  /** China date (YYYY-MM-DD) of the bill. */
  date: string;
  /** The following days' bills read for late arrivals (a day not listed was not out or not read). */
  laterBills: string[];
}

/** Tolerance rules for pairing lines without batch numbers (docs/reconciliation.md). */
export interface MatchTolerance {
  /** Host date and the terminal's date may differ by this many days (midnight, time zones). */
  dateDays: number;
}

export const DEFAULT_TOLERANCE: MatchTolerance = { dateDays: 1 };
