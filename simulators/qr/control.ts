/**
 * The QR provider simulator's control API: loopback HTTP + JSON, for QA, tests and the demo.
 *
 *   GET  /health              ports, ids
 *   GET  /credentials         public test credentials: ids, serials, public keys (PEM); never private keys
 *   GET  /behaviour           the current behaviour
 *   POST /behaviour           merge a partial behaviour (validated; unknown key → 400 naming it) → the whole
 *   POST /reset               default behaviour, empty ledgers → 204
 *   POST /scan                the customer: { "outTradeNo" | "qrContent", "action": "pay" | "cancel" |
 *                             "expire" | "userpaying_then_pay", "provider"?: "alipay" | "wechat" } → the trade
 *   POST /notify-url          { "url": "http://127.0.0.1:…/notify" | null }: where notifications go → 204
 *   GET  /trades[?provider=]  the trades;  GET /refunds[?provider=]  the refunds;  GET /events  the event log
 *   GET  /notifications       notifications sent (event, target, attempts, delivered)
 *   GET  /bills/<alipay|wechat>/<YYYY-MM-DD>   the bill file (Alipay ZIP, WeChat CSV); 404 when empty
 *
 * Errors: `{ "error": { "code": "...", "message": "..." } }` with 400, 404, 405 or 409.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { HttpError, readJsonBody, send } from '../shared/control-http.js';
import { QrBehaviourError } from './behaviour.js';
import { SCAN_ACTIONS, ScanError, type ScanAction } from './core.js';
import type { SimProvider } from './ledger.js';
import type { QrSimulator } from './handle.js';

export interface QrControlApi {
  port: number;
  close(): Promise<void>;
}

function provider(v: unknown, path: string): SimProvider | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (v !== 'alipay' && v !== 'wechat')
    throw new HttpError(400, 'bad_request', `${path} must be alipay or wechat`);
  return v;
}

export async function startQrControlApi(
  port: number,
  host: string,
  sim: QrSimulator,
  log?: Logger,
): Promise<QrControlApi> {
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const only = (m: string): void => {
      if (method !== m) throw new HttpError(405, 'method_not_allowed', `${path} takes ${m}`);
    };
    const bill = /^\/bills\/([a-z]+)\/(\d{4}-\d{2}-\d{2})$/.exec(path);
    if (bill) {
      only('GET');
      const p = provider(bill[1], 'provider');
      const body = sim.bill(p!, bill[2]!);
      if (!body) throw new HttpError(404, 'no_bill', 'no business on that day');
      res
        .writeHead(200, {
          'content-type': p === 'alipay' ? 'application/zip' : 'text/csv; charset=utf-8',
          'content-length': body.length,
        })
        .end(body);
      return;
    }
    switch (path) {
      case '/health':
        only('GET');
        return send(res, 200, {
          ok: true,
          http: sim.port,
          control: sim.controlPort ?? null,
          alipay: { appId: sim.alipay.appId, gatewayUrl: sim.alipay.gatewayUrl },
          wechat: { mchid: sim.wechat.mchid, appid: sim.wechat.appid, baseUrl: sim.wechat.baseUrl },
        });
      case '/credentials':
        only('GET');
        return send(res, 200, sim.publicCredentials());
      case '/behaviour':
        if (method === 'GET') return send(res, 200, sim.behaviour);
        if (method === 'POST' || method === 'PATCH' || method === 'PUT') {
          const body = await readJsonBody(req, 65536);
          try {
            return send(res, 200, sim.setBehaviour(body ?? {}));
          } catch (e) {
            if (e instanceof QrBehaviourError) throw new HttpError(400, 'bad_behaviour', e.message);
            throw e;
          }
        }
        throw new HttpError(405, 'method_not_allowed', '/behaviour takes GET or POST');
      case '/reset':
        only('POST');
        sim.reset();
        return send(res, 204);
      case '/scan': {
        only('POST');
        const b = (await readJsonBody(req, 65536)) as Record<string, unknown> | undefined;
        if (!b || typeof b !== 'object')
          throw new HttpError(400, 'bad_request', 'body must be a JSON object');
        for (const k of Object.keys(b))
          if (!['outTradeNo', 'qrContent', 'action', 'provider'].includes(k))
            throw new HttpError(400, 'bad_request', `$.${k}: unknown field`);
        const action = b['action'];
        if (!SCAN_ACTIONS.includes(action as ScanAction))
          throw new HttpError(400, 'bad_request', `$.action must be one of ${SCAN_ACTIONS.join(', ')}`);
        const outTradeNo = typeof b['outTradeNo'] === 'string' ? b['outTradeNo'] : undefined;
        const qrContent = typeof b['qrContent'] === 'string' ? b['qrContent'] : undefined;
        if (!outTradeNo === !qrContent)
          throw new HttpError(400, 'bad_request', 'give exactly one of $.outTradeNo and $.qrContent');
        const p = provider(b['provider'], '$.provider');
        try {
          const ref: { outTradeNo?: string; qrContent?: string; provider?: SimProvider } = {};
          if (outTradeNo) ref.outTradeNo = outTradeNo;
          if (qrContent) ref.qrContent = qrContent;
          if (p) ref.provider = p;
          return send(res, 200, sim.scan(ref, action as ScanAction));
        } catch (e) {
          if (e instanceof ScanError) throw new HttpError(e.status, e.code, e.message);
          throw e;
        }
      }
      case '/notify-url': {
        only('POST');
        const b = (await readJsonBody(req, 4096)) as { url?: unknown } | undefined;
        const u = b?.url;
        if (u !== null && (typeof u !== 'string' || !/^https?:\/\//.test(u)))
          throw new HttpError(400, 'bad_request', '$.url must be an http(s) URL or null');
        sim.setNotifyUrl(u ?? undefined);
        return send(res, 204);
      }
      case '/trades':
        only('GET');
        return send(res, 200, sim.trades(provider(url.searchParams.get('provider'), 'provider')));
      case '/refunds':
        only('GET');
        return send(res, 200, sim.refunds(provider(url.searchParams.get('provider'), 'provider')));
      case '/events':
        only('GET');
        return send(res, 200, sim.events());
      case '/notifications':
        only('GET');
        return send(res, 200, sim.notifications());
      default:
        throw new HttpError(404, 'not_found', `no ${path}`);
    }
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return send(res, e.status, { error: { code: e.code, message: e.message } });
      log?.error({ err: e }, 'qr control API failed');
      send(res, 500, { error: { code: 'internal', message: 'internal error' } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
