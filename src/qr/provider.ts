/**
 * The provider-neutral scan-to-pay interface the engine uses (Alipay OpenAPI, WeChat Pay). Keep it stable:
 * the engine, its journal and its recovery depend on these shapes.
 *
 * Amounts are integers in fen (CNY minor units) everywhere here; times are ISO 8601 UTC strings.
 *
 * Outcomes (`QrResult`):
 * - `ok`: the provider answered, the answer's signature verified, and the operation did what was asked.
 * - `rejected`: the provider answered (signature verified) that it did not do it; `code` is a stable
 *   provider-neutral string (see `QR_REJECT_CODES`), `message` carries the provider's own code and text.
 * - `unknown`: the request may have taken effect (timeout, connection lost after the bytes left, a
 *   provider system error, or an answer whose signature did not verify and so is not trusted). Never
 *   treat it as "failed": query (payments) or repeat the same idempotent request (close, cancel, refund).
 * - `not_sent`: the bytes never left (bad input, connection refused, DNS, TLS handshake): safe to retry
 *   or to fail the operation.
 */

export type QrMethod = 'alipay' | 'wechat';

export type QrResult<T> =
  | { status: 'ok'; value: T }
  | { status: 'rejected'; code: string; message: string; retryable: boolean }
  | {
      status: 'unknown';
      reason: 'timeout' | 'connection_lost' | 'bad_signature' | 'system_error';
      message: string;
    }
  | { status: 'not_sent'; reason: string; message: string };

export type TradeState =
  | 'waiting' // created (QR shown or code submitted), not paid yet
  | 'paying' // the customer is confirming on the phone (USERPAYING); poll `query`
  | 'paid'
  | 'closed' // closed, expired, reversed or payment failed: nothing charged (or everything given back)
  | 'refunded' // paid, then refunded in full or in part (see `refundedAmount` where the provider says)
  | 'not_found';

export interface TradeStatus {
  state: TradeState;
  /** The provider's trade number (Alipay trade_no, WeChat transaction_id). */
  tradeNo?: string;
  /** fen */
  paidAmount?: number;
  /** ISO 8601 UTC */
  paidAt?: string;
  /** Masked buyer: Alipay's masked logon id, or the first characters of the WeChat openid. Never a full id. */
  buyer?: string;
}

export type RefundState =
  | 'success'
  | 'processing' // accepted, not final: ask `refundQuery` again later
  | 'failed' // final: no money moved (WeChat ABNORMAL / CLOSED)
  | 'not_found'; // the provider has no successful refund with this number: repeat `refund` with the SAME outRequestNo

export interface RefundStatus {
  state: RefundState;
  outRequestNo: string;
  /** fen, the amount of this refund when the provider says */
  amount?: number;
  /** The provider's refund id when it has one (WeChat refund_id). */
  refundId?: string;
  /** ISO 8601 UTC */
  refundedAt?: string;
}

export interface BillLine {
  kind: 'payment' | 'refund';
  outTradeNo: string;
  tradeNo: string;
  /** refunds: the merchant's refund request number (Alipay out_request_no, WeChat out_refund_no) */
  outRequestNo?: string;
  /** fen, positive for payments and refunds alike */
  amount: number;
  /** ISO 8601 UTC: payment completion (or refund) time */
  at: string;
}

export interface PrecreateRequest {
  outTradeNo: string;
  /** fen, integer > 0 */
  amount: number;
  subject: string;
  expiresAt: Date;
}

export interface PayByCodeRequest {
  outTradeNo: string;
  /** fen, integer > 0 */
  amount: number;
  subject: string;
  /** the digits read from the customer's payment code (never logged) */
  authCode: string;
}

export interface RefundRequest {
  outTradeNo: string;
  /** unique per refund; repeating it repeats (never doubles) that refund */
  outRequestNo: string;
  /** fen, this refund */
  amount: number;
  /** fen, the original payment's total */
  totalAmount: number;
  reason?: string;
}

export interface QrProvider {
  readonly method: QrMethod;
  /** Merchant-presented QR: the customer scans `qrContent` (a URL to render as a QR code). */
  precreate(r: PrecreateRequest): Promise<QrResult<{ qrContent: string; expiresAt: Date }>>;
  /** Customer-presented payment code. `paying` means USERPAYING: poll `query`, then `cancel` if it never ends. */
  payByCode(r: PayByCodeRequest): Promise<QrResult<TradeStatus>>;
  query(outTradeNo: string): Promise<QrResult<TradeStatus>>;
  /** Closes an unpaid trade (a QR no longer shown). */
  close(outTradeNo: string): Promise<QrResult<void>>;
  /** Payment-code reverse/cancel: closes the trade, giving the money back if it was paid. Idempotent. */
  cancel(outTradeNo: string): Promise<QrResult<{ reversed: boolean }>>;
  refund(r: RefundRequest): Promise<QrResult<RefundStatus>>;
  refundQuery(outTradeNo: string, outRequestNo: string): Promise<QrResult<RefundStatus>>;
  /** Verifies an asynchronous notification (headers as received, body as the exact received text). */
  verifyNotification(
    headers: Record<string, string>,
    body: string,
  ): QrResult<TradeStatus & { outTradeNo: string }>;
  /** The provider's trade bill for a day (China time), YYYY-MM-DD. A day without trades is `ok` with []. */
  bill(date: string): Promise<QrResult<BillLine[]>>;
}

/**
 * Provider-neutral rejection codes. `message` keeps the provider's code and text
 * (e.g. "ACQ.TRADE_NOT_EXIST: 交易不存在").
 */
export const QR_REJECT_CODES = [
  'trade_not_exist', // no such trade (close or refund of an order the provider never saw)
  'trade_closed', // the trade is closed or reversed: it cannot be paid or changed
  'trade_paid', // already paid (close of a paid trade, a second payment with the same outTradeNo)
  'duplicate_out_trade_no', // outTradeNo used before with other parameters
  'auth_code_invalid', // payment code unreadable, expired or already used
  'insufficient_funds', // the buyer's balance / card cannot pay
  'buyer_blocked', // the buyer's account cannot pay here (risk, limits, not supported)
  'refund_amount_invalid', // refund above what is left, or total does not match
  'refund_not_allowed', // refund too late, trade not refundable
  'merchant_balance_insufficient', // the merchant's balance cannot fund the refund now
  'reverse_expired', // too late to reverse: refund instead
  'invalid_request', // the provider says our parameters are wrong
  'auth_failed', // credentials, signature or permissions rejected by the provider: configuration
  'rate_limited',
  'declined', // any other business refusal
] as const;
export type QrRejectCode = (typeof QR_REJECT_CODES)[number];

export const ok = <T>(value: T): QrResult<T> => ({ status: 'ok', value });
export const rejected = <T = never>(code: QrRejectCode, message: string, retryable = false): QrResult<T> => ({
  status: 'rejected',
  code,
  message,
  retryable,
});
export const unknown = <T = never>(
  reason: 'timeout' | 'connection_lost' | 'bad_signature' | 'system_error',
  message: string,
): QrResult<T> => ({ status: 'unknown', reason, message });
export const notSent = <T = never>(reason: string, message: string): QrResult<T> => ({
  status: 'not_sent',
  reason,
  message,
});

/** Re-types a non-ok result for another value type. */
export function passOn<T>(
  r: Exclude<QrResult<unknown>, { status: 'ok' }>,
): Exclude<QrResult<T>, { status: 'ok' }> {
  return r;
}
