/**
 * Central reconciliation's routes (every one needs a dashboard user or the admin token):
 *
 *   POST /api/reconcile/files?name=<file name>   body: the acquirer's CSV → 201 import summary (200 when
 *                                                 the same content was imported before: nothing changed)
 *   GET  /api/reconcile/files                     the files imported, newest first
 *   POST /api/reconcile/run   {from?, to?, dateDays?} (or the same as query parameters) → the run's summary
 *   GET  /api/reconcile/report?from=&to=&store=&format=json|csv&detail=days|stores|items&limit=&dayLimit=
 *
 * A POST from a page of another origin is refused (SameSite=Strict keeps the cookie from other sites,
 * not from another port of the same host).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requireUser } from '../auth.js';
import type { HubDb } from '../db.js';
import { HubError } from '../errors.js';
import { readBody, readJson, sendJson } from '../http.js';
import type { HubRoute } from '../server.js';
import { importAcquirerFile, listAcquirerFiles } from './import.js';
import { reconcileFleet } from './match.js';
import { daysCsv, fleetReport, itemsCsv, storesCsv } from './report.js';

/** An acquirer file of a million lines is 55 to 70 MB. */
export const MAX_ACQUIRER_FILE_BYTES = 256 * 1024 * 1024;

function otherOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

function forbidden(res: ServerResponse): true {
  sendJson(res, 403, {
    error: { code: 'forbidden', message: 'a request from another site', path: 'origin' },
  });
  return true;
}

function methods(res: ServerResponse, allow: string): true {
  sendJson(res, 405, { error: { code: 'method_not_allowed', message: `use ${allow}` } }, { allow });
  return true;
}

const param = (url: URL, name: string): string | undefined => url.searchParams.get(name) ?? undefined;

function intParam(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n)) throw new HubError('bad_request', `${path}: an integer`, path);
  return n;
}

async function postFile(req: IncomingMessage, res: ServerResponse, url: URL, db: HubDb): Promise<void> {
  const who = await requireUser(db, req);
  if (/multipart\/form-data|application\/json/.test(req.headers['content-type'] ?? ''))
    throw new HubError('bad_request', 'body: the CSV itself (content-type text/csv)', 'body');
  const body = await readBody(req, MAX_ACQUIRER_FILE_BYTES);
  const result = await importAcquirerFile(db, param(url, 'name'), body.toString('utf8'), { by: who });
  sendJson(res, result.imported ? 201 : 200, result);
}

async function postRun(req: IncomingMessage, res: ServerResponse, url: URL, db: HubDb): Promise<void> {
  const who = await requireUser(db, req);
  const hasBody =
    Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  const body = hasBody ? await readJson(req, 16 * 1024) : {};
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new HubError('bad_request', 'body: a JSON object', 'body');
  const b = body as Record<string, unknown>;
  const pick = (name: string): string | undefined => {
    const v = b[name] ?? param(url, name);
    if (v !== undefined && typeof v !== 'string')
      throw new HubError('bad_request', `${name}: a date YYYY-MM-DD`, name);
    return v;
  };
  const dateDays = intParam(b['dateDays'] ?? param(url, 'dateDays'), 'dateDays');
  const from = pick('from');
  const to = pick('to');
  const summary = await reconcileFleet(db, {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(dateDays !== undefined ? { tolerance: { dateDays } } : {}),
    by: who,
  });
  sendJson(res, 200, summary);
}

async function getReport(req: IncomingMessage, res: ServerResponse, url: URL, db: HubDb): Promise<void> {
  await requireUser(db, req);
  const format = param(url, 'format') ?? 'json';
  const detail = param(url, 'detail') ?? 'days';
  if (format !== 'json' && format !== 'csv')
    throw new HubError('bad_request', 'format: json or csv', 'format');
  if (detail !== 'days' && detail !== 'stores' && detail !== 'items')
    throw new HubError('bad_request', 'detail: days, stores or items', 'detail');
  const from = param(url, 'from');
  const to = param(url, 'to');
  const store = param(url, 'store');
  const csv = format === 'csv';
  const limit = intParam(param(url, 'limit'), 'limit') ?? (csv ? 100_000 : 1000);
  const dayLimit = intParam(param(url, 'dayLimit'), 'dayLimit') ?? 1000;
  const report = await fleetReport(db, {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(store !== undefined ? { store } : {}),
    // A CSV has every row of what it lists and nothing else.
    itemLimit: csv && detail !== 'items' ? 0 : limit,
    dayLimit: csv ? (detail === 'days' ? Number.MAX_SAFE_INTEGER : 0) : dayLimit,
  });
  if (format === 'json') {
    sendJson(res, 200, report);
    return;
  }
  const name = `reconciliation-${detail}-${report.from ?? 'none'}-${report.to ?? 'none'}.csv`;
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(detail === 'items' ? itemsCsv(report) : detail === 'stores' ? storesCsv(report) : daysCsv(report));
}

/** Central reconciliation: acquirer file import and the report per store/terminal/day. */
export function reconcileRoutes(): HubRoute[] {
  return [
    async (req, res, url, ctx) => {
      switch (url.pathname) {
        case '/api/reconcile/files':
          if (req.method === 'POST') {
            if (otherOrigin(req)) return forbidden(res);
            await postFile(req, res, url, ctx.db);
          } else if (req.method === 'GET') {
            await requireUser(ctx.db, req);
            sendJson(res, 200, { files: await listAcquirerFiles(ctx.db) });
          } else return methods(res, 'GET, POST');
          return true;
        case '/api/reconcile/run':
          if (req.method !== 'POST') return methods(res, 'POST');
          if (otherOrigin(req)) return forbidden(res);
          await postRun(req, res, url, ctx.db);
          return true;
        case '/api/reconcile/report':
          if (req.method !== 'GET') return methods(res, 'GET');
          await getReport(req, res, url, ctx.db);
          return true;
        default:
          return false;
      }
    },
  ];
}
