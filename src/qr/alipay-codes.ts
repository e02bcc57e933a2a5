/**
 * Alipay gateway answers to QrResult. Gateway `code`: 10000 success, 10003 waiting for the buyer
 * (alipay.trade.pay: USERPAYING), 20000 service unavailable, 20001 authorisation insufficient, 40001 missing
 * parameter, 40002 invalid parameter (including our signature), 40004 business failure (`sub_code`
 * ACQ.*), 40006 insufficient permissions.
 */
import { rejected, unknown, type QrRejectCode, type QrResult } from './provider.js';

const SUB_CODES: Record<string, [QrRejectCode, boolean]> = {
  'ACQ.TRADE_NOT_EXIST': ['trade_not_exist', false],
  'ACQ.TRADE_HAS_CLOSE': ['trade_closed', false],
  'ACQ.TRADE_HAS_SUCCESS': ['trade_paid', false],
  'ACQ.TRADE_HAS_FINISHED': ['trade_paid', false],
  'ACQ.TRADE_STATUS_ERROR': ['refund_not_allowed', false],
  'ACQ.CONTEXT_INCONSISTENT': ['duplicate_out_trade_no', false],
  'ACQ.PAYMENT_AUTH_CODE_INVALID': ['auth_code_invalid', false],
  'ACQ.AUTH_CODE_INVALID': ['auth_code_invalid', false],
  'ACQ.BUYER_BALANCE_NOT_ENOUGH': ['insufficient_funds', false],
  'ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH': ['insufficient_funds', false],
  'ACQ.ERROR_BALANCE_PAYMENT_DISABLE': ['insufficient_funds', false],
  'ACQ.BUYER_ENABLE_STATUS_FORBID': ['buyer_blocked', false],
  'ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR': ['buyer_blocked', false],
  'ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR': ['buyer_blocked', false],
  'ACQ.BUYER_SELLER_EQUAL': ['buyer_blocked', false],
  'ACQ.TRADE_BUYER_NOT_MATCH': ['buyer_blocked', false],
  'ACQ.PAYMENT_REQUEST_HAS_RISK': ['buyer_blocked', false],
  'ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE': ['buyer_blocked', false],
  'ACQ.PAYMENT_FAIL': ['declined', false],
  'ACQ.REQUEST_AMOUNT_EXCEED': ['declined', false],
  'ACQ.TOTAL_FEE_EXCEED': ['invalid_request', false],
  'ACQ.INVALID_PARAMETER': ['invalid_request', false],
  'ACQ.ACCESS_FORBIDDEN': ['auth_failed', false],
  'ACQ.PARTNER_ERROR': ['auth_failed', false],
  'ACQ.SELLER_BALANCE_NOT_ENOUGH': ['merchant_balance_insufficient', true],
  'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL': ['refund_amount_invalid', false],
  'ACQ.REASON_TRADE_REFUND_FEE_ERR': ['refund_amount_invalid', false],
  'ACQ.REFUND_FEE_ERROR': ['refund_amount_invalid', false],
  'ACQ.TRADE_NOT_ALLOW_REFUND': ['refund_not_allowed', false],
  'ACQ.REASON_TRADE_BEEN_FREEZEN': ['refund_not_allowed', false],
  'ACQ.DISCORDANT_REPEAT_REQUEST': ['invalid_request', false],
  'ACQ.TRADE_CANCEL_TIME_OUT': ['reverse_expired', false],
};

export interface AlipayAnswer {
  code?: string;
  msg?: string;
  sub_code?: string;
  sub_msg?: string;
}

export function describeAlipay(a: AlipayAnswer): string {
  const head = a.sub_code ?? a.code ?? '?';
  const text = a.sub_msg ?? a.msg ?? '';
  return `${head}: ${text}`.slice(0, 300);
}

/** Any non-success answer to a QrResult; `overrides` maps sub codes per operation. */
export function alipayFailure<T>(
  a: AlipayAnswer,
  overrides: Record<string, [QrRejectCode, boolean]> = {},
): QrResult<T> {
  const message = describeAlipay(a);
  const sub = a.sub_code ?? '';
  if (a.code === '20000' || /SYSTEM_ERROR|^isp\.|UNKNOW/i.test(sub)) return unknown('system_error', message);
  if (a.code === '20001' || a.code === '40006') return rejected('auth_failed', message);
  if (a.code === '40001') return rejected('invalid_request', message);
  if (a.code === '40002')
    return rejected(/sign|app-id|app_id|cert|auth/i.test(sub) ? 'auth_failed' : 'invalid_request', message);
  if (a.code === '40004') {
    const m = overrides[sub] ?? SUB_CODES[sub];
    if (m) return rejected(m[0], message, m[1]);
    return rejected('declined', message);
  }
  return unknown('system_error', `unexpected gateway code ${message}`);
}
