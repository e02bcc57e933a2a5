/** EMV: BER-TLV codec, tag dictionary, explainers, field 55 profiles, issuer response, token facts. */
export { TlvError, type TlvErrorCode, type TlvErrorDetails, type TlvWarning } from './errors.js';
export {
  Tlv,
  parseTlv,
  tryParseTlv,
  encodeTlv,
  encodedLength,
  tlv,
  normalizeTag,
  isConstructedTag,
  isPrivateClass,
  findTlv,
  walkTlv,
  MAX_TLV_DEPTH,
  MAX_TLV_VALUE_LENGTH,
  type ParseOptions,
  type TlvParseResult,
  type TryParseResult,
} from './tlv.js';
export { toHex, bcdDigits } from './hex.js';
export { ALWAYS_SENSITIVE_TAGS } from './sensitive.js';
export { EmvDataError, type DataProblem } from './problems.js';
export {
  TagDictionary,
  compileTagDictionary,
  loadTagDictionary,
  TAG_FORMATS,
  TAG_SOURCES,
  type TagInfo,
  type TagFormat,
  type TagSource,
} from './dictionary.js';
export { emvDataDir } from './data-dir.js';
export { describeTlv, redactTlv, type DescribeOptions, type RedactedTlv } from './describe.js';
export {
  explainTag,
  explainTvr,
  explainTsi,
  explainCid,
  explainCvmResults,
  explainTerminalCapabilities,
  explainFormFactor,
  EXPLAINED_TAGS,
  type Explanation,
  type BitMeaning,
  type BitmapDetails,
  type CidDetails,
  type CryptogramType,
  type CvmResultsDetails,
  type FormFactorDetails,
  type FormFactorFormat,
} from './explain.js';
export {
  compileField55Profile,
  loadField55Profile,
  listField55Profiles,
  type Field55Profile,
  type ProfileTag,
  type Presence,
} from './profiles.js';
export {
  buildField55,
  type Field55Result,
  type Field55Build,
  type MissingMandatory,
  type DroppedTag,
  type DropReason,
  type LengthWarning,
  type BuildOptions,
} from './field55.js';
export {
  parseIssuerResponse,
  readerIssuerData,
  type IssuerResponse,
  type IssuerResponseError,
  type IssuerAuthenticationData,
  type IssuerScript,
  type ReaderIssuerDataInput,
  type ReaderIssuerDataError,
} from './issuer.js';
export {
  encodeScriptResults,
  scriptResultsTlv,
  decodeScriptResults,
  type ScriptResult,
  type ScriptOutcome,
  type DecodedScriptResult,
  type ScriptResultsError,
} from './script-results.js';
export { schemeOfAid, compileAidTable, type RidEntry } from './aid.js';
export {
  classifyPresentation,
  entryModeKind,
  type PresentationFacts,
  type PresentationInput,
  type PresentationError,
  type PresentationKind,
  type PhysicalEntry,
  type TokenEvidence,
} from './token.js';
export type { EmvResult } from './result.js';
