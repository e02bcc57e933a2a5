export { Pan } from './pan.js';
export { SensitiveBytes } from './sensitive-bytes.js';
export { CardDataError } from './errors.js';
export { maskPan, lastFour } from './mask.js';
export { luhnValid, luhnCheckDigit } from './luhn.js';
export { schemeOfBin, BIN_RANGES, MIN_BIN_DIGITS } from './scheme.js';
export type { CardScheme, BinRange } from './scheme.js';
export { Track2, TRACK2_MAX_CHARS } from './track2.js';
export type { Track2Separator } from './track2.js';
export {
  FingerprintKey,
  panFingerprint,
  matchFingerprint,
  parseFingerprint,
  loadOrCreateFingerprintKey,
  FINGERPRINT_KEY_BYTES,
  FINGERPRINT_KEY_FILE,
  FINGERPRINT_VERSION,
} from './fingerprint.js';
export type {
  FingerprintMatch,
  ParsedFingerprint,
  FingerprintKeyFile,
  FingerprintKeyProtector,
} from './fingerprint.js';
export {
  redactPaths,
  REDACT_CENSOR,
  REDACT_DEPTH,
  SENSITIVE_LOG_KEYS,
  SENSITIVE_ISO_FIELDS,
  scrubText,
  scrubValue,
  serializeError,
  scrubJsonStrings,
  cardLogOptions,
} from './redaction.js';
export type { CardLogOptions, CardLogSettings, SerializedError } from './redaction.js';
