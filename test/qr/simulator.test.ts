/** The QR simulator's control API, behaviour validation, bills, credentials and CLI ready line. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  cstDate,
  parseAlipayBillZip,
  parseWechatBill,
  type AlipayProvider,
  type WechatProvider,
} from '../../src/qr/index.js';
import { parseQrBehaviour, writeQrCredentials, type QrSimulator } from '../../simulators/qr/index.js';
import {
  ALIPAY_CODE,
  WECHAT_CODE,
  alipayFor,
  inAMinute,
  orderNo,
  startRig,
  value,
  wechatFor,
} from './rig.js';

let rig: Awaited<ReturnType<typeof startRig>>;
let sim: QrSimulator;
let alipay: AlipayProvider;
let wechat: WechatProvider;
let control: string;

beforeAll(async () => {
  rig = await startRig();
  sim = rig.sim;
  alipay = alipayFor(sim);
  wechat = wechatFor(sim);
  control = `http://127.0.0.1:${sim.controlPort}`;
});
afterAll(() => rig.close());
beforeEach(() => sim.reset());

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown; raw: Buffer }> {
  const res = await fetch(`${control}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const raw = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: res.status, json, raw };
}

describe('behaviour', () => {
  it('validates: unknown keys and bad values are 400s naming the key', async () => {
    const r1 = await call('POST', '/behaviour', { systemError: 1, nope: true });
    expect(r1.status).toBe(400);
    expect(JSON.stringify(r1.json)).toContain('$.nope');
    const r2 = await call('POST', '/behaviour', {
      loseAnswer: { count: 1, only: ['alipay.trade.pay', 'alipay.trade.bogus'] },
    });
    expect(r2.status).toBe(400);
    expect(JSON.stringify(r2.json)).toContain('$.loseAnswer.only[1]');
    expect((await call('POST', '/behaviour', { userPayingMs: -1 })).status).toBe(400);
    expect((await call('POST', '/behaviour', { duplicateNotification: 'yes' })).status).toBe(400);
    expect((await call('POST', '/behaviour', [])).status).toBe(400);
    const ok = await call('POST', '/behaviour', {
      badSignature: 2,
      refundPartiallyFails: true,
      userPayingMs: 1500,
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({
      badSignature: { count: 2, only: [] },
      refundPartiallyFails: true,
      userPayingMs: 1500,
      systemError: { count: 0 },
    });
    expect((await call('GET', '/behaviour')).json).toEqual(ok.json);
    expect((await call('POST', '/reset')).status).toBe(204);
    expect((await call('GET', '/behaviour')).json).toMatchObject({
      badSignature: { count: 0 },
      userPayingMs: 0,
    });
    expect(() => parseQrBehaviour({ systemError: { count: 1, when: 'x' } })).toThrow(/\$\.systemError\.when/);
  });

  it('counted faults hit only the named APIs and count down', async () => {
    sim.setBehaviour({ systemError: { count: 1, only: ['wechat.query'] } });
    expect((await alipay.query('X1')).status).toBe('ok');
    expect(await wechat.query('ORDER1')).toMatchObject({ status: 'unknown' });
    expect((await wechat.query('ORDER1')).status).toBe('ok');
    expect(sim.behaviour.systemError.count).toBe(0);
  });
});

describe('control routes', () => {
  it('POST /scan pays; errors are typed', async () => {
    const no = orderNo('Q');
    value(await wechat.precreate({ outTradeNo: no, amount: 300, subject: 'x', expiresAt: inAMinute() }));
    expect((await call('POST', '/scan', { outTradeNo: 'NOPE', action: 'pay' })).status).toBe(404);
    expect((await call('POST', '/scan', { outTradeNo: no, action: 'dance' })).status).toBe(400);
    expect((await call('POST', '/scan', { outTradeNo: no, action: 'pay', extra: 1 })).status).toBe(400);
    expect((await call('POST', '/scan', { action: 'pay' })).status).toBe(400);
    const paid = await call('POST', '/scan', { outTradeNo: no, action: 'pay' });
    expect(paid.status).toBe(200);
    expect(paid.json).toMatchObject({ provider: 'wechat', outTradeNo: no, status: 'paid', amount: 300 });
    expect((await call('POST', '/scan', { outTradeNo: no, action: 'pay' })).status).toBe(409);
    // The same number at both providers needs the provider named.
    value(await alipay.precreate({ outTradeNo: no, amount: 300, subject: 'x', expiresAt: inAMinute() }));
    expect((await call('POST', '/scan', { outTradeNo: no, action: 'pay' })).status).toBe(400);
    expect((await call('POST', '/scan', { outTradeNo: no, action: 'pay', provider: 'alipay' })).status).toBe(
      200,
    );
  });

  it('GET /trades, /refunds, /events, /notifications, /health, /credentials', async () => {
    const no = orderNo('Q');
    value(await alipay.payByCode({ outTradeNo: no, amount: 500, subject: 'x', authCode: ALIPAY_CODE }));
    value(await alipay.refund({ outTradeNo: no, outRequestNo: 'Q1', amount: 100, totalAmount: 500 }));
    const trades = (await call('GET', '/trades?provider=alipay')).json as {
      outTradeNo: string;
      refunded: number;
    }[];
    expect(trades).toEqual([expect.objectContaining({ outTradeNo: no, refunded: 100, status: 'paid' })]);
    expect((await call('GET', '/trades?provider=wechat')).json).toEqual([]);
    expect((await call('GET', '/trades?provider=visa')).status).toBe(400);
    expect((await call('GET', '/refunds')).json).toEqual([
      expect.objectContaining({ outRequestNo: 'Q1', amount: 100, status: 'SUCCESS' }),
    ]);
    const events = (await call('GET', '/events')).json as { type: string }[];
    expect(events.map((e) => e.type)).toEqual(['create', 'pay', 'refund']);
    await rig.receiver.waitFor(2);
    const notes = (await call('GET', '/notifications')).json as { delivered: boolean }[];
    expect(notes.length).toBeGreaterThanOrEqual(2);
    expect(notes.every((n) => n.delivered)).toBe(true);
    expect((await call('GET', '/health')).json).toMatchObject({
      ok: true,
      http: sim.port,
      control: sim.controlPort,
    });
    const cred = await call('GET', '/credentials');
    expect(cred.json).toMatchObject({
      testOnly: true,
      wechat: { platformSerialNo: sim.wechat.platformSerialNo },
    });
    expect(cred.raw.toString()).not.toMatch(/PRIVATE|apiV3|apiV2/);
    expect((await call('DELETE', '/trades')).status).toBe(405);
    expect((await call('GET', '/nothing')).status).toBe(404);
  });

  it('GET /bills/<provider>/<date>: the same files the gateways hand out', async () => {
    const a = orderNo('Q');
    value(await alipay.payByCode({ outTradeNo: a, amount: 1999, subject: '账单', authCode: ALIPAY_CODE }));
    const w = orderNo('Q');
    value(await wechat.payByCode({ outTradeNo: w, amount: 42, subject: 'bill', authCode: WECHAT_CODE }));
    const today = cstDate(new Date());
    const zip = await call('GET', `/bills/alipay/${today}`);
    expect(zip.status).toBe(200);
    expect(parseAlipayBillZip(zip.raw)).toEqual([
      expect.objectContaining({ kind: 'payment', outTradeNo: a, amount: 1999 }),
    ]);
    const csv = await call('GET', `/bills/wechat/${today}`);
    expect(parseWechatBill(csv.raw.toString('utf8'))).toEqual([
      expect.objectContaining({ kind: 'payment', outTradeNo: w, amount: 42 }),
    ]);
    expect((await call('GET', '/bills/wechat/2001-01-01')).status).toBe(404);
    expect((await call('GET', `/bills/visa/${today}`)).status).toBe(400);
  });

  it('POST /notify-url redirects notifications', async () => {
    expect((await call('POST', '/notify-url', { url: 'ftp://x' })).status).toBe(400);
    expect((await call('POST', '/notify-url', { url: null })).status).toBe(204);
    value(
      await alipay.payByCode({ outTradeNo: orderNo('Q'), amount: 1, subject: 'x', authCode: ALIPAY_CODE }),
    );
    // the request's notify_url (a closed port) is used now: the delivery fails and is retried
    await new Promise((r) => setTimeout(r, 150));
    const notes = (await call('GET', '/notifications')).json as {
      delivered: boolean;
      attempts: number;
      url: string;
    }[];
    expect(notes[0]).toMatchObject({ delivered: false, url: 'http://127.0.0.1:9/alipay-notify' });
    expect(notes[0]!.attempts).toBeGreaterThan(1);
    expect((await call('POST', '/notify-url', { url: rig.receiver.url })).status).toBe(204);
  });
});

describe('posbridge-sim qr CLI', () => {
  it('prints one ready line with its ports, uses the test keys in --keys-dir (private 0600), stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qr-keys-'));
    const keys = join(dir, 'keys');
    // The child reads these rather than generating its own (a first run writes them: see keys.ts).
    writeQrCredentials(keys, sim.credentials);
    try {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `import('./simulators/qr/cli.ts').then(async (m) => process.exit(await m.runQrCli(process.argv.slice(1))))`,
          '--',
          '--keys-dir',
          keys,
          '--log-level',
          'silent',
        ],
        { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const line = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout! });
        rl.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const ready = JSON.parse(line) as { ready: boolean; http: number; control: number };
      expect(ready).toMatchObject({ ready: true });
      expect(ready.http).toBeGreaterThan(0);
      expect(ready.control).toBeGreaterThan(0);
      const health = (await (await fetch(`http://127.0.0.1:${ready.control}/health`)).json()) as {
        http: number;
      };
      expect(health.http).toBe(ready.http);
      expect(readdirSync(keys)).toEqual(
        expect.arrayContaining(['README.txt', 'ids.json', 'alipay-app-private.pem', 'wechat-apiv3.key']),
      );
      expect(statSync(join(keys, 'wechat-merchant-private.pem')).mode & 0o777).toBe(0o600);
      const cred = (await (await fetch(`http://127.0.0.1:${ready.control}/credentials`)).json()) as {
        wechat: { platformSerialNo: string };
      };
      expect(cred.wechat.platformSerialNo).toBe(sim.wechat.platformSerialNo);
      const code = await new Promise<number | null>((resolve) => {
        child.once('exit', (c) => resolve(c));
        child.kill('SIGTERM');
      });
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
