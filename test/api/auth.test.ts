import { request } from 'node:http';
import pino from 'pino';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket as WS } from 'ws';
import {
  DaemonNotRunningError,
  HandshakeRefusedError,
  PermissionDeniedError,
  PosbridgeClient,
  RpcError,
  UnauthorizedError,
  type WebSocketLike,
} from '../../src/api/client/index.js';
import { CRM_ORIGIN, OTHER_ORIGIN, TOKEN, errorData, startBench, until, type Bench } from './helpers.js';

let b: Bench;
beforeAll(async () => {
  b = await startBench();
});
afterAll(async () => {
  await b?.close();
});

/** A raw upgrade request with chosen headers: the HTTP status the server answers. */
function upgradeStatus(port: number, headers: Record<string, string>, path = '/ws'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('before hello', () => {
  it('any method but hello/pair is unauthorized; the socket stays open until the hello deadline, then closes (4408)', async () => {
    const r = await b.raw();
    const started = Date.now();
    const res = await r.call('payment.get', { paymentId: 'x' });
    expect(errorData(res)).toMatchObject({ code: -32000, data: { code: 'unauthorized', retryable: false } });
    const res2 = await r.call('events.replay', { sinceSeq: 0 });
    expect(errorData(res2).data.code).toBe('unauthorized');
    const closed = await r.closed;
    expect(closed.code).toBe(4408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('no events reach a socket that has not said hello', async () => {
    const r = await b.raw();
    const pb = await b.connected();
    const s = await pb.payment.sale({
      idempotencyKey: `k-${Math.random()}`,
      orderId: 'O',
      amount: 100,
      currency: 'CNY',
    });
    await pb.waitForPayment(s.paymentId);
    expect(r.messages).toEqual([]);
  });

  it('a wrong token: unauthorized, and the socket closes (4401); the client reports UnauthorizedError and does not retry', async () => {
    const r = await b.raw();
    const res = await r.call('session.hello', { token: 'wrong' });
    expect(errorData(res).data.code).toBe('unauthorized');
    expect((await r.closed).code).toBe(4401);

    const pb = b.client({ token: 'wrong' });
    const e = await pb.connect().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnauthorizedError);
    expect(e).toBeInstanceOf(RpcError);
    expect((e as UnauthorizedError).code).toBe('unauthorized');
    expect(pb.state).toBe('closed');
  });

  it('session.pair without a pairing hook: pairing_unavailable', async () => {
    const r = await b.raw();
    const res = await r.call('session.pair', { code: '123456' });
    expect(errorData(res)).toMatchObject({ code: -32000, data: { code: 'pairing_unavailable' } });
  });
});

describe('upgrade checks (DNS rebinding, Origin)', () => {
  it("Host must be a loopback name with the server's port", async () => {
    const p = b.port;
    expect(await upgradeStatus(p, { Host: `127.0.0.1:${p}` })).toBe(101);
    expect(await upgradeStatus(p, { Host: `localhost:${p}` })).toBe(101);
    expect(await upgradeStatus(p, { Host: `LOCALHOST:${p}` })).toBe(101);
    expect(await upgradeStatus(p, { Host: `[::1]:${p}` })).toBe(101);
    expect(await upgradeStatus(p, { Host: `evil.example:${p}` })).toBe(403);
    expect(await upgradeStatus(p, { Host: `127.0.0.1.evil.example:${p}` })).toBe(403);
    expect(await upgradeStatus(p, { Host: `127.0.0.1:${p + 1}` })).toBe(403);
    expect(await upgradeStatus(p, { Host: '127.0.0.1' })).toBe(403);
    expect(await upgradeStatus(p, { Host: `localhost:${p}@evil` })).toBe(403);
  });

  it('Origin, when present, must be on the allowlist; other paths are 404', async () => {
    const p = b.port;
    const host = `127.0.0.1:${p}`;
    expect(await upgradeStatus(p, { Host: host, Origin: CRM_ORIGIN })).toBe(101);
    expect(await upgradeStatus(p, { Host: host, Origin: `${CRM_ORIGIN}/` })).toBe(101);
    expect(await upgradeStatus(p, { Host: host, Origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(p, { Host: host, Origin: 'null' })).toBe(403);
    expect(await upgradeStatus(p, { Host: host, Origin: 'https://crm.example.com.evil.example' })).toBe(403);
    expect(await upgradeStatus(p, { Host: host }, '/other')).toBe(404);
    expect(b.api.stats().rejectedUpgrades).toBeGreaterThanOrEqual(6);
  });

  it('the client reports a refused handshake (Node sees the status)', async () => {
    const pb = b.client({ createWebSocket: (url) => new WS(url, { origin: 'https://evil.example' }) });
    const e = await pb.connect().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HandshakeRefusedError);
    expect((e as HandshakeRefusedError).status).toBe(403);
  });

  it('an allowed Origin with the token works', async () => {
    const pb = b.client({ createWebSocket: (url) => new WS(url, { origin: CRM_ORIGIN }) });
    await pb.connect();
    expect(b.api.sessions()).toContainEqual(
      expect.objectContaining({ origin: CRM_ORIGIN, authorised: true }),
    );
    pb.close();
  });
});

describe('pairing hook, origin-bound tokens, revocation', () => {
  let p: Bench;
  const issued = new Map<string, string>(); // token → origin
  beforeAll(async () => {
    p = await startBench({
      api: {
        auth: {
          tokens: {
            verify: (t) =>
              t === TOKEN
                ? { ok: true, tokenId: 'file' }
                : issued.has(t)
                  ? { ok: true, origin: issued.get(t)!, tokenId: `paired-${t.slice(0, 4)}` }
                  : { ok: false },
          },
          allowedOrigins: [CRM_ORIGIN, OTHER_ORIGIN],
          helloDeadlineMs: 2000,
        },
        pair: async (code, origin) => {
          if (code !== '246810' || !origin) return undefined;
          const token = `paired-${Math.random().toString(16).slice(2)}`;
          issued.set(token, origin);
          return token;
        },
      },
    });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('pair → a token bound to the Origin; hello with it; refused from another Origin; wrong code refused', async () => {
    const pb = p.client({ token: undefined, createWebSocket: (url) => new WS(url, { origin: CRM_ORIGIN }) });
    const wrong = await pb.pair('000000').catch((x: unknown) => x);
    expect(wrong).toBeInstanceOf(RpcError);
    expect((wrong as RpcError).code).toBe('pairing_code_invalid');
    const token = await pb.pair('246810');
    expect(pb.state).toBe('ready');
    expect((await pb.terminal.list()).terminals).toHaveLength(1);

    const other = p.client({ token, createWebSocket: (url) => new WS(url, { origin: OTHER_ORIGIN }) });
    expect(await other.connect().catch((x: unknown) => x)).toBeInstanceOf(UnauthorizedError);
    const script = p.client({ token }); // no Origin at all
    expect(await script.connect().catch((x: unknown) => x)).toBeInstanceOf(UnauthorizedError);

    // Revocation closes open sessions that use the token (4401); the client stops and says why.
    const errors: unknown[] = [];
    pb.on('error', (e) => errors.push(e));
    expect(p.api.revokeToken(token)).toBe(1);
    await until(() => pb.state === 'closed', 2000, 'revoked client closed');
    expect(errors[0]).toBeInstanceOf(UnauthorizedError);
  });

  it('too many pairing attempts on one socket close it (4429)', async () => {
    const r = await p.raw({ origin: CRM_ORIGIN });
    for (let i = 0; i < 5; i++)
      expect(errorData(await r.call('session.pair', { code: `1${i}` })).data.code).toBe(
        'pairing_code_invalid',
      );
    await r.call('session.pair', { code: 'x' });
    expect((await r.closed).code).toBe(4429);
  });
});

describe('client connection errors', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('nothing listening: DaemonNotRunningError', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const a = s.address() as { port: number };
        s.close(() => resolve(a.port));
      });
    });
    const pb = new PosbridgeClient({ url: `ws://127.0.0.1:${port}/ws`, token: TOKEN, WebSocket: WS });
    const e = await pb.connect().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DaemonNotRunningError);
    expect((e as DaemonNotRunningError).retryable).toBe(true);
  });

  /** A browser-like socket that fails before opening and says nothing about why. */
  class SilentFailure implements WebSocketLike {
    readyState = 0;
    private readonly l: Record<string, ((e: unknown) => void)[]> = {};
    constructor() {
      setTimeout(() => {
        this.readyState = 3;
        for (const f of this.l['error'] ?? []) f({ type: 'error' });
        for (const f of this.l['close'] ?? []) f({ type: 'close', code: 1006, reason: '' });
      }, 1);
    }
    send(): void {}
    close(): void {}
    addEventListener(type: string, listener: (event: unknown) => void): void {
      (this.l[type] ??= []).push(listener);
    }
  }

  it('browser: Local Network Access denied → PermissionDeniedError; otherwise DaemonNotRunningError', async () => {
    const queried: string[] = [];
    vi.stubGlobal('navigator', {
      permissions: {
        query: async ({ name }: { name: string }) => {
          queried.push(name);
          if (name === 'loopback-network') throw new TypeError('unknown permission');
          return { state: 'denied' };
        },
      },
    });
    const pb = new PosbridgeClient({ token: TOKEN, WebSocket: SilentFailure });
    const e = await pb.connect().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PermissionDeniedError);
    expect((e as PermissionDeniedError).permission).toBe('local-network-access');
    expect(queried).toEqual(['loopback-network', 'local-network-access']);

    vi.stubGlobal('navigator', { permissions: { query: async () => ({ state: 'granted' }) } });
    const pb2 = new PosbridgeClient({ token: TOKEN, WebSocket: SilentFailure });
    expect(await pb2.connect().catch((x: unknown) => x)).toBeInstanceOf(DaemonNotRunningError);
  });
});

describe('logs', () => {
  it('never contain a token, a pairing code or card data', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
    const secret = 'pairing-code-31415';
    const l = await startBench({
      api: {
        logger,
        pair: async (code) => (code === secret ? 'issued-token-271828' : undefined),
      },
    });
    try {
      const r = await l.raw();
      await r.call('session.hello', { token: 'wrong-token-161803' });
      const pb = l.client({ token: undefined });
      await pb.pair(secret).catch(() => undefined);
      const ok = await l.connected();
      const s = await ok.payment.sale({
        idempotencyKey: 'log-1',
        orderId: 'O',
        amount: 100,
        currency: 'CNY',
      });
      await ok.waitForPayment(s.paymentId);
      await l.raw().then((x) => x.garbage('{not json'));
    } finally {
      await l.close();
    }
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(5);
    for (const s of [TOKEN, secret, 'wrong-token-161803', 'issued-token-271828', '6212340000000010'])
      expect(all).not.toContain(s);
  });
});
