/** Card readers: transports, the link layer, profiles and the driver that implements `CardReader`. */
export type {
  CardReader,
  ReaderState,
  ReaderStateEvent,
  ReaderInfo,
  TransactionType,
  CardInterface,
  StartTransaction,
  ReaderProgress,
  ReaderProgressEvent,
  CardResult,
  StartResult,
  CompleteTransaction,
  CompleteResult,
  CancelResult,
  LastTransactionStatus,
  ReaderErrorCode,
} from './reader.js';
export { ReaderError, ProfileError, type ReaderErrorReason, type ReaderErrorDetails } from './errors.js';
export {
  createCardReader,
  probeReader,
  createTransport,
  registerTransport,
  resolveProfile,
  type ReaderConfig,
  type TransportName,
  type TransportFactory,
} from './factory.js';
export {
  ReaderDriver,
  DEFAULT_READER_TIMERS,
  type ReaderDriverOptions,
  type ReaderTimers,
  type ReaderKcv,
  type ReaderResponse,
  type CommandOptions,
} from './driver.js';
export { ReaderSecurityModule, type ReaderCommandPort } from './security-module.js';
export {
  loadReaderProfile,
  listReaderProfiles,
  compileReaderProfile,
  mergeProfiles,
  readerProfilesDir,
  commandTimeout,
  COMMAND_NAMES,
  REQUIRED_COMMANDS,
  NOTIFICATION_NAMES,
  STATUS_NAMES,
  TAG_NAMES,
  type ReaderProfile,
  type FramingSpec,
  type FramingVariant,
  type LinkSpec,
  type BleSpec,
  type SerialSpec,
  type CommandName,
  type NotificationName,
  type StatusName,
  type TagName,
} from './profile.js';
export { Link, type LinkOptions, type LinkStats, type OutgoingFilter } from './link.js';
export { FrameCodec, FrameParser, type Frame, type ParseEvent } from './framing.js';
export { lrc, crc16, checkLength, CHECK_KINDS, type CheckKind } from './check.js';
export {
  Payload,
  buildPayload,
  encodeAmount,
  decodeAmount,
  encodeCurrency,
  decodeCurrency,
  encodeInterfaces,
  decodeInterfaces,
  encodeCapabilities,
  decodeCapabilities,
  uint16,
  TRANSACTION_TYPE_CODES,
  INTERFACE_BITS,
  PROGRESS_CODES,
  OUTCOME_CODES,
  STAGE_CODES,
  CANCEL_CODES,
  CRYPTOGRAM_CODES,
  KEY_LAYOUT_CODES,
  MAC_ALGORITHM_CODES,
  KEY_NAME_CODES,
  CAPABILITY_BITS,
  type Capability,
  type TagValue,
  type TransactionOutcome,
  type CancelOutcome,
} from './payload.js';
export {
  BaseTransport,
  StreamTransport,
  type Transport,
  type TransportKind,
  type TransportCloseEvent,
  type StreamTransportOptions,
} from './transport.js';
export {
  SerialTransport,
  listSerialPorts,
  type SerialTransportOptions,
  type SerialPortInfo,
} from './serial.js';
export { TcpTransport, type TcpTransportOptions } from './tcp.js';
export {
  registerReaderAdapter,
  readerAdapter,
  batteryMillivoltsAdapter,
  type ReaderAdapter,
  type AdaptedRequest,
  type AdaptedResponse,
} from './adapters.js';
