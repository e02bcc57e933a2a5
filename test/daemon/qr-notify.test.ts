import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/daemon/config.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import type { OperationView } from '../../src/engine/index.js';
import {
  alipaySignContent,
  cstDateTime,
  cstRfc3339,
  encryptWechatResource,
  nonceStr,
  rsa2Sign,
  sha256WithRsa,
  wechatV3ResponseMessage,
  type QrMethod,
  type QrProvider,
} from '../../src/qr/index.js';
import { startQrForwarder, type QrForwarder } from '../../simulators/qr/forwarder.js';
import { startQrSimulator, type QrSimulator } from '../../simulators/qr/index.js';
import { alipayFor, wechatFor } from '../../simulators/qr/providers.js';

// Provider notifications forwarded by the CRM backend to the daemon (POST /qr/notify/<provider>): the
// gateway simulator notifies a forwarder (simulators/qr/forwarder.ts, as a CRM backend would), which
// passes body and signature headers on with the daemon's token. A verified notification makes the waiting
// payment ask the provider at once: it completes long before the next poll (30 s here). A notification
// never changes a state by itself: duplicates, final and unknown trades are acknowledged and change
// nothing; a bad signature is a 400 and changes nothing; no token, no entry.

const CRM = 'https://crm.example.com';
const POLL_MS = 30_000;
let sim: QrSimulator;
let daemon: Daemon;
let fwd: QrForwarder;
const logs: string[] = [];
const queries: Record<QrMethod, number> = { alipay: 0, wechat: 0 };

/** The adapter, counting its answered queries (a notification's only effect is a query now). */
function counted(p: QrProvider): QrProvider {
  return {
    method: p.method,
    precreate: (r) => p.precreate(r),
    payByCode: (r) => p.payByCode(r),
    query: async (n) => {
      const r = await p.query(n);
      queries[p.method]++;
      return r;
    },
    close: (n) => p.close(n),
    cancel: (n) => p.cancel(n),
    refund: (r) => p.refund(r),
    refundQuery: (n, r) => p.refundQuery(n, r),
    verifyNotification: (h, b) => p.verifyNotification(h, b),
    bill: (d) => p.bill(d),
  };
}

beforeAll(async () => {
  fwd = await startQrForwarder(() =>
    daemon?.port ? { url: `http://127.0.0.1:${daemon.port}`, token: daemon.token } : undefined,
  );
  sim = await startQrSimulator({ control: false, notifyUrl: fwd.url, notifyRetryDelayMs: 50 });
  const config = {
    ...parseConfig(
      {
        port: 0,
        stateDir: mkdtempSync(join(tmpdir(), 'pb-qr-notify-')),
        terminalId: 'QRNOTIFY',
        merchantId: '898310048160001',
        // The configuration wants a card path; this desk takes scan-to-pay only (neither is started).
        host: { address: '127.0.0.1', port: 1 },
        readers: [{ transport: 'tcp', host: '127.0.0.1', port: 9, pairedSerials: [] }],
        allowedOrigins: [CRM],
        logLevel: 'info',
      },
      'test',
      { POSBRIDGE_KEY_FILE: process.env['POSBRIDGE_KEY_FILE'] },
    ),
    hostEnabled: false,
    readers: [],
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  daemon = await createDaemon({
    config,
    logger: pino({ level: 'info' }, sink),
    qr: {
      alipay: counted(alipayFor(sim, { notifyUrl: `${fwd.url}alipay` })),
      wechat: counted(wechatFor(sim, { notifyUrl: `${fwd.url}wechat` })),
    },
    qrTimers: { pollMs: POLL_MS, expirySeconds: 600, payingTimeoutMs: 600_000 },
  });
  await daemon.start();
});

afterAll(async () => {
  await daemon?.stop();
  await sim?.close();
  await fwd?.close();
});

async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const view = (id: string): OperationView => daemon.engine.view(id);
const outTradeNo = (id: string): string => (view(id).result as { qr: { outTradeNo: string } }).qr.outTradeNo;
const stateEvents = (id: string): string[] =>
  daemon.journal
    .eventsOf(id)
    .filter((e) => e.type === 'operation.state')
    .map((e) => String(e.data['state']));

/** A QR sale (or payment-code sale) waiting for the customer, its first query done. */
async function waiting(method: QrMethod, authCode?: string): Promise<{ id: string; no: string }> {
  const before = queries[method];
  const v = daemon.engine.submit({
    kind: 'sale',
    idempotencyKey: randomUUID(),
    operatorId: 'op-1',
    orderId: `O-${randomUUID().slice(0, 8)}`,
    amount: 1288,
    method,
    ...(authCode ? { authCode } : {}),
  });
  await until(() => queries[method] > before, 5000, 'the first query');
  expect(view(v.id).state).toBe('authorizing');
  return { id: v.id, no: outTradeNo(v.id) };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function request(method: string, path: string, headers: Record<string, string>, body = ''): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: daemon.port, method, path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const bearer = (): Record<string, string> => ({ authorization: `Bearer ${daemon.token}` });

/** A notification as Alipay sends it, signed with the simulator's "Alipay" key. */
function alipayNotice(no: string, opts: { tamper?: boolean; status?: string } = {}) {
  const c = sim.credentials.alipay;
  const p: Record<string, string> = {
    notify_time: cstDateTime(new Date()),
    notify_type: 'trade_status_sync',
    notify_id: randomUUID().replaceAll('-', ''),
    app_id: c.appId,
    charset: 'utf-8',
    version: '1.0',
    sign_type: 'RSA2',
    trade_no: '2024051322001400000000000001',
    out_trade_no: no,
    trade_status: opts.status ?? 'TRADE_SUCCESS',
    total_amount: '12.88',
    gmt_payment: cstDateTime(new Date()),
  };
  p['sign'] = rsa2Sign(alipaySignContent(p, ['sign', 'sign_type']), c.alipayPrivateKey);
  if (opts.tamper) p['total_amount'] = '0.01';
  return {
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams(p).toString(),
    sign: p['sign'],
  };
}

/** A WeChat Pay v3 TRANSACTION.SUCCESS notification, signed with the simulator's platform key. */
function wechatNotice(no: string, opts: { tamper?: boolean } = {}) {
  const c = sim.credentials.wechat;
  const enc = encryptWechatResource(
    JSON.stringify({
      appid: c.appid,
      mchid: c.mchid,
      out_trade_no: no,
      transaction_id: '4200000000202405130000000001',
      trade_type: 'NATIVE',
      trade_state: 'SUCCESS',
      success_time: cstRfc3339(new Date()),
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      amount: { total: 1288, payer_total: 1288, currency: 'CNY', payer_currency: 'CNY' },
    }),
    c.apiV3Key,
    'transaction',
  );
  enc.original_type = 'transaction';
  const body = JSON.stringify({
    id: randomUUID(),
    create_time: cstRfc3339(new Date()),
    resource_type: 'encrypt-resource',
    event_type: 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    resource: enc,
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const nonce = nonceStr();
  const signature = sha256WithRsa(
    wechatV3ResponseMessage(ts, nonce, body) + (opts.tamper ? 'x' : ''),
    c.platformPrivateKey,
  );
  return {
    headers: {
      'content-type': 'application/json',
      'wechatpay-timestamp': ts,
      'wechatpay-nonce': nonce,
      'wechatpay-signature': signature,
      'wechatpay-serial': c.platformSerialNo,
      'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    },
    body,
    sign: signature,
  };
}

describe('provider notifications forwarded to the daemon (POST /qr/notify/<provider>)', () => {
  it('a forwarded notification resolves a waiting payment long before the next poll: Alipay QR, WeChat QR, WeChat code after USERPAYING', async () => {
    for (const method of ['alipay', 'wechat'] as const) {
      const { id, no } = await waiting(method);
      const t0 = Date.now();
      sim.scan({ outTradeNo: no, provider: method }, 'pay');
      await until(() => view(id).state === 'completed', 5000, `${method} completed`);
      expect(Date.now() - t0, 'resolved by the notification, not by the 30 s poll').toBeLessThan(5000);
      expect(view(id)).toMatchObject({ approvedAmount: 1288, qr: { tradeNo: expect.any(String) } });
      await until(() => sim.notifications().some((n) => n.outTradeNo === no && n.delivered));
    }
    expect(fwd.records.filter((r) => r.outcome === 'resolving').map((r) => [r.provider, r.status])).toEqual(
      expect.arrayContaining([
        ['alipay', 200],
        ['wechat', 204],
      ]),
    );
    // A payment code: USERPAYING, the customer confirms 300 ms later, the notification ends the wait.
    sim.setBehaviour({ userPayingMs: 300 });
    try {
      const { id } = await waiting('wechat', '134567890123456789');
      const t0 = Date.now();
      await until(() => view(id).state === 'completed', 5000, 'payment code completed');
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      sim.setBehaviour({ userPayingMs: 0 });
    }
  });

  it('a duplicate notification changes nothing: one completion event, one charge; a replay of a final trade is acknowledged', async () => {
    sim.setBehaviour({ duplicateNotification: true });
    try {
      const { id, no } = await waiting('alipay');
      sim.scan({ outTradeNo: no, provider: 'alipay' }, 'pay');
      await until(() => view(id).state === 'completed', 5000, 'completed');
      await until(
        () => sim.notifications().filter((n) => n.outTradeNo === no && n.delivered).length === 2,
        5000,
        'both copies delivered',
      );
      await sleep(100);
      expect(stateEvents(id).filter((s) => s === 'completed')).toHaveLength(1);
      expect(sim.trades('alipay').filter((t) => t.outTradeNo === no)).toHaveLength(1);
      expect(sim.events().filter((e) => e.outTradeNo === no && e.type === 'pay')).toHaveLength(1);

      // The same notification once more, straight from the backend: acknowledged, nothing moves.
      const events = daemon.journal.eventsOf(id).length;
      const q = queries.alipay;
      const n = alipayNotice(no);
      const r = await request('POST', '/qr/notify/alipay', { ...bearer(), ...n.headers }, n.body);
      expect(r).toMatchObject({ status: 200, text: 'success' });
      expect(r.headers['posbridge-notification']).toBe('already_final');
      await sleep(100);
      expect(daemon.journal.eventsOf(id)).toHaveLength(events);
      expect(queries.alipay).toBe(q);
      expect(view(id).state).toBe('completed');
    } finally {
      sim.setBehaviour({ duplicateNotification: false });
    }
  });

  it('a bad signature is a typed 400, logged without secrets, and changes nothing; a valid one is only a trigger', async () => {
    for (const method of ['alipay', 'wechat'] as const) {
      const { id, no } = await waiting(method);
      const events = daemon.journal.eventsOf(id).length;
      const q = queries[method];
      const bad =
        method === 'alipay' ? alipayNotice(no, { tamper: true }) : wechatNotice(no, { tamper: true });
      const r = await request('POST', `/qr/notify/${method}`, { ...bearer(), ...bad.headers }, bad.body);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.text)).toEqual({
        error: { code: 'bad_signature', message: 'the notification signature does not verify' },
      });
      await sleep(150);
      expect(queries[method], 'no query: a refused notification triggers nothing').toBe(q);
      expect(view(id).state).toBe('authorizing');
      expect(daemon.journal.eventsOf(id)).toHaveLength(events);
      const refused = logs.filter((l) => l.includes('qr notification refused'));
      expect(refused.some((l) => l.includes('"error":"bad_signature"'))).toBe(true);
      expect(logs.join('')).not.toContain(bad.sign);
      expect(logs.join('')).not.toContain(daemon.token);

      // Correctly signed, but the customer never paid: the provider is asked, and its answer stands.
      const good = method === 'alipay' ? alipayNotice(no) : wechatNotice(no);
      const ok = await request('POST', `/qr/notify/${method}`, { ...bearer(), ...good.headers }, good.body);
      expect(ok.status).toBe(method === 'alipay' ? 200 : 204);
      expect(ok.headers['posbridge-notification']).toBe('resolving');
      await until(() => queries[method] > q, 3000, 'the query the notification triggered');
      await sleep(100);
      expect(view(id).state, 'the notification is a trigger, not a state').toBe('authorizing');
      // The customer pays after all: the sim's own notification completes it.
      sim.scan({ outTradeNo: no, provider: method }, 'pay');
      await until(() => view(id).state === 'completed', 5000, 'completed');
    }
  });

  it('a notification of a trade this desk does not have is acknowledged in the form the provider expects', async () => {
    const a = alipayNotice(`PB${'0'.repeat(30)}`);
    const ra = await request('POST', '/qr/notify/alipay', { ...bearer(), ...a.headers }, a.body);
    expect(ra).toMatchObject({ status: 200, text: 'success' });
    expect(ra.headers['posbridge-notification']).toBe('unknown_trade');
    const w = wechatNotice(`PB${'1'.repeat(30)}`);
    const rw = await request('POST', '/qr/notify/wechat', { ...bearer(), ...w.headers }, w.body);
    expect(rw).toMatchObject({ status: 204, text: '' });
    expect(rw.headers['posbridge-notification']).toBe('unknown_trade');
    // Verified, but not a notification this desk takes (another app): a typed 400.
    const c = sim.credentials.alipay;
    const p: Record<string, string> = {
      app_id: 'another',
      out_trade_no: 'PBX',
      trade_status: 'TRADE_SUCCESS',
    };
    p['sign'] = rsa2Sign(alipaySignContent(p, ['sign', 'sign_type']), c.alipayPrivateKey);
    const other = await request(
      'POST',
      '/qr/notify/alipay',
      { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams(p).toString(),
    );
    expect(other.status).toBe(400);
    expect(JSON.parse(other.text)).toMatchObject({ error: { code: 'invalid_notification' } });
  });

  it('no valid token, a foreign Host or Origin: refused before anything is read; CORS for allowed pages only', async () => {
    const { id, no } = await waiting('alipay');
    const q = queries.alipay;
    const n = alipayNotice(no);
    const refusals: [Record<string, string>, number, string][] = [
      [{}, 401, 'unauthorized'],
      [{ authorization: 'Bearer wrong' }, 401, 'unauthorized'],
      [{ authorization: daemon.token }, 401, 'unauthorized'],
      [{ ...bearer(), host: 'evil.example:80' }, 401, 'unauthorized'],
      [{ ...bearer(), origin: 'https://evil.example' }, 403, 'forbidden_origin'],
    ];
    for (const [headers, status, code] of refusals) {
      const r = await request('POST', '/qr/notify/alipay', { ...n.headers, ...headers }, n.body);
      expect([r.status, JSON.parse(r.text).error.code], JSON.stringify(headers)).toEqual([status, code]);
    }
    // An unknown provider path reveals nothing without a token.
    expect((await request('POST', '/qr/notify/paypal', {}, 'x')).status).toBe(401);
    expect((await request('POST', '/qr/notify/paypal', bearer(), 'x')).status).toBe(404);
    await sleep(100);
    expect(queries.alipay).toBe(q);
    expect(view(id).state).toBe('authorizing');

    // A paired CRM page relays from its own Origin with its own token (CORS answered to it).
    const pairedToken = (await daemon.pairing.redeem(daemon.pairing.issueCode().code, CRM))!;
    const pre = await request('OPTIONS', '/qr/notify/alipay', {
      origin: CRM,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
      'access-control-request-private-network': 'true',
    });
    expect(pre.status).toBe(204);
    expect(pre.headers).toMatchObject({
      'access-control-allow-origin': CRM,
      'access-control-allow-methods': 'POST',
      'access-control-allow-private-network': 'true',
    });
    expect(pre.headers['access-control-allow-headers']).toContain('wechatpay-signature');
    expect((await request('OPTIONS', '/qr/notify/alipay', { origin: 'https://evil.example' })).status).toBe(
      403,
    );
    const paired = { authorization: `Bearer ${pairedToken}` };
    const noOrigin = await request('POST', '/qr/notify/alipay', { ...paired, ...n.headers }, n.body);
    expect(noOrigin.status, 'a paired token only from its Origin').toBe(401);
    const fromPage = await request(
      'POST',
      '/qr/notify/alipay',
      { ...paired, origin: CRM, ...n.headers },
      n.body,
    );
    expect(fromPage).toMatchObject({ status: 200, text: 'success' });
    expect(fromPage.headers['access-control-allow-origin']).toBe(CRM);
    await until(() => queries.alipay > q, 3000, 'the query');

    // Larger than any notification: refused.
    const big = await request('POST', '/qr/notify/alipay', bearer(), 'x'.repeat(70 * 1024));
    expect(big.status).toBe(413);
  });
});
