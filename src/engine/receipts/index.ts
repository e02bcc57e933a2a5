/**
 * Receipts and signatures: rendering (pure functions of a journaled operation and the configuration),
 * printing on the reader with reprint counting, and the cardholder's signature with its upload to the
 * acquirer (docs/protocol.md: receipt.get, receipt.print, payment.signature).
 */
export {
  Receipts,
  type ReceiptsDeps,
  type ReceiptRequest,
  type ReceiptResult,
  type PrintRequest,
  type PrintResult,
  type SignatureResult,
  type SignatureUploadState,
} from './service.js';
export {
  buildReceipt,
  renderText,
  renderHtml,
  escapeHtml,
  TRANSACTION_NAMES,
  type Receipt,
  type ReceiptCopy,
  type ReceiptFormat,
  type ReceiptInput,
  type ReceiptSignature,
  type ReceiptWidth,
} from './receipt.js';
export { displayWidth, charWidth, wrap } from './text.js';
export { formatMinor, currencyCode } from './money.js';
export {
  parseSignature,
  esignTlv,
  MAX_SIGNATURE_BYTES,
  type SignatureInput,
  type ParsedSignature,
} from './signature.js';
export {
  signatureRecord,
  readSignatureRecord,
  RECORD_HEADER_BYTES,
  ENCODING_NONE,
  ENCODING_BILEVEL_DEFLATE,
} from './signature-image.js';
export { ReceiptStore, type SignatureRow, type PrintRow } from './store.js';
