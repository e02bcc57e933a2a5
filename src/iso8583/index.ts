export { Iso8583Error, type Iso8583ErrorCode, type Iso8583ErrorDetails } from './errors.js';
export { Dialect } from './dialect.js';
export {
  loadDialect,
  compileDialect,
  listDialects,
  DialectError,
  type DialectProblem,
  type LoadOptions,
} from './dialect-loader.js';
export type {
  DialectFile,
  FieldSpec,
  FramingSpec,
  MessageRule,
  MessageSpec,
  SubfieldSpec,
  DataType,
  DataEncoding,
  PrefixSpec,
  SignatureUploadSpec,
  TerminalManagementSpec,
  TmsExchangeSpec,
  TmsKindSpec,
  TmsTagSpec,
} from './dialect-spec.js';
export type { Iso8583Message, Iso8583MessageInput, PackOptions } from './message.js';
export type { FieldValue, FieldInput } from './field-codec.js';
export { Composite } from './composite.js';
export {
  frame,
  unframe,
  dialectFraming,
  frameLength,
  lengthHeaderWidth,
  type Framing,
  type Tpdu,
  type FrameHeader,
  type Unframed,
} from './framing.js';
export { encodeText, type TextEncodingName } from './encodings/text.js';
export { toHex } from './encodings/hex.js';
export { protocolsDir } from './protocols-dir.js';
export type { DescribeOptions } from './describe.js';
