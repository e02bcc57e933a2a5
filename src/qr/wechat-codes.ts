/**
 * WeChat Pay error codes to QrResult. API v3 answers errors as HTTP 4xx/5xx with `{"code","message"}`;
 * API v2 as `result_code=FAIL` with `err_code` / `err_code_des`.
 */
import { rejected, unknown, type QrRejectCode, type QrResult } from './provider.js';

const CODES: Record<string, [QrRejectCode, boolean]> = {
  // v3
  ORDER_NOT_EXIST: ['trade_not_exist', false],
  RESOURCE_NOT_EXISTS: ['trade_not_exist', false],
  ORDER_CLOSED: ['trade_closed', false],
  ORDERPAID: ['trade_paid', false],
  OUT_TRADE_NO_USED: ['duplicate_out_trade_no', false],
  PARAM_ERROR: ['invalid_request', false],
  INVALID_REQUEST: ['invalid_request', false],
  SIGN_ERROR: ['auth_failed', false],
  NO_AUTH: ['auth_failed', false],
  APPID_MCHID_NOT_MATCH: ['auth_failed', false],
  MCH_NOT_EXISTS: ['auth_failed', false],
  ACCOUNT_ERROR: ['auth_failed', false],
  RULE_LIMIT: ['declined', false],
  TRADE_ERROR: ['declined', false],
  FREQUENCY_LIMITED: ['rate_limited', true],
  FREQUENCY_LIMIT_EXCEED: ['rate_limited', true],
  NOT_ENOUGH: ['merchant_balance_insufficient', true],
  USER_ACCOUNT_ABNORMAL: ['refund_not_allowed', false],
  // v2
  ORDERNOTEXIST: ['trade_not_exist', false],
  ORDERCLOSED: ['trade_closed', false],
  ORDERREVERSED: ['trade_closed', false],
  AUTHCODEEXPIRE: ['auth_code_invalid', false],
  AUTH_CODE_ERROR: ['auth_code_invalid', false],
  AUTH_CODE_INVALID: ['auth_code_invalid', false],
  NOTENOUGH: ['insufficient_funds', false],
  NOTSUPORTCARD: ['buyer_blocked', false],
  BUYER_MISMATCH: ['buyer_blocked', false],
  LACK_PARAMS: ['invalid_request', false],
  XML_FORMAT_ERROR: ['invalid_request', false],
  NOT_UTF8: ['invalid_request', false],
  REQUIRE_POST_METHOD: ['invalid_request', false],
  POST_DATA_EMPTY: ['invalid_request', false],
  INVALID_TRANSACTIONID: ['invalid_request', false],
  SIGNERROR: ['auth_failed', false],
  NOAUTH: ['auth_failed', false],
  APPID_NOT_EXIST: ['auth_failed', false],
  MCHID_NOT_EXIST: ['auth_failed', false],
  REVERSE_EXPIRE: ['reverse_expired', false],
};

/** Codes after which the request may still have been carried out. */
const UNKNOWN = new Set(['SYSTEM_ERROR', 'SYSTEMERROR', 'BANKERROR', 'BANK_ERROR']);

export function wechatFailure<T>(
  code: string,
  message: string,
  overrides: Record<string, [QrRejectCode, boolean]> = {},
): QrResult<T> {
  const text = `${code}: ${message}`.slice(0, 300);
  if (UNKNOWN.has(code)) return unknown('system_error', text);
  const m = overrides[code] ?? CODES[code];
  if (m) return rejected(m[0], text, m[1]);
  return rejected('declined', text);
}
