/**
 * Settlement and reconciliation (docs/reconciliation.md): batch close with 0500/0510, batch upload,
 * the day boundary for pending reversals, PAN erasure after settlement, and the journal against the
 * host's totals and settlement file.
 */
export { Settlement, nextBatch, type SettlementDeps, type SettlementEvent } from './settle.js';
export {
  SettlementService,
  reconcileFileOffline,
  storedReport,
  MAX_HOST_FILE_BYTES,
  type SettlementRunParams,
  type SettlementRunAccepted,
  type SettlementReportParams,
  type SettlementReportResult,
  type ReconcileFileParams,
  type ReconcileFileResult,
  reconcileQrOffline,
  type ReconcileQrParams,
  type SettlementServiceDeps,
} from './api.js';
export {
  reconcileQr,
  qrRunSource,
  DEFAULT_QR_TOLERANCE,
  type QrReconcileInput,
  type QrTolerance,
  type QrBill,
} from './qr-reconcile.js';
export { QR_ACTIONS, actionText } from './qr-actions.js';
export { reconcile, ACTIONS, type ReconcileInput } from './reconcile.js';
export { parseHostFile, type HostFile } from './hostfile.js';
export { csvField, reportCsv, reportJson, REPORT_CSV_HEADER } from './report.js';
export { eraseSealedPans, type PanErasure } from './pans.js';
export { computeTotals, field48, parseField48 } from './totals.js';
export { SettlementStore } from './store.js';
export { SettlementError, type SettlementErrorCode } from './errors.js';
export * from './types.js';
