/**
 * The CRM protocol's TypeScript types: what every method takes and returns, and the notifications.
 * They mirror the JSON Schemas in `src/api/schemas.ts` (the schemas are the truth; the API tests
 * validate every result the server sends against them). This file imports nothing, so the client
 * stays usable in browsers.
 */

export const PROTOCOL_VERSION = 1;

/** Engine operation kinds. `payment.void` of a pre-auth creates a `preauth_void`. */
export type PaymentKind = 'sale' | 'balance' | 'preauth' | 'preauth_void' | 'capture' | 'void' | 'refund';

export type PaymentState =
  | 'created'
  | 'awaiting_card'
  | 'card_read'
  | 'authorizing'
  | 'approved'
  | 'partially_approved'
  | 'completing'
  | 'completed'
  | 'declined'
  | 'unknown'
  | 'reversing'
  | 'reversed'
  | 'cancelled'
  | 'failed'
  | 'needs_attention';

export const PAYMENT_STATES: readonly PaymentState[] = [
  'created',
  'awaiting_card',
  'card_read',
  'authorizing',
  'approved',
  'partially_approved',
  'completing',
  'completed',
  'declined',
  'unknown',
  'reversing',
  'reversed',
  'cancelled',
  'failed',
  'needs_attention',
];

/** Final states never change. */
export const FINAL_PAYMENT_STATES: readonly PaymentState[] = [
  'completed',
  'declined',
  'reversed',
  'cancelled',
  'failed',
  'needs_attention',
];

export const PAYMENT_KINDS: readonly PaymentKind[] = [
  'sale',
  'balance',
  'preauth',
  'preauth_void',
  'capture',
  'void',
  'refund',
];

/** Transient reader prompts (pushed live, never journaled, never replayed). */
export type ReaderProgress =
  'present_card' | 'card_detected' | 'pin_entry_started' | 'pin_digit_entered' | 'processing' | 'remove_card';

export const READER_PROGRESS: readonly ReaderProgress[] = [
  'present_card',
  'card_detected',
  'pin_entry_started',
  'pin_digit_entered',
  'processing',
  'remove_card',
];

/** What the CRM sees of a card: the masked PAN and token facts, never more. */
export interface CardView {
  /** Masked PAN (first 6 / last 4 at most), or the device account for a device token. */
  panDisplay: string;
  scheme: string;
  /** `chip`, `contactless`, `magstripe`, `fallback`, `keyed` or `device_token`. */
  kind: string;
  /** ISO 8583 field 22, e.g. "051" chip with PIN. */
  entryMode: string;
  deviceAccountLast4?: string;
  fundingLast4?: string;
}

export interface HostFacts {
  batch: string | null;
  stan: string | null;
  rrn: string | null;
  authCode: string | null;
  responseCode: string | null;
}

/** A payment (one engine operation) as the CRM sees it. Amounts are integers in minor units (fen). */
export interface Payment {
  paymentId: string;
  kind: PaymentKind;
  state: PaymentState;
  /** True when `state` is final (it never changes again). */
  final: boolean;
  reason: string | null;
  orderId: string | null;
  /** The payment a void, refund or capture refers to. */
  originalId: string | null;
  amount: number;
  approvedAmount: number | null;
  /** ISO 4217 alphabetic code (e.g. "CNY"), numeric when the code is not known to the daemon. */
  currency: string;
  operatorId: string;
  card: CardView | null;
  host: HostFacts;
  /** Derived from the operations that reference this one. */
  voided: boolean;
  refundedAmount: number;
  capturedAmount: number;
  /**
   * The operator cancelled while the payment was in flight: it will end cancelled, declined, failed or
   * reversed, never completed (docs/protocol.md, "Cancelling a payment").
   */
  cancelRequested: boolean;
  /** The customer's signature is on file (payment.signature): the merchant receipt shows it. */
  signed: boolean;
  /** How it was paid: a card (reader or integrated terminal) or scan-to-pay. */
  method?: 'card' | 'alipay' | 'wechat';
  /** Scan-to-pay only: the QR to render while open, the provider's trade, the masked buyer. */
  qr?: {
    method: 'alipay' | 'wechat';
    mode: 'qr' | 'code';
    qrContent: string | null;
    expiresAt: string | null;
    tradeNo: string | null;
    buyer: string | null;
  } | null;
  /** Balance inquiries only: the balance the host reported (null when it sent none). */
  balance?: { amount: number; currency: string } | null;
  createdAt: string;
  updatedAt: string;
}

/** What a long operation returns at once; progress follows as `payment.event` notifications. */
export interface Submitted {
  paymentId: string;
  state: PaymentState;
  /** True when this idempotency key already had a payment: nothing new was started. */
  existing: boolean;
}

export interface OrderSummary {
  orderId: string;
  currency: string;
  /** Money taken: completed sales and captures, not voided. */
  captured: number;
  /** Money given back: completed refunds. */
  refunded: number;
  net: number;
  /** Pre-auth holds still open. */
  held: number;
  /** Operations that are not final yet. */
  pending: number;
  operations: Payment[];
}

export type TerminalState = 'disconnected' | 'connecting' | 'idle' | 'busy';

/** A card reader as the daemon knows it. */
export interface TerminalInfo {
  terminalId: string;
  state: TerminalState;
  /** `ble`, `serial`, `tcp`, `simulator`, ... */
  transport?: string;
  name?: string;
  model?: string;
  serialNumber?: string;
  firmware?: string;
  batteryPercent?: number;
  /** Why the last connection attempt failed, if it did (no card data). */
  lastError?: string | null;
  /**
   * `reader` (posbridge builds the acquirer messages) or `zvt` (an integrated terminal that authorises
   * itself). Payments work the same on both; this is the only place a page sees which kind it is.
   */
  kind?: 'reader' | 'zvt';
  /** The payment operations this terminal offers; others answer `not_supported_by_terminal`. */
  capabilities?: string[];
}

/**
 * `payment.event`: durable events (`durable: true`) carry their journal `seq`, are replayed by
 * `events.replay` and arrive identical live and replayed; transient prompts (`type: "progress"`,
 * `durable: false`) carry the last durable seq and are never replayed.
 */
export interface PaymentEvent {
  /** null only for daemon-level events that belong to no payment. */
  paymentId: string | null;
  seq: number;
  durable: boolean;
  /**
   * `state` (a state transition), `progress` (reader prompt), `cancel_requested` (the operator cancelled an
   * in-flight payment; a state event follows), `late_response`, or another journal event type.
   */
  type: string;
  state?: PaymentState;
  final?: boolean;
  reason?: string | null;
  kind?: PaymentKind;
  amount?: number;
  orderId?: string | null;
  responseCode?: string | null;
  progress?: ReaderProgress;
  /** PIN digits entered so far (a count, never digits). */
  digits?: number;
  rrn?: string | null;
  authCode?: string | null;
  receivedAt?: string;
  /** `qr` events: the QR content to render and when it expires. */
  qrContent?: string;
  expiresAt?: string;
  /** `settlement.state` events: the batch and where its close stands. */
  batch?: string;
  batchState?: BatchState;
  /** `settlement.state`: balanced or unbalanced, once the host answered the 0500. */
  result?: 'balanced' | 'unbalanced';
}

// ------------------------------------------------------------------ method params and results

export interface HelloParams {
  token: string;
  /** The session's default operator id for money-moving calls that give none. */
  operatorId?: string;
  /** Free text for logs, e.g. "crm-web 3.2". */
  client?: string;
}
export interface HelloResult {
  sessionId: string;
  protocolVersion: number;
  serverVersion: string;
  /** The last durable event seq at the moment the session was authorised. */
  lastSeq: number;
  operatorId: string;
  /** The terminal's currency, ISO 4217 alphabetic. */
  currency: string;
}

export interface PairParams {
  code: string;
}
export interface PairResult {
  /** A token bound to the page's Origin: keep it and use it in `session.hello`. */
  token: string;
}

export interface TerminalSelector {
  terminalId?: string;
}
/** A scan-to-pay provider the daemon is configured for (payment.qr with this method works). */
export interface QrProviderInfo {
  method: 'alipay' | 'wechat';
  /** As a cashier knows it: "Alipay", "WeChat Pay". */
  name: string;
  /** `qr`: the customer scans the page's QR; `code`: the cashier scans the customer's payment code. */
  modes: ('qr' | 'code')[];
}

export interface TerminalListResult {
  terminals: TerminalInfo[];
  /** Configured scan-to-pay providers (absent from daemons older than 0.1). They need no connect. */
  qrProviders?: QrProviderInfo[];
}

interface MoneyCommon {
  idempotencyKey: string;
  operatorId?: string;
}

export interface SaleParams extends MoneyCommon {
  orderId: string;
  /** Minor units (fen): a positive JSON integer of at most 12 digits. */
  amount: number;
  /** ISO 4217, alphabetic ("CNY") or numeric ("156"); must be the terminal's currency. */
  currency: string;
  terminalId?: string;
  /** Free text; accepted, not sent to the acquirer and not stored (yet). */
  description?: string;
}
export type PreauthParams = SaleParams;

/** `payment.qr`: scan-to-pay on an order (docs/qr.md). */
export interface QrParams extends MoneyCommon {
  orderId: string;
  amount: number;
  currency: string;
  method: 'alipay' | 'wechat';
  /** The customer's payment code; omit it to show a QR (the `qr` event and payment.get carry it). */
  authCode?: string;
}

export interface BalanceParams extends MoneyCommon {
  orderId?: string;
  terminalId?: string;
}

export interface CaptureParams extends MoneyCommon {
  /** The pre-auth to capture. */
  paymentId: string;
  amount: number;
}

export interface VoidParams extends MoneyCommon {
  paymentId: string;
  approvalCode?: string;
  /** Read the card and check it is the original card. */
  cardPresent?: boolean;
  terminalId?: string;
}

export interface RefundParams extends MoneyCommon {
  paymentId: string;
  amount: number;
  approvalCode?: string;
  /** Read the card (needed once the original's card number is no longer kept). */
  cardPresent?: boolean;
  terminalId?: string;
}

export type GetPaymentParams = { paymentId: string } | { idempotencyKey: string };

export interface PaymentRef {
  paymentId: string;
  operatorId?: string;
}

export interface ListPaymentsParams {
  limit?: number;
}
export interface ListPaymentsResult {
  payments: Payment[];
}

export interface OrderGetParams {
  orderId: string;
}

export interface ReplayParams {
  sinceSeq: number;
  /** At most this many events (1..1000, default 1000); `more` tells whether to ask again. */
  limit?: number;
}
export interface ReplayResult {
  events: PaymentEvent[];
  /** The journal's last durable seq when the replay was read. */
  lastSeq: number;
  more: boolean;
}

// ------------------------------------------------------------------ receipts and signatures

export type ReceiptCopy = 'merchant' | 'customer';
export type ReceiptFormat = 'text' | 'html' | 'json';

/** What a receipt says (`receipt.get` with `format: "json"`). Card data: masked PAN or last fours only. */
export interface Receipt {
  copy: ReceiptCopy;
  /** This copy has been printed before. */
  reprint: boolean;
  merchant: { name: string | null; id: string };
  terminalId: string;
  operatorId: string;
  transaction: { kind: PaymentKind; name: string };
  card: {
    scheme: string;
    /** Masked PAN of a physical card; null for a device token. */
    panDisplay: string | null;
    /** chip, contactless, magstripe, fallback, keyed. */
    entry: string;
    entryMode: string;
    deviceToken: boolean;
    deviceAccountLast4: string | null;
    fundingLast4: string | null;
  } | null;
  batch: string | null;
  stan: string | null;
  rrn: string | null;
  authCode: string | null;
  /** Local date (YYYY-MM-DD) and time (HH:mm:ss) of the transaction in `timeZone`. */
  date: string;
  time: string;
  timeZone: string;
  amount: { minor: number; currency: string; text: string };
  original: { batch: string | null; stan: string | null; rrn: string | null; date: string | null } | null;
  chip: { aid: string | null; tc: string | null } | null;
  /** Merchant copy only (null on the customer copy). */
  signature: { onFile: boolean; format: 'svg' | 'png' | null; sha256: string | null } | null;
  /** An integrated terminal (ZVT) printed its own slip for this copy: its lines (masked by the terminal). */
  terminalLines?: string[] | null;
}

export interface ReceiptGetParams {
  paymentId: string;
  copy: ReceiptCopy;
  format: ReceiptFormat;
  /** Text only: 32 or 48 columns (default the printer's). */
  width?: 32 | 48;
}
export interface ReceiptGetResult {
  paymentId: string;
  copy: ReceiptCopy;
  format: ReceiptFormat;
  reprint: boolean;
  printCount: number;
  text?: string;
  html?: string;
  receipt?: Receipt;
}

export interface ReceiptPrintParams {
  /** Omitted: reprint the last receipt printed. */
  paymentId?: string;
  copy?: ReceiptCopy;
  operatorId?: string;
}
export interface ReceiptPrintResult {
  paymentId: string;
  copy: ReceiptCopy;
  reprint: boolean;
  printCount: number;
  lines: number;
}

export interface SignatureParams {
  paymentId: string;
  /** Exactly one of svg (the document as text) and png (base64, or a data: URI). */
  svg?: string;
  png?: string;
  operatorId?: string;
}
export interface SignatureResult {
  paymentId: string;
  format: 'svg' | 'png';
  bytes: number;
  sha256: string;
  existing: boolean;
  /** The upload to the acquirer: queued, sent, failed, or none (the acquirer takes no e-signatures). */
  upload: 'queued' | 'sent' | 'failed' | 'none';
}

// ------------------------------------------------------------------ settlement

export type BatchState = 'open' | 'closing' | 'uploading' | 'settled';

export interface SettlementTotals {
  debitAmount: number;
  debitCount: number;
  creditAmount: number;
  creditCount: number;
}

/** A batch's settlement record. */
export interface BatchRecord {
  terminalId: string;
  batch: string;
  state: BatchState;
  totals: { domestic: SettlementTotals; foreign: SettlementTotals } | null;
  result: 'balanced' | 'unbalanced' | null;
  hostResult: { domestic: string; foreign: string } | null;
  responseCode: string | null;
  hostDate: string | null;
  uploadCount: number | null;
  tcUploadCount: number | null;
  resettleResult: { domestic: string; foreign: string } | null;
  pendingReversals: number;
  pansErased: number | null;
  nextBatch: string | null;
  operatorId: string | null;
  startedAt: string;
  closedAt: string | null;
  settledAt: string | null;
}

export interface SettlementRunParams {
  operatorId?: string;
  /** Wait for the close to end (default false: answer at once, progress as settlement.state events). */
  wait?: boolean;
}
export interface SettlementRunResult {
  terminalId: string;
  batch: string;
  /** The batch's state when the run started (closing / uploading: an interrupted close resumes). */
  state: BatchState;
  resumed: boolean;
  /** With wait: settled, or incomplete (call again to resume) with the reason. */
  outcome?: 'settled' | 'incomplete';
  stoppedReason?: string;
  settlement?: BatchRecord;
}

export interface SettlementReportParams {
  batch?: string;
  runId?: number;
  format?: 'json' | 'csv';
}
export interface SettlementReportResult {
  terminalId: string;
  currentBatch: string;
  settlement: BatchRecord | null;
  /** The reconciliation report (docs/reconciliation.md), or null when none ran. */
  reconciliation: Record<string, unknown> | null;
  openItems: Record<string, unknown>[];
  csv?: string;
}

/** Every method: params and result types. The names are a contract. */
export interface Methods {
  'session.hello': { params: HelloParams; result: HelloResult };
  'session.pair': { params: PairParams; result: PairResult };
  'terminal.list': { params: Record<string, never>; result: TerminalListResult };
  'terminal.connect': { params: TerminalSelector; result: TerminalInfo };
  'terminal.disconnect': { params: TerminalSelector; result: TerminalInfo };
  'terminal.status': { params: TerminalSelector; result: TerminalInfo };
  'payment.sale': { params: SaleParams; result: Submitted };
  'payment.qr': { params: QrParams; result: Submitted };
  'payment.preauth': { params: PreauthParams; result: Submitted };
  'payment.balance': { params: BalanceParams; result: Submitted };
  'payment.capture': { params: CaptureParams; result: Submitted };
  'payment.void': { params: VoidParams; result: Submitted };
  'payment.refund': { params: RefundParams; result: Submitted };
  'payment.get': { params: GetPaymentParams; result: Payment };
  'payment.list': { params: ListPaymentsParams; result: ListPaymentsResult };
  'payment.cancel': { params: PaymentRef; result: Payment };
  'payment.acceptPartial': { params: PaymentRef; result: Payment };
  'payment.declinePartial': { params: PaymentRef; result: Payment };
  'order.get': { params: OrderGetParams; result: OrderSummary };
  'events.replay': { params: ReplayParams; result: ReplayResult };
  'receipt.get': { params: ReceiptGetParams; result: ReceiptGetResult };
  'receipt.print': { params: ReceiptPrintParams; result: ReceiptPrintResult };
  'payment.signature': { params: SignatureParams; result: SignatureResult };
  'settlement.run': { params: SettlementRunParams; result: SettlementRunResult };
  'settlement.report': { params: SettlementReportParams; result: SettlementReportResult };
}

export type MethodName = keyof Methods;
export type ParamsOf<M extends MethodName> = Methods[M]['params'];
export type ResultOf<M extends MethodName> = Methods[M]['result'];

export interface Notifications {
  'payment.event': PaymentEvent;
  'terminal.event': TerminalInfo;
}

// ------------------------------------------------------------------ errors

/** JSON-RPC integer error codes. */
export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;
export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_INVALID_PARAMS = -32602;
export const RPC_APPLICATION_ERROR = -32000;

/** Stable `error.data.code` strings. */
export type ApiErrorCode =
  | 'parse_error'
  | 'invalid_request'
  | 'method_not_found'
  | 'invalid_params'
  | 'unauthorized'
  | 'pairing_unavailable'
  | 'pairing_code_invalid'
  | 'pairing_rate_limited'
  | 'too_many_requests'
  | 'internal_error'
  | 'unknown_payment'
  | 'unknown_terminal'
  | 'reader_not_connected'
  | 'reader_busy'
  | 'terminal_error'
  | 'idempotency_conflict'
  | 'wrong_state'
  | 'already_completed'
  | 'not_supported_by_terminal'
  | 'amount_exceeds_refundable'
  | 'amount_exceeds_original'
  | 'void_not_same_batch'
  | 'card_mismatch'
  | 'card_required'
  | 'supervisor_approval_required'
  | 'supervisor_approval_invalid'
  | 'reversal_pending'
  | 'print_failed'
  | 'signature_too_large'
  | 'signature_invalid'
  | 'signature_exists'
  | 'batch_busy'
  | 'unknown_batch'
  | 'settlement_unavailable';

export interface ErrorData {
  code: ApiErrorCode | (string & {});
  retryable: boolean;
  /** Where the problem is, as a JSON path into the request: `params.amount`, `params`, `method`. */
  path?: string;
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: ErrorData;
}

/** Application close codes the server uses (besides 1001 going away, 1009 too big, 1013 try later). */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_HELLO_TIMEOUT = 4408;
export const CLOSE_TOO_MANY_ATTEMPTS = 4429;
