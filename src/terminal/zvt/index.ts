/** ZVT (PA00P015 / PA00P016): codec, links, the ECR client and the pieces the terminal simulator shares. */
export { ZvtError, hex2, commandCode, type ZvtErrorCode, type ZvtErrorDetails } from './errors.js';
export { crc16, frameCrc } from './crc.js';
export { DLE, STX, ETX, ACK, NAK, encodeFrame, decodeFrame, FrameReader, type FrameEvent } from './frame.js';
export {
  encodeApdu,
  decodeApdu,
  apduCode,
  apduHeader,
  ApduReassembler,
  PT_CLASSES,
  ECR_CLASSES,
  MAX_APDU_DATA,
  type Apdu,
} from './apdu.js';
export {
  nibbles,
  packNibbles,
  encodeBcd,
  decodeBcd,
  isBcd,
  encodeAmount,
  decodeAmount,
  encodePassword,
  encodeCurrency,
  decodeCurrency,
  encodeVarLength,
  decodeVarLength,
} from './bcd.js';
export { decodeText, encodeText, type ZvtCharset } from './charset.js';
export {
  tlv,
  encodeTlv,
  decodeTlv,
  findTlv,
  isConstructedTag,
  encodeTlvLength,
  decodeTlvLength,
  type TlvNode,
} from './tlv.js';
export { bmp, findBmp, tlvOf, encodeBmps, decodeBmps, decodeBmpAt, type Bmp } from './bitmaps.js';
export {
  loadZvtTables,
  zvtDataDir,
  type ZvtTables,
  type BmpSpec,
  type BmpFormat,
  type CommandSpec,
  type FixedFieldSpec,
} from './tables.js';
export {
  decodeMessage,
  encodeMessage,
  toApdu,
  messageCode,
  field,
  type ZvtMessage,
  type ZvtField,
  type DecodeOptions,
} from './codec.js';
export * as zvtMessages from './messages.js';
export {
  CONFIG,
  DEFAULT_CONFIG_BYTE,
  REPEAT_RECEIPT_STATUS_ONLY,
  authAttribute,
  type RegistrationParams,
  type PaymentParams,
  type ByReceiptParams,
} from './messages.js';
export {
  statusToResult,
  statusResultCode,
  maskedPanOf,
  abortOf,
  resultMessage,
  progressOf,
  intermediateOf,
  statusEnquiryOf,
  type AbortInfo,
  type IntermediateInfo,
  type StatusEnquiryInfo,
} from './status.js';
export { printLineOf, textBlockOf, ReceiptCollector, type PrintedLine } from './receipt.js';
export {
  TcpZvtLink,
  BaseZvtLink,
  ZVT_TCP_PORT,
  tcpTransport,
  serialTransport,
  type ZvtLink,
  type ZvtLinkStats,
  type ZvtRole,
  type ZvtTcpOptions,
  type ZvtSerialOptions,
} from './transport.js';
export { SerialZvtLink, DEFAULT_SERIAL_TIMERS, type SerialLinkTimers } from './serial-link.js';
export { Inbox, type InboxItem } from './inbox.js';
export {
  runExchange,
  type ExchangeResult,
  type ExchangeEnd,
  type ExchangeTimers,
  type ExchangeContext,
  type ExchangeOptions,
} from './exchange.js';
export { toOutcome, BUSY_CODES, NOT_SUPPORTED_CODES } from './outcome.js';
export { ZvtTerminal, type StatusEnquiryAnswer } from './client.js';
export { ZvtConnection } from './connection.js';
export {
  DEFAULT_ZVT_TIMERS,
  ALL_ZVT_CAPABILITIES,
  type ZvtTerminalOptions,
  type ZvtTimers,
} from './options.js';
