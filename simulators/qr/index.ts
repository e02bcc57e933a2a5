/**
 * The scan-to-pay provider simulator, in process: one HTTP server speaking both gateways with real
 * signatures (Alipay `POST /gateway.do` + `GET /alipay/bills/<token>.zip`; WeChat Pay `/v3/...` and the v2
 * payment-code paths `/pay/micropay`, `/pay/orderquery`, `/secapi/pay/reverse`), ledgers per provider,
 * notifications to a notify URL, faults, and a loopback control API (control.ts).
 *
 * Keys are TEST-ONLY: generated at start unless given (keys.ts). The handle hands the merchant-side test
 * keys to whoever builds the adapters (tests, the demo).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { AlipayGateway } from './alipay-gateway.js';
import { DEFAULT_QR_BEHAVIOUR, cloneBehaviour, parseQrBehaviour, type QrBehaviour } from './behaviour.js';
import { QrSimCore, type GatewayReply } from './core.js';
import { startQrControlApi, type QrControlApi } from './control.js';
import { generateQrCredentials, type QrSimCredentials } from './keys.js';
import { WechatGateway } from './wechat-gateway.js';

export { DEFAULT_QR_BEHAVIOUR, QR_SIM_APIS, parseQrBehaviour, QrBehaviourError } from './behaviour.js';
export type { QrBehaviour, CountedFault, QrSimApi } from './behaviour.js';
export type { SimTrade, SimRefund, SimEvent, SimProvider } from './ledger.js';
export type { NotificationRecord } from './notify.js';
export type { ScanAction } from './core.js';
export { SCAN_ACTIONS } from './core.js';
export {
  generateQrCredentials,
  readQrCredentials,
  writeQrCredentials,
  loadOrCreateQrCredentials,
} from './keys.js';
export type { QrSimCredentials } from './keys.js';

import type { QrSimulator } from './handle.js';
export type { QrSimulator } from './handle.js';

export interface StartQrSimulatorOptions {
  /** gateway HTTP port, default 0 (a free one) */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** control API, default { port: 0 } on the same host; false: none */
  control?: { port?: number } | false;
  /** ids; keys are taken from `credentials` when given, else generated (test-only) */
  alipay?: { appId?: string };
  wechat?: { mchid?: string; appid?: string };
  credentials?: QrSimCredentials;
  /** where notifications go; default: the notify_url of each request */
  notifyUrl?: string;
  /** notification re-deliveries after the first attempt, default 3; delay between them, default 200 ms */
  notifyRetries?: number;
  notifyRetryDelayMs?: number;
  /** initial behaviour (validated) */
  behaviour?: Record<string, unknown>;
  log?: Logger;
  logLevel?: string;
  now?: () => Date;
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startQrSimulator(o: StartQrSimulatorOptions = {}): Promise<QrSimulator> {
  const log = o.log ?? pino({ level: o.logLevel ?? 'silent' }, pino.destination(2));
  const credentials =
    o.credentials ??
    (await generateQrCredentials({
      ...(o.alipay?.appId ? { appId: o.alipay.appId } : {}),
      ...(o.wechat?.mchid ? { mchid: o.wechat.mchid } : {}),
      ...(o.wechat?.appid ? { appid: o.wechat.appid } : {}),
    }));
  const initial: QrBehaviour = {
    ...cloneBehaviour(DEFAULT_QR_BEHAVIOUR),
    ...parseQrBehaviour(o.behaviour ?? {}),
  };
  const core = new QrSimCore(
    credentials,
    initial,
    {
      ...(o.notifyUrl ? { notifyUrl: o.notifyUrl } : {}),
      retries: o.notifyRetries ?? 3,
      retryDelayMs: o.notifyRetryDelayMs ?? 200,
      log,
      now: o.now ?? (() => new Date()),
    },
    log,
  );
  const alipay = new AlipayGateway(core);
  const wechat = new WechatGateway(core);

  const answer = (req: IncomingMessage, res: ServerResponse, r: GatewayReply): void => {
    if (r.lose) {
      log.info({ api: r.api }, 'qr sim: answer dropped (loseAnswer)');
      req.socket.destroy();
      return;
    }
    const body = Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
    res.writeHead(r.status, { ...r.headers, 'content-length': body.length }).end(body);
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const url = new URL(raw, 'http://sim');
    const method = req.method ?? 'GET';
    const body = method === 'POST' ? await readBody(req, 1024 * 1024) : '';
    if (url.pathname === '/gateway.do' && method === 'POST')
      return answer(req, res, alipay.handle(url.searchParams, body, req.headers['content-type'] ?? ''));
    const billMatch = /^\/alipay\/bills\/([0-9a-f]+)\.zip$/.exec(url.pathname);
    if (billMatch && method === 'GET') {
      const file = alipay.billFile(billMatch[1]!);
      if (!file)
        return answer(req, res, {
          status: 404,
          headers: { 'content-type': 'text/plain' },
          body: 'no such bill',
        });
      return answer(req, res, { status: 200, headers: { 'content-type': 'application/zip' }, body: file });
    }
    if (url.pathname.startsWith('/v3/')) {
      const r = wechat.handleV3(method, raw, req.headers['authorization'], body);
      if (r) return answer(req, res, r);
    }
    if (method === 'POST') {
      const r = wechat.handleV2(url.pathname, body);
      if (r) return answer(req, res, r);
    }
    answer(req, res, { status: 404, headers: { 'content-type': 'text/plain' }, body: `no ${url.pathname}` });
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      log.error({ err: e }, 'qr sim gateway failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
    });
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  core.baseUrl = base;

  const c = credentials;
  const sim: QrSimulator = {
    port,
    controlPort: undefined,
    url: base,
    alipay: {
      gatewayUrl: `${base}/gateway.do`,
      appId: c.alipay.appId,
      alipayPublicKey: c.alipay.alipayPublicKey,
      appPrivateKey: c.alipay.appPrivateKey,
    },
    wechat: {
      baseUrl: base,
      mchid: c.wechat.mchid,
      appid: c.wechat.appid,
      platformSerialNo: c.wechat.platformSerialNo,
      platformPublicKey: c.wechat.platformPublicKey,
      merchantPrivateKey: c.wechat.merchantPrivateKey,
      merchantSerialNo: c.wechat.merchantSerialNo,
      apiV3Key: c.wechat.apiV3Key,
      apiV2Key: c.wechat.apiV2Key,
    },
    credentials: c,
    get behaviour() {
      return cloneBehaviour(core.behaviour);
    },
    setBehaviour(raw: unknown): QrBehaviour {
      const patch = parseQrBehaviour(raw);
      core.behaviour = { ...core.behaviour, ...patch };
      return cloneBehaviour(core.behaviour);
    },
    reset(): void {
      core.reset(initial);
    },
    scan: (ref, action) => core.scan(ref, action),
    setNotifyUrl(u: string | undefined): void {
      core.notifyUrl = u;
    },
    trades: (p) => core.ledger.trades(p),
    refunds: (p) => core.ledger.refunds(p),
    events: () => core.ledger.events(),
    notifications: () => core.notifier.records.map((r) => ({ ...r })),
    bill: (p, date) => (p === 'alipay' ? alipay.billFor(date) : wechat.billFor(date)),
    publicCredentials: () => {
      const pem = (k: KeyObject): string => k.export({ type: 'spki', format: 'pem' }) as string;
      return {
        testOnly: true,
        alipay: {
          appId: c.alipay.appId,
          gatewayUrl: `${base}/gateway.do`,
          alipayPublicKey: pem(c.alipay.alipayPublicKey),
        },
        wechat: {
          mchid: c.wechat.mchid,
          appid: c.wechat.appid,
          baseUrl: base,
          merchantSerialNo: c.wechat.merchantSerialNo,
          platformSerialNo: c.wechat.platformSerialNo,
          platformPublicKey: pem(c.wechat.platformPublicKey),
        },
      };
    },
    async close(): Promise<void> {
      core.close();
      await control?.close();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
  let control: QrControlApi | undefined;
  if (o.control !== false) {
    control = await startQrControlApi(o.control?.port ?? 0, host, sim, log);
    sim.controlPort = control.port;
  }
  return sim;
}
