/** Scan-to-pay provider adapters (Alipay OpenAPI, WeChat Pay v3 + v2 payment code). See docs/qr.md. */
export { QR_REJECT_CODES, ok, rejected, unknown, notSent, passOn } from './provider.js';
export type {
  QrProvider,
  QrMethod,
  QrResult,
  QrRejectCode,
  TradeState,
  TradeStatus,
  RefundState,
  RefundStatus,
  BillLine,
  PrecreateRequest,
  PayByCodeRequest,
  RefundRequest,
} from './provider.js';
export { AlipayProvider, ALIPAY_GATEWAY, ALIPAY_SANDBOX_GATEWAY } from './alipay.js';
export type { AlipayProviderOptions } from './alipay.js';
export { WechatProvider, WECHAT_API } from './wechat.js';
export type { WechatProviderOptions } from './wechat.js';
export { fenToYuan, yuanToFen, yuanValueToFen, AmountError, MAX_FEN } from './money.js';
export { cstDateTime, cstCompact, cstRfc3339, cstDate, parseCst, providerTimeToIso } from './china-time.js';
export {
  alipaySignContent,
  alipayResponseKey,
  rsa2Sign,
  rsa2Verify,
  verifyAlipayResponse,
  verifyAlipayNotificationParams,
} from './alipay-sign.js';
export {
  WECHAT_AUTH_SCHEME,
  wechatV3Authorization,
  wechatV3RequestMessage,
  wechatV3ResponseMessage,
  parseWechatAuthorization,
  verifyWechatV3Signed,
  sha256WithRsa,
  sha256WithRsaVerify,
  decryptWechatResource,
  encryptWechatResource,
  wechatV2Sign,
  wechatV2Verify,
  nonceStr,
  header,
} from './wechat-sign.js';
export type { EncryptedResource, V2SignType } from './wechat-sign.js';
export { parseWechatXml, buildWechatXml, WechatXmlError } from './wechat-xml.js';
export { rawMembers, RawJsonError } from './json-raw.js';
export {
  parseAlipayBillZip,
  parseAlipayBillCsv,
  parseWechatBill,
  parseCsvLine,
  BillFormatError,
} from './bill.js';
export { readZip, crc32, ZipError } from './zip.js';
export type { ZipEntry } from './zip.js';
export { maskLogonId, maskOpenid } from './common.js';
export type { QrLogger } from './common.js';
