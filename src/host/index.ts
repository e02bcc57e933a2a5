export {
  HostLink,
  DEFAULT_TIMERS,
  type HostLinkConfig,
  type HostTimers,
  type RequestOptions,
} from './host-link.js';
export type { Attempt, HostOutcome, LinkState, LinkStateEvent, StrayResponse } from './outcome.js';
export { Counter, FileCounterStore, MemoryCounterStore, type CounterStore } from './counters.js';
export { FrameReader } from './frame-reader.js';
export { HostLinkError, type HostErrorCode } from './errors.js';
export {
  TerminalManager,
  PARAM_KINDS,
  paramSetDigest,
  tmsSpec,
  keyOf as paramEntryKey,
  type ParamKind,
  type DownloadReason,
  type StoredParamEntry,
  type StoredParamSet,
  type TerminalParamStore,
  type KindResult,
  type TerminalManagerOptions,
} from './terminal-management.js';
export { TerminalManagementError, type TerminalManagementErrorCode } from './terminal-management-errors.js';
export { parseTlvList, encodeTlvList, type TlvItem } from './field62-tlv.js';
export {
  decodeEntry,
  decodeStoredEntry,
  capkOf,
  capkCheckValue,
  capkExpired,
  verifyCapk,
  SHA1_ALGORITHM,
  type Capk,
  type TmsEntry,
  type TmsValue,
} from './tms-entries.js';
