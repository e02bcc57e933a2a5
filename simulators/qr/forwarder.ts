/**
 * A CRM backend's notification forwarder, as a deployment writes it (docs/qr.md "Notifications"): it
 * receives the provider's asynchronous notification and POSTs it to the daemon's `/qr/notify/<provider>`
 * with the daemon's token, the body exactly as received and the provider's signature headers; the
 * daemon's answer (Alipay `success`, WeChat Pay 204) goes back to the provider, whose notifications are
 * retried until accepted. The demo, the daemon's tests and the QR chaos lane use it between the gateway
 * simulator and the daemon (the simulator's notify URL points here).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type NotifyProvider = 'alipay' | 'wechat';

/** Which provider sent it: WeChat Pay v3 notifications carry Wechatpay-* signature headers, Alipay's none. */
export function notificationProvider(headers: IncomingMessage['headers']): NotifyProvider {
  return headers['wechatpay-signature'] !== undefined ? 'wechat' : 'alipay';
}

/** The headers that go with the body: its type and the provider's signature headers. */
export function forwardedHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (typeof v !== 'string') continue;
    if (name === 'content-type' || name.startsWith('wechatpay-')) out[name] = v;
  }
  return out;
}

export interface ForwardResult {
  status: number;
  contentType: string | undefined;
  body: Buffer;
  /** The daemon's `posbridge-notification` header: resolving, already_final or unknown_trade. */
  outcome: string | undefined;
}

/** POSTs one notification to the daemon at `daemonUrl` (http://127.0.0.1:<port>); rejects when unreachable. */
export async function forwardQrNotification(o: {
  daemonUrl: string;
  token: string;
  provider: NotifyProvider;
  headers: Record<string, string>;
  body: Buffer | string;
  timeoutMs?: number;
}): Promise<ForwardResult> {
  const res = await fetch(`${o.daemonUrl}/qr/notify/${o.provider}`, {
    method: 'POST',
    headers: { ...o.headers, authorization: `Bearer ${o.token}` },
    body: o.body,
    signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
  });
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? undefined,
    body: Buffer.from(await res.arrayBuffer()),
    outcome: res.headers.get('posbridge-notification') ?? undefined,
  };
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Receives a notification on `req` and forwards it (`target()` names the daemon now; undefined or
 * unreachable: 502, so the provider tries again later). Answers the provider with the daemon's answer.
 */
export async function relayQrNotification(
  req: IncomingMessage,
  res: ServerResponse,
  target: () => { url: string; token: string } | undefined,
  record?: (r: ForwardRecord) => void,
): Promise<void> {
  const body = await readRaw(req);
  const provider = notificationProvider(req.headers);
  const t = target();
  let r: ForwardResult | undefined;
  try {
    if (t)
      r = await forwardQrNotification({
        daemonUrl: t.url,
        token: t.token,
        provider,
        headers: forwardedHeaders(req.headers),
        body,
      });
  } catch {
    r = undefined;
  }
  record?.({
    provider,
    status: r?.status ?? 502,
    ...(r?.outcome ? { outcome: r.outcome } : {}),
    at: new Date().toISOString(),
  });
  if (!r) {
    res.writeHead(502, { 'content-type': 'text/plain' }).end('daemon unreachable');
    return;
  }
  res.writeHead(r.status, r.contentType ? { 'content-type': r.contentType } : {}).end(r.body);
}

export interface ForwardRecord {
  provider: NotifyProvider;
  /** the daemon's status (502: not reachable) */
  status: number;
  outcome?: string;
  at: string;
}

export interface QrForwarder {
  port: number;
  /** http://127.0.0.1:<port>/ : the simulator's notify URL */
  url: string;
  records: ForwardRecord[];
  close(): Promise<void>;
}

/** A stand-alone forwarder on loopback (tests, the chaos lane): every POST is a notification. */
export async function startQrForwarder(
  target: () => { url: string; token: string } | undefined,
  port = 0,
): Promise<QrForwarder> {
  const records: ForwardRecord[] = [];
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    relayQrNotification(req, res, target, (r) => records.push(r)).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/`,
    records,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
