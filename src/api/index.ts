/** The CRM WebSocket API (JSON-RPC 2.0): server, schemas, errors. The typed client is `./client/index.js`. */
export {
  createApiServer,
  type ApiServer,
  type ApiServerOptions,
  type ApiEngine,
  type ApiStats,
  type SessionInfo,
  type SettlementBackend,
  type TerminalsBackend,
  type TokenCheck,
  type TokenVerifier,
} from './server.js';
export { ApiError, toApiError } from './errors.js';
export {
  METHODS,
  NOTIFICATIONS,
  ERROR_CODES,
  DEFS,
  SCHEMA_ID,
  protocolSchema,
  type MethodSpec,
  type JsonSchema,
} from './schemas.js';
export {
  toPayment,
  toOrderSummary,
  durableEvent,
  progressEvent,
  numericCurrency,
  alphaCurrency,
} from './mapping.js';
export * from './client/types.js';
export { HubLink, DEFAULT_HUB_LINK_TIMERS, type HubLinkOptions, type HubLinkTimers, type HubLinkStatus, type HubLinkState, type HubSource } from './hub-link.js';
export * from './hub-protocol.js';
