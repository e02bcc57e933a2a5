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
