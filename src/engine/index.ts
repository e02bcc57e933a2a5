export { Engine, resultPayload, type EngineDeps, type EngineEvent, type OperationRequest } from './engine.js';
export { DEFAULT_ENGINE_CONFIG, type EngineConfig, type SafConfig } from './config.js';
export { EngineError, type EngineErrorCode } from './errors.js';
export { SafWorker } from './saf.js';
export { toView, type OperationView, type OrderSummary } from './views.js';
export { TEMPLATES, type MessageTemplate, type StoredSignatureUpload } from './messages.js';
export * from './settlement/index.js';
export * from './receipts/index.js';
