/** Adapters never show key material (toString, toJSON, inspect) and their logs carry no keys, codes or buyer ids. */
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QrSimulator } from '../../simulators/qr/index.js';
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
beforeAll(async () => {
  rig = await startRig();
  sim = rig.sim;
});
afterAll(() => rig.close());

function secretsOf(s: QrSimulator): string[] {
  const der = (k: import('node:crypto').KeyObject): string =>
    (k.export({ type: 'pkcs8', format: 'der' }) as Buffer).toString('base64').slice(100, 140);
  return [
    der(s.alipay.appPrivateKey),
    der(s.wechat.merchantPrivateKey),
    s.wechat.apiV3Key.toString('ascii'),
    s.wechat.apiV2Key.toString('ascii'),
  ];
}

function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

describe('no key material', () => {
  it('in toString, toJSON, inspect or own enumerable properties', () => {
    for (const p of [alipayFor(sim), wechatFor(sim)]) {
      const views = [
        String(p),
        JSON.stringify(p),
        inspect(p, { depth: 10, showHidden: true }),
        JSON.stringify(Object.entries(p)),
      ];
      for (const v of views) {
        for (const s of secretsOf(sim)) expect(v).not.toContain(s);
        expect(v).not.toMatch(/PRIVATE KEY|KeyObject|apiV3Key|apiV2Key/);
      }
    }
  });

  it('in the logs: outTradeNo and method only, never keys, payment codes or buyer ids', async () => {
    const { log, lines } = capture();
    const alipay = alipayFor(sim, { log });
    const wechat = wechatFor(sim, { log });
    const a = orderNo('L');
    value(await alipay.payByCode({ outTradeNo: a, amount: 1, subject: 'x', authCode: ALIPAY_CODE }));
    const w = orderNo('L');
    value(await wechat.payByCode({ outTradeNo: w, amount: 1, subject: 'x', authCode: WECHAT_CODE }));
    value(
      await wechat.precreate({ outTradeNo: orderNo('L'), amount: 1, subject: 'x', expiresAt: inAMinute() }),
    );
    await rig.receiver.waitFor(2);
    for (const n of rig.receiver.received) {
      if (n.headers['wechatpay-signature']) wechat.verifyNotification(n.headers, n.body);
      else alipay.verifyNotification(n.headers, n.body);
    }
    const text = lines.join('');
    expect(text).toContain(a);
    expect(text).toContain('"method":"alipay.trade.pay"');
    expect(text).toContain('"method":"micropay"');
    expect(text).toContain('"method":"notify"');
    for (const s of secretsOf(sim)) expect(text).not.toContain(s);
    expect(text).not.toContain(ALIPAY_CODE);
    expect(text).not.toContain(WECHAT_CODE);
    for (const t of sim.trades()) {
      expect(text).not.toContain(t.openid);
      expect(text).not.toContain(t.buyerUserId);
    }
    expect(text).not.toMatch(/authorization|signature|sign"/i);
  });
});
