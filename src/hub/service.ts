/**
 * The hub as it runs (`posbridge hub serve`, the fleet demo): the ingestion server with the dashboard
 * and central reconciliation routes, the first dashboard user and the admin token set up.
 */
import { newAdminToken, setUserPassword } from './auth.js';
import { dashboardRoutes } from './dashboard/routes.js';
import type { DashboardOptions } from './dashboard/snapshot.js';
import { reconcileRoutes } from './reconcile/routes.js';
import { startHub, type Hub, type HubOptions } from './server.js';

export interface HubServiceOptions extends HubOptions {
  /** Creates or updates this dashboard user at start (e.g. from POSBRIDGE_HUB_ADMIN_PASSWORD). */
  admin?: { name: string; password: string };
  /** Make a fresh admin token at start and return it (the CLI writes it beside the hub's data). */
  issueAdminToken?: boolean;
  /** Dashboard settings (online window, time zone, poll interval, ...). */
  dashboard?: DashboardOptions;
}

export interface HubService extends Hub {
  adminToken?: string;
}

export async function startHubService(opts: HubServiceOptions = {}): Promise<HubService> {
  const hub = await startHub({ ...opts, routes: [...(opts.routes ?? []), ...dashboardRoutes(opts.dashboard), ...reconcileRoutes()] });
  try {
    if (opts.admin) await setUserPassword(hub.db, opts.admin.name, opts.admin.password);
    const adminToken = opts.issueAdminToken ? await newAdminToken(hub.db) : undefined;
    return Object.assign(hub, adminToken ? { adminToken } : {});
  } catch (e) {
    await hub.close();
    throw e;
  }
}
