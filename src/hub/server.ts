/**
 * `posbridge hub`: the fleet service. Stateless between requests: everything it knows is in PostgreSQL
 * (daemons, cursors, events, payments, dashboard users and the cookie secret), so several instances can
 * run behind a load balancer against one database (docs/fleet.md).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { authenticateDaemon, enrol } from './credentials.js';
import { openHubDb, type HubDb, type OpenHubDbOptions } from './db.js';
import { HubError } from './errors.js';
import { readJson, sendError, sendJson } from './http.js';
import { cursorOf, ingest } from './ingest.js';
import { migrateHub } from './migrations.js';

interface LoggerLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type HubRoute = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  hub: HubContext,
) => Promise<boolean> | boolean;

export interface HubContext {
  db: HubDb;
  log?: LoggerLike;
  stats: HubStats;
}

export interface HubStats {
  batches: number;
  events: number;
  duplicates: number;
  busy: number;
  inFlight: number;
}

export interface HubOptions extends OpenHubDbOptions {
  port?: number;
  host?: string;
  /** Ingest requests handled at once by this instance; more get 503 + retry-after (default 64). */
  maxInFlight?: number;
  /** Largest request body (default 16 MiB: a full batch of views). */
  maxBodyBytes?: number;
  /** Routes tried before the built-in ones (dashboard, reconciliation, tests). */
  routes?: HubRoute[];
  log?: LoggerLike;
  /** An already open store (tests share one). */
  db?: HubDb;
}

export interface Hub {
  db: HubDb;
  server: Server;
  port: number;
  url: string;
  stats: HubStats;
  close(): Promise<void>;
}

export async function startHub(opts: HubOptions = {}): Promise<Hub> {
  const db = opts.db ?? (await openHubDb(opts));
  await migrateHub(db);
  const stats: HubStats = { batches: 0, events: 0, duplicates: 0, busy: 0, inFlight: 0 };
  const ctx: HubContext = { db, stats, ...(opts.log ? { log: opts.log } : {}) };
  const maxInFlight = opts.maxInFlight ?? 64;
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const routes = opts.routes ?? [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hub');
    for (const r of routes) if (await r(req, res, url, ctx)) return;
    if (req.method === 'POST' && url.pathname === '/v1/ingest') {
      if (stats.inFlight >= maxInFlight) {
        stats.busy++;
        throw new HubError('busy', 'the hub is busy: send again after retry-after');
      }
      stats.inFlight++;
      try {
        const daemon = await authenticateDaemon(db, req.headers.authorization);
        const body = await readJson(req, maxBody);
        const ack = await ingest(db, daemon, body);
        stats.batches++;
        stats.events += (body as { events: unknown[] }).events.length - ack.duplicates;
        stats.duplicates += ack.duplicates;
        sendJson(res, 200, ack);
      } finally {
        stats.inFlight--;
      }
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/cursor') {
      const daemon = await authenticateDaemon(db, req.headers.authorization);
      const journal = url.searchParams.get('journal') ?? '';
      if (!/^[A-Za-z0-9_-]{8,64}$/.test(journal)) throw new HubError('bad_request', 'journal: a journal id', 'journal');
      sendJson(res, 200, { ackedSeq: await cursorOf(db, daemon, journal) });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/v1/enrol') {
      const body = await readJson(req, 64 * 1024);
      const result = await enrol(db, body as never);
      opts.log?.info({ daemonId: result.daemonId, store: result.store }, 'daemon enrolled');
      sendJson(res, 201, result);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/healthz') {
      sendJson(res, 200, { ok: true, db: db.kind, ...stats });
      return;
    }
    throw new HubError('not_found', `${req.method} ${url.pathname}: no such route`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!(e instanceof HubError)) opts.log?.error({ err: (e as Error).message, path: req.url }, 'hub request failed');
      sendError(res, e);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    db,
    server,
    port,
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    stats,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      if (!opts.db) await db.close();
    },
  };
}
