/**
 * Scan-to-pay notifications forwarded to the daemon (docs/qr.md "Notifications"). The providers send
 * their asynchronous notifications to the deployment's CRM backend (the `notifyUrl` of the
 * configuration); the backend forwards each one here, the body exactly as received and the provider's
 * signature headers:
 *
 *   POST /qr/notify/alipay   Alipay trade_status_sync (form-encoded, signed RSA2)     → 200 `success`
 *   POST /qr/notify/wechat   WeChat Pay v3 (JSON, Wechatpay-* headers, AES-GCM body)  → 204
 *
 * Authenticated like the API: loopback Host, `Authorization: Bearer <token>` (the token file's token,
 * or a paired page's token from its own Origin), an Origin (when sent) on the allowlist; CORS for those
 * origins so a CRM page may relay it. The adapter verifies the signature (a bad one is a 400, logged
 * without the body, headers or signature, and changes nothing); the engine then treats the verified
 * notification as a trigger: the operations of that trade ask the provider at once. Duplicates, and
 * notifications of final or unknown trades, are acknowledged and change nothing.
 */
import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { TokenCheck } from '../api/index.js';
import type { QrMethod } from '../qr/index.js';
import type { Daemon, Route } from './daemon-types.js';

/** Notifications are small (a few KiB); anything larger is not one. */
const MAX_BODY = 64 * 1024;
const PATH = /^\/qr\/notify\/(alipay|wechat)$/;
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];
/** The headers a relaying page sends (the signature headers WeChat Pay's verification needs). */
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'wechatpay-timestamp',
  'wechatpay-nonce',
  'wechatpay-signature',
  'wechatpay-serial',
  'wechatpay-signature-type',
].join(', ');

export type QrNotifyErrorCode =
  | 'unauthorized'
  | 'forbidden_origin'
  | 'unknown_provider'
  | 'not_configured'
  | 'body_too_large'
  | 'bad_signature'
  | 'invalid_notification';

const normaliseOrigin = (o: string): string => o.trim().toLowerCase().replace(/\/+$/, '');

function fail(
  res: http.ServerResponse,
  status: number,
  code: QrNotifyErrorCode,
  message: string,
  extra: Record<string, string> = {},
): void {
  res
    .writeHead(status, { 'content-type': 'application/json', ...extra })
    .end(JSON.stringify({ error: { code, message } }));
}

/** The allowed Origin of the request (CORS headers go back to it), '' when it sent none, else undefined. */
function originOf(req: http.IncomingMessage, d: Daemon): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return '';
  const allowed = d.config.allowedOrigins.map(normaliseOrigin);
  return allowed.includes(normaliseOrigin(origin)) ? origin : undefined;
}

function corsHeaders(origin: string): Record<string, string> {
  return origin ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {};
}

/**
 * The API's checks for a notification request: loopback Host, an allowed Origin when one is sent, and a
 * Bearer token: the token file's (from anywhere allowed) or a paired page's (only from its Origin).
 */
async function authorised(req: http.IncomingMessage, d: Daemon, origin: string): Promise<boolean> {
  const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
  if (!LOOPBACK_HOSTS.includes(host)) return false;
  const auth = String(req.headers.authorization ?? '');
  if (!auth.startsWith('Bearer ')) return false;
  const token = auth.slice(7);
  const got = Buffer.from(token);
  const want = Buffer.from(d.token);
  if (got.length === want.length && timingSafeEqual(got, want)) return true;
  if (!origin) return false; // a paired token is bound to its page's Origin
  let paired: TokenCheck = { ok: false };
  try {
    paired = await d.pairing.verify(token);
  } catch {
    // the token store failed: not authorised
  }
  return paired.ok && paired.origin === normaliseOrigin(origin);
}

/** The body as the exact text received (signatures cover it byte for byte); undefined when too large. */
async function readText(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The request's headers as single strings (the adapters look names up case-insensitively). */
function flatHeaders(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && v.length) out[k] = v[0]!;
  return out;
}

async function notify(req: http.IncomingMessage, res: http.ServerResponse, d: Daemon): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const log = d.logger.child({ component: 'qr-notify' });
  const origin = originOf(req, d);
  if (origin === undefined) {
    log.warn({ path }, 'qr notification refused: Origin not allowed');
    return fail(res, 403, 'forbidden_origin', 'this Origin is not allowed');
  }
  const cors = corsHeaders(origin);
  if (!(await authorised(req, d, origin))) {
    log.warn({ path }, 'qr notification refused: not authorised');
    return fail(res, 401, 'unauthorized', 'a valid Bearer token is required', cors);
  }
  const m = PATH.exec(path);
  if (!m) return fail(res, 404, 'unknown_provider', 'POST /qr/notify/alipay or /qr/notify/wechat', cors);
  const method = m[1] as QrMethod;
  const provider = d.engine.qrProvider(method);
  if (!provider) return fail(res, 404, 'not_configured', `${method} is not configured on this desk`, cors);
  const body = await readText(req);
  if (body === undefined) {
    log.warn({ provider: method }, 'qr notification refused: body too large');
    return fail(res, 413, 'body_too_large', `a notification is at most ${MAX_BODY} bytes`, cors);
  }
  const v = provider.verifyNotification(flatHeaders(req), body);
  if (v.status !== 'ok') {
    // Never the body, the headers or the signature: only what kind of refusal it was.
    const code: QrNotifyErrorCode =
      v.status === 'unknown' && v.reason === 'bad_signature' ? 'bad_signature' : 'invalid_notification';
    log.warn(
      { provider: method, error: code, ...(v.status === 'rejected' ? { reason: v.code } : {}) },
      'qr notification refused',
    );
    return fail(
      res,
      400,
      code,
      code === 'bad_signature'
        ? 'the notification signature does not verify'
        : `the notification is not one this desk takes${v.status === 'rejected' ? ` (${v.message})` : ''}`,
      cors,
    );
  }
  const r = d.engine.qrNotification(method, v.value);
  log.info(
    {
      provider: method,
      outTradeNo: v.value.outTradeNo,
      state: v.value.state,
      outcome: r.outcome,
      ...(r.operationIds.length ? { paymentIds: r.operationIds } : {}),
    },
    'qr notification',
  );
  // What each provider expects of an accepted notification (the forwarder passes it on).
  const headers = { ...cors, 'posbridge-notification': r.outcome };
  if (method === 'alipay') res.writeHead(200, { ...headers, 'content-type': 'text/plain' }).end('success');
  else res.writeHead(204, headers).end();
}

/** CORS preflight of a page that relays notifications: allowed Origins only. */
function preflight(req: http.IncomingMessage, res: http.ServerResponse, d: Daemon): void {
  const origin = originOf(req, d);
  if (!origin) return fail(res, 403, 'forbidden_origin', 'this Origin is not allowed');
  res
    .writeHead(204, {
      ...corsHeaders(origin),
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': ALLOWED_HEADERS,
      'access-control-max-age': '600',
      // Chrome's private-network preflight (a public page reaching loopback) asks for this.
      ...(req.headers['access-control-request-private-network'] === 'true'
        ? { 'access-control-allow-private-network': 'true' }
        : {}),
    })
    .end();
}

/** The notification routes of the daemon (added by `createDaemon`). */
export function qrNotifyRoutes(): Route[] {
  return [
    { method: 'POST', path: '/qr/notify/*', handler: notify },
    { method: 'OPTIONS', path: '/qr/notify/*', handler: preflight },
  ];
}
