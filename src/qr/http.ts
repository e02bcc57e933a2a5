/**
 * One HTTP(S) exchange with a provider, classified for money: an error before the connection (and TLS
 * handshake) completed means the bytes never left (`not_sent`); anything after it (reset, timeout, a cut
 * answer) means the request may have taken effect (`unknown`). node:http / node:https only.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  /** client certificate for mutual TLS (WeChat Pay v2 /secapi/ endpoints) */
  clientCert?: { cert: string | Buffer; key: string | Buffer | import('node:crypto').KeyObject };
  /** largest answer accepted (bytes) */
  maxBytes?: number;
}

export type HttpOutcome =
  | { kind: 'response'; status: number; headers: Record<string, string>; body: Buffer }
  | { kind: 'not_sent'; reason: string; message: string }
  | { kind: 'unknown'; reason: 'timeout' | 'connection_lost'; message: string };

/** Error codes that can only happen before the request reached the server. */
const BEFORE_SEND = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ERR_INVALID_URL',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function httpExchange(r: HttpRequest): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(r.url);
    } catch {
      resolve({ kind: 'not_sent', reason: 'bad_url', message: 'the provider URL is not valid' });
      return;
    }
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') {
      resolve({ kind: 'not_sent', reason: 'bad_url', message: `unsupported protocol ${url.protocol}` });
      return;
    }
    let connected = false;
    let settled = false;
    const settle = (o: HttpOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
    const headers: Record<string, string | number> = { ...(r.headers ?? {}) };
    if (body) headers['content-length'] = body.length;
    const options: https.RequestOptions = {
      method: r.method,
      headers,
      // A fresh connection per exchange: a pooled socket the server already closed would turn a request
      // that never arrived into an "unknown" one.
      agent: false,
    };
    if (isHttps && r.clientCert) {
      options.cert = r.clientCert.cert;
      options.key = r.clientCert.key as string | Buffer;
    }
    const req = (isHttps ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const max = r.maxBytes ?? 4 * 1024 * 1024;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          req.destroy();
          settle({ kind: 'unknown', reason: 'connection_lost', message: `answer above ${max} bytes` });
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) h[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
        }
        settle({ kind: 'response', status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks) });
      });
      res.on('aborted', () =>
        settle({ kind: 'unknown', reason: 'connection_lost', message: 'the answer was cut off' }),
      );
      res.on('error', (e) => settle({ kind: 'unknown', reason: 'connection_lost', message: e.message }));
    });
    const onSocket = (s: Socket): void => {
      const ready = isHttps ? 'secureConnect' : 'connect';
      if (!s.connecting && (!isHttps || (s as { encrypted?: boolean }).encrypted)) connected = true;
      else s.once(ready, () => (connected = true));
    };
    req.on('socket', onSocket);
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      if (!connected || BEFORE_SEND.has(code))
        settle({
          kind: 'not_sent',
          reason: code ? code.toLowerCase() : 'connect_failed',
          message: e.message,
        });
      else settle({ kind: 'unknown', reason: 'connection_lost', message: e.message || code });
    });
    const timer = setTimeout(() => {
      if (!connected)
        settle({
          kind: 'not_sent',
          reason: 'connect_timeout',
          message: `no connection in ${r.timeoutMs} ms`,
        });
      else settle({ kind: 'unknown', reason: 'timeout', message: `no answer in ${r.timeoutMs} ms` });
      req.destroy();
    }, r.timeoutMs);
    req.end(body);
  });
}
