/** Shared set-up for the QR tests: one simulator, a notification receiver, adapters wired to both. */
import { alipayFor as simAlipayFor, wechatFor as simWechatFor } from '../../simulators/qr/providers.js';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlipayProvider, WechatProvider, type QrResult } from '../../src/qr/index.js';
import { startQrSimulator, type QrSimulator } from '../../simulators/qr/index.js';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface NotifyReceiver {
  url: string;
  received: Received[];
  /** what the receiver answers Alipay ("success") / WeChat (204) */
  answer: { alipay: string; wechatStatus: number };
  waitFor(n: number, ms?: number): Promise<Received[]>;
  close(): Promise<void>;
}

const flat = (h: IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
};

export async function startReceiver(): Promise<NotifyReceiver> {
  const received: Received[] = [];
  const answer = { alipay: 'success', wechatStatus: 204 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        path: req.url ?? '/',
        headers: flat(req.headers),
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(r);
      if (r.headers['wechatpay-signature']) res.writeHead(answer.wechatStatus).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(answer.alipay);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  return {
    url,
    received,
    answer,
    async waitFor(n: number, ms = 3000): Promise<Received[]> {
      const end = Date.now() + ms;
      while (received.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function alipayFor(
  sim: QrSimulator,
  extra: Partial<ConstructorParameters<typeof AlipayProvider>[0]> = {},
): AlipayProvider {
  return simAlipayFor(sim, { notifyUrl: 'http://127.0.0.1:9/alipay-notify', timeoutMs: 2000, ...extra });
}

export function wechatFor(
  sim: QrSimulator,
  extra: Partial<ConstructorParameters<typeof WechatProvider>[0]> = {},
): WechatProvider {
  return simWechatFor(sim, { notifyUrl: 'http://127.0.0.1:9/wechat-notify', timeoutMs: 2000, ...extra });
}

export async function startRig(): Promise<{
  sim: QrSimulator;
  receiver: NotifyReceiver;
  close(): Promise<void>;
}> {
  const receiver = await startReceiver();
  const sim = await startQrSimulator({ notifyUrl: receiver.url, notifyRetryDelayMs: 20 });
  return {
    sim,
    receiver,
    async close() {
      await sim.close();
      await receiver.close();
    },
  };
}

let n = 0;
/** A fresh out_trade_no (letters and digits: valid for both providers). */
export function orderNo(prefix = 'T'): string {
  n++;
  return `${prefix}${Date.now().toString(36)}${n.toString().padStart(4, '0')}`;
}

export function value<T>(r: QrResult<T>): T {
  if (r.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.value;
}

export const inAMinute = (m = 10): Date => new Date(Date.now() + m * 60_000);

export async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Alipay payment codes start 25..30; WeChat 10..15, 18 digits. Suffix 0051: no money; 0014: invalid. */
export const ALIPAY_CODE = '280000000000001234';
export const WECHAT_CODE = '134567890123451234';
