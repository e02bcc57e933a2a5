export { startHub, type Hub, type HubOptions, type HubRoute, type HubContext, type HubStats } from './server.js';
export { openHubDb, int, type HubDb, type HubSql, type OpenHubDbOptions } from './db.js';
export { migrateHub, HUB_MIGRATIONS } from './migrations.js';
export { createEnrolCode, enrol, authenticateDaemon, revokeDaemon, type AuthedDaemon } from './credentials.js';
export { ingest, validateBatch, cursorOf } from './ingest.js';
export { HubError, type HubErrorCode } from './errors.js';
export {
  requireUser,
  whoIs,
  setUserPassword,
  checkPassword,
  sessionCookie,
  newAdminToken,
  SESSION_COOKIE,
  LOGOUT_COOKIE,
} from './auth.js';
export { readJson, readBody, sendJson, sendError } from './http.js';
export { startHubService, type HubService, type HubServiceOptions } from './service.js';
export {
  importAcquirerFile,
  listAcquirerFiles,
  reconcileFleet,
  fleetReport,
  daysCsv,
  storesCsv,
  itemsCsv,
  reconcileRoutes,
  type ImportResult,
  type ReconcileFleetOptions,
  type ReconRunSummary,
  type FleetReport,
  type FleetReportOptions,
  type ReconDayRow,
  type ReconStoreRow,
  type FleetReconItem,
  type ReconFigures,
} from './reconcile/index.js';
export { dashboardRoutes } from './dashboard/routes.js';
export type { DashboardOptions } from './dashboard/snapshot.js';
