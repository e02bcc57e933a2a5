/**
 * The fleet dashboard's routes:
 *
 *   GET  /login, POST /login (form or JSON {name, password}) → session cookie; POST /logout
 *   GET  /                               the fleet page (live through /api/stream)
 *   GET  /payments/:daemonId/:paymentId  a payment's timeline page
 *   GET  /api/fleet                      the snapshot as JSON (snapshot.ts)
 *   GET  /api/stream                     Server-Sent Events: changed sections of the page
 *   GET  /api/payments/:daemonId/:paymentId   {daemon, payment, events} (timeline.ts)
 *   POST /api/enrol-codes {store, name?} → 201 {code, expiresAt, store}
 *   POST /api/daemons/:daemonId/revoke   → {daemonId, revoked, alreadyRevoked}
 *   GET  /dashboard/app.js, /dashboard/app.css   (no data, no login needed)
 *
 * Everything but the login page and the two assets needs a user (session cookie) or the admin token:
 * pages redirect to /login, JSON answers 401. Cookies are SameSite=Strict, and a POST whose Origin is
 * another site is refused as well.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkPassword, LOGOUT_COOKIE, requireUser, sessionCookie, whoIs } from '../auth.js';
import { createEnrolCode, revokeDaemon } from '../credentials.js';
import { HubError } from '../errors.js';
import { readBody, readJson, sendJson } from '../http.js';
import type { HubContext, HubRoute } from '../server.js';
import { APP_CSS, APP_JS } from './assets.js';
import { fleetPage, loginPage, notFoundPage, timelinePage } from './render.js';
import { fleetSnapshot, resolveOptions, type DashboardOptions, type ResolvedOptions } from './snapshot.js';
import { fleetStream } from './stream.js';
import { paymentTimeline } from './timeline.js';

export type { DashboardOptions } from './snapshot.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
};

function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...PAGE_HEADERS, ...headers });
  res.end(html);
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', ...headers });
  res.end();
}

/** Where to go after logging in: a path on this hub only (never `//host` or a URL). */
export function safeNext(v: unknown): string {
  if (typeof v !== 'string' || v.length > 512 || !/^\/(?![/\\])[\x21-\x7e]*$/.test(v)) return '/';
  return v.startsWith('/login') || v.startsWith('/logout') ? '/' : v;
}

const wantsJson = (req: IncomingMessage): boolean =>
  /json/.test(req.headers['content-type'] ?? '') ||
  (/application\/json/.test(req.headers.accept ?? '') && !/text\/html/.test(req.headers.accept ?? ''));

/**
 * A browser POST from anything but this hub's own pages (SameSite=Strict already keeps the cookie out;
 * this also covers the login form and other sites on the same host, e.g. a daemon's port). Browsers
 * say where a request comes from in Sec-Fetch-Site; older ones in Origin. Scripts send neither.
 */
function crossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true; // "null": a sandboxed frame or a privacy-stripped origin
  }
}

/** Answers 403 (the route is handled: true). */
function forbidden(res: ServerResponse): true {
  sendJson(res, 403, {
    error: { code: 'forbidden', message: 'a request from another site', path: 'origin' },
  });
  return true;
}

/** Answers 405 (the route is handled: true). */
function methodNotAllowed(res: ServerResponse, allow: string): true {
  sendJson(res, 405, { error: { code: 'method_not_allowed', message: `use ${allow}` } }, { allow });
  return true;
}

function decode(s: string, path: string): string {
  try {
    const v = decodeURIComponent(s);
    if (v.length === 0 || v.length > 100) throw new Error('length');
    return v;
  } catch {
    throw new HubError('bad_request', `${path}: an id`, path);
  }
}

async function readForm(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (/json/.test(req.headers['content-type'] ?? '')) {
    const body = await readJson(req, 16 * 1024);
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new HubError('bad_request', 'body: a JSON object', 'body');
    return body as Record<string, unknown>;
  }
  const text = (await readBody(req, 16 * 1024)).toString('utf8');
  return Object.fromEntries(new URLSearchParams(text));
}

export function dashboardRoutes(options: DashboardOptions = {}): HubRoute[] {
  const opts: ResolvedOptions = resolveOptions(options);

  /** The user for a page, or a redirect to the login page (then undefined). */
  async function pageUser(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    ctx: HubContext,
  ): Promise<string | undefined> {
    const who = await whoIs(ctx.db, req);
    if (!who) redirect(res, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
    return who;
  }

  async function login(req: IncomingMessage, res: ServerResponse, ctx: HubContext): Promise<void> {
    const json = /json/.test(req.headers['content-type'] ?? '');
    const form = await readForm(req);
    const name = typeof form['name'] === 'string' ? form['name'].trim() : '';
    const password = typeof form['password'] === 'string' ? form['password'] : '';
    const next = safeNext(form['next']);
    const ok =
      name.length > 0 &&
      name.length <= 64 &&
      password.length > 0 &&
      (await checkPassword(ctx.db, name, password));
    if (!ok) {
      ctx.log?.warn({ user: name.slice(0, 64) }, 'dashboard login refused');
      if (json)
        sendJson(res, 401, {
          error: { code: 'unauthorized', message: 'wrong name or password', path: 'password' },
        });
      else sendHtml(res, 401, loginPage({ next, name, error: 'Wrong name or password.' }));
      return;
    }
    const cookie = await sessionCookie(ctx.db, name);
    ctx.log?.info({ user: name }, 'dashboard login');
    if (json) sendJson(res, 200, { user: name }, { 'set-cookie': cookie });
    else redirect(res, next, { 'set-cookie': cookie });
  }

  const route: HubRoute = async (req, res, url, ctx) => {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const get = method === 'GET' || method === 'HEAD';
    const post = method === 'POST';

    // -------------------------------------------------------------- no login needed
    if (path === '/dashboard/app.js' || path === '/dashboard/app.css') {
      if (!get) return methodNotAllowed(res, 'GET');
      const js = path.endsWith('.js');
      res.writeHead(200, {
        'content-type': js ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      });
      res.end(js ? APP_JS : APP_CSS);
      return true;
    }
    if (path === '/login') {
      if (get) {
        const next = safeNext(url.searchParams.get('next'));
        if (await whoIs(ctx.db, req)) redirect(res, next);
        else sendHtml(res, 200, loginPage({ next }));
        return true;
      }
      if (!post) return methodNotAllowed(res, 'GET, POST');
      if (crossSite(req)) return forbidden(res);
      await login(req, res, ctx);
      return true;
    }
    if (path === '/logout') {
      if (!post) return methodNotAllowed(res, 'POST');
      if (crossSite(req)) return forbidden(res);
      if (wantsJson(req)) sendJson(res, 200, { ok: true }, { 'set-cookie': LOGOUT_COOKIE });
      else redirect(res, '/login', { 'set-cookie': LOGOUT_COOKIE });
      return true;
    }

    // -------------------------------------------------------------- pages
    if (path === '/') {
      if (!get) return methodNotAllowed(res, 'GET');
      const user = await pageUser(req, res, url, ctx);
      if (user) sendHtml(res, 200, fleetPage(await fleetSnapshot(ctx.db, opts), user));
      return true;
    }
    let m = /^\/payments\/([^/]+)\/([^/]+)$/.exec(path);
    if (m) {
      if (!get) return methodNotAllowed(res, 'GET');
      const user = await pageUser(req, res, url, ctx);
      if (!user) return true;
      const daemonId = decode(m[1]!, 'daemonId');
      const paymentId = decode(m[2]!, 'paymentId');
      const t = await paymentTimeline(ctx.db, daemonId, paymentId);
      if (t) sendHtml(res, 200, timelinePage(t, daemonId, paymentId, user, opts.timeZone));
      else
        sendHtml(
          res,
          404,
          notFoundPage(`The hub holds no payment ${paymentId} of laptop ${daemonId}.`, user),
        );
      return true;
    }

    // -------------------------------------------------------------- JSON
    if (path === '/api/fleet') {
      if (!get) return methodNotAllowed(res, 'GET');
      await requireUser(ctx.db, req);
      sendJson(res, 200, await fleetSnapshot(ctx.db, opts));
      return true;
    }
    if (path === '/api/stream') {
      if (!get) return methodNotAllowed(res, 'GET');
      await requireUser(ctx.db, req);
      fleetStream(req, res, ctx, opts);
      return true;
    }
    m = /^\/api\/payments\/([^/]+)\/([^/]+)$/.exec(path);
    if (m) {
      if (!get) return methodNotAllowed(res, 'GET');
      await requireUser(ctx.db, req);
      const daemonId = decode(m[1]!, 'daemonId');
      const paymentId = decode(m[2]!, 'paymentId');
      const t = await paymentTimeline(ctx.db, daemonId, paymentId);
      if (!t)
        throw new HubError(
          'not_found',
          `no payment ${paymentId} of laptop ${daemonId} at the hub`,
          'paymentId',
        );
      sendJson(res, 200, t);
      return true;
    }
    if (path === '/api/enrol-codes') {
      if (!post) return methodNotAllowed(res, 'POST');
      if (crossSite(req)) return forbidden(res);
      const user = await requireUser(ctx.db, req);
      const body = await readForm(req);
      const store = typeof body['store'] === 'string' ? body['store'].trim() : '';
      if (!store || store.length > 100)
        throw new HubError('bad_request', 'store: 1 to 100 characters', 'store');
      const name = body['name'] === undefined || body['name'] === '' ? undefined : body['name'];
      if (name !== undefined && (typeof name !== 'string' || name.length > 100))
        throw new HubError('bad_request', 'name: at most 100 characters', 'name');
      const made = await createEnrolCode(ctx.db, { store, ...(name ? { name: name.trim() } : {}) });
      ctx.log?.info({ user, store }, 'enrolment code made');
      sendJson(res, 201, { ...made, store, ...(name ? { name: name.trim() } : {}) });
      return true;
    }
    m = /^\/api\/daemons\/([^/]+)\/revoke$/.exec(path);
    if (m) {
      if (!post) return methodNotAllowed(res, 'POST');
      if (crossSite(req)) return forbidden(res);
      const user = await requireUser(ctx.db, req);
      const daemonId = decode(m[1]!, 'daemonId');
      const [known] = await ctx.db.query('SELECT 1 FROM hub_daemons WHERE id = $1', [daemonId]);
      if (!known) throw new HubError('not_found', `no laptop ${daemonId}`, 'daemonId');
      const changed = await revokeDaemon(ctx.db, daemonId);
      if (changed) ctx.log?.info({ user, daemonId }, 'daemon revoked');
      sendJson(res, 200, { daemonId, revoked: true, alreadyRevoked: !changed });
      return true;
    }
    return false;
  };
  return [route];
}
