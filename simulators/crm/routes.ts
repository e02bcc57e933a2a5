/**
 * The demo CRM page as routes on the daemon's own server (only `posbridge-sim demo` adds them):
 *
 *   GET /                 index.html
 *   GET /crm/<file>       the page's ESM JavaScript and CSS (simulators/crm/, served as they are)
 *   GET /client/<file>.js the typed client, @posbridge/client's ESM build (packages/client/dist/esm/; `npm run build`)
 *   GET /element         element.html: the <posbridge-pay> web component on its own, with a demo order
 *   GET /client-browser/<file>.js the client's browser bundles (packages/client/dist/browser/: posbridge-pay.js)
 *   GET /demo/token       the daemon's token, for this page only (see demoTokenRoute)
 *   GET /demo/qr.svg?text= a QR code of `text` as SVG (scan-to-pay: the page shows the payment's qrContent)
 *
 * The page's files are plain browser JavaScript, not compiled: they are read from the source folder
 * both under tsx and from dist/.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type http from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import QRCode from 'qrcode';
import type { Daemon, Route } from '../../src/daemon/daemon.js';

/** The package root: the first folder above this module that holds package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('posbridge demo: package.json not found above the CRM routes');
    dir = up;
  }
  return dir;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// The page talks to its own origin only (the WebSocket and the /sim proxies); receipts from the
// daemon are shown in a sandboxed srcdoc frame, which may carry inline styles.
const CSP =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
  "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function sendFile(res: http.ServerResponse, file: string): void {
  const body = readFileSync(file);
  res
    .writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': CSP,
      'referrer-policy': 'no-referrer',
    })
    .end(body);
}

function notFound(res: http.ServerResponse, message = 'not_found'): void {
  res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
}

/** Serves the files of one folder by bare name (no sub-folders, no dot files, known types only). */
function folder(prefix: string, dir: string, missing: string): Route {
  return {
    method: 'GET',
    path: `${prefix}*`,
    handler(req, res) {
      const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(prefix.length));
      if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || !TYPES[extname(name)]) return notFound(res);
      if (!existsSync(dir)) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end(missing);
        return;
      }
      if (!readdirSync(dir).includes(name)) return notFound(res);
      sendFile(res, join(dir, name));
    },
  };
}

/** The page, its scripts and styles, and the typed client. */
export function crmRoutes(): Route[] {
  const root = packageRoot();
  const pageDir = join(root, 'simulators', 'crm');
  const clientDir = join(root, 'packages', 'client', 'dist', 'esm');
  return [
    {
      method: 'GET',
      path: '/',
      handler(_req, res) {
        sendFile(res, join(pageDir, 'index.html'));
      },
    },
    folder('/crm/', pageDir, 'the demo page is missing'),
    folder('/client/', clientDir, 'the typed client is not built: run `npm run build`'),
    {
      method: 'GET',
      path: '/element',
      handler(_req, res) {
        sendFile(res, join(pageDir, 'element.html'));
      },
    },
    folder(
      '/client-browser/',
      join(root, 'packages', 'client', 'dist', 'browser'),
      'the browser bundles are not built: run `npm run build`',
    ),
    qrImageRoute(),
  ];
}

/** The longest text the QR route encodes (provider QR contents are short URLs). */
const QR_TEXT_MAX = 512;

/**
 * GET /demo/qr.svg?text=<qrContent>: the QR as an SVG image (the `qrcode` package, rendered here so the
 * page needs no bundle and the CSP stays `img-src 'self'`). It encodes what it is given and nothing
 * else: no secrets, no state.
 */
export function qrImageRoute(): Route {
  return {
    method: 'GET',
    path: '/demo/qr.svg',
    async handler(req, res) {
      const text = new URL(req.url ?? '/', 'http://x').searchParams.get('text') ?? '';
      if (!text || text.length > QR_TEXT_MAX) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad_text' }));
        return;
      }
      const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      const body = Buffer.from(svg, 'utf8');
      res
        .writeHead(200, {
          'content-type': TYPES['.svg']!,
          'content-length': body.length,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        })
        .end(body);
    },
  };
}

const LOOPBACK_PEERS = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Why a request for the demo token is refused, or undefined when it may have it: it must come from
 * this computer (peer loopback), name the daemon by a loopback Host with its port (no DNS rebinding),
 * and, when the browser says where it comes from, come from the page itself (Origin, Sec-Fetch-Site).
 * Cross-origin pages cannot read the answer anyway (no CORS headers); these checks also refuse them
 * and any page reached through another host name.
 */
export function demoTokenRefusal(req: http.IncomingMessage, port: number): string | undefined {
  if (!LOOPBACK_PEERS.has(req.socket.remoteAddress ?? '')) return 'peer is not loopback';
  const own = ['127.0.0.1', 'localhost', '[::1]'].map((h) => `${h}:${port}`);
  if (!own.includes(String(req.headers.host ?? '').toLowerCase())) return 'Host is not this daemon';
  const origin = req.headers.origin;
  if (origin !== undefined && !own.map((h) => `http://${h}`).includes(origin.toLowerCase()))
    return 'Origin is not the demo page';
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return 'not a same-origin request';
  return undefined;
}

/**
 * GET /demo/token: the daemon's token for the demo page, so the page works without pairing. Only
 * the demo composition adds this route; the daemon itself never serves its token. A real CRM page
 * pairs once (`session.pair`) and keeps its own per-origin token.
 */
export function demoTokenRoute(): Route {
  return {
    method: 'GET',
    path: '/demo/token',
    handler(req, res, daemon: Daemon) {
      const refused = demoTokenRefusal(req, daemon.port);
      if (refused) {
        daemon.logger.warn({ reason: refused }, 'demo token refused');
        res
          .writeHead(403, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'forbidden' }));
        return;
      }
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        })
        .end(JSON.stringify({ token: daemon.token, source: 'posbridge-sim demo' }));
    },
  };
}
