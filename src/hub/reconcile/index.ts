/** Central reconciliation (docs/fleet.md, Central reconciliation): import, run, report; the CLI and the fleet simulator call these. */
export { importAcquirerFile, listAcquirerFiles } from './import.js';
export { reconcileFleet } from './match.js';
export { fleetReport, daysCsv, storesCsv, itemsCsv, DAYS_CSV_HEADER, ITEMS_CSV_HEADER } from './report.js';
export { reconcileRoutes, MAX_ACQUIRER_FILE_BYTES } from './routes.js';
export type * from './types.js';
