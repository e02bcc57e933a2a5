/** The WeChat Pay adapter against the simulator: v3 Native, query, close, refunds, bills, notifications; v2 payment code. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cstDate, type WechatProvider } from '../../src/qr/index.js';
import type { QrSimulator } from '../../simulators/qr/index.js';
import {
  WECHAT_CODE,
  inAMinute,
  orderNo,
  startRig,
  until,
  value,
  wechatFor,
  type NotifyReceiver,
} from './rig.js';

let rig: Awaited<ReturnType<typeof startRig>>;
let sim: QrSimulator;
let receiver: NotifyReceiver;
let wechat: WechatProvider;

beforeAll(async () => {
  rig = await startRig();
  sim = rig.sim;
  receiver = rig.receiver;
  wechat = wechatFor(sim);
});
afterAll(() => rig.close());
beforeEach(() => {
  sim.reset();
  receiver.received.length = 0;
});

describe('WeChat Pay Native (v3)', () => {
  it('orders, waits, is paid by the scan, notified (signed, AES-GCM resource), queried', async () => {
    const no = orderNo('W');
    const pre = value(
      await wechat.precreate({ outTradeNo: no, amount: 2500, subject: '奶茶', expiresAt: inAMinute() }),
    );
    expect(pre.qrContent).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    expect(value(await wechat.query(no))).toEqual({ state: 'waiting' });
    sim.scan({ outTradeNo: no, provider: 'wechat' }, 'pay');
    const q = value(await wechat.query(no));
    expect(q).toMatchObject({ state: 'paid', paidAmount: 2500 });
    expect(q.tradeNo).toMatch(/^4200\d{24}$/);
    expect(q.buyer).toMatch(/^oUpF8u\*\*\*$/);
    const [n] = await receiver.waitFor(1);
    expect(n!.headers['wechatpay-serial']).toBe(sim.wechat.platformSerialNo);
    expect(value(wechat.verifyNotification(n!.headers, n!.body))).toMatchObject({
      outTradeNo: no,
      state: 'paid',
      paidAmount: 2500,
      tradeNo: q.tradeNo,
    });
  });

  it('close: unpaid closes (204), paid refuses, unknown is trade_not_exist; an expired order is closed', async () => {
    const a = orderNo('W');
    value(await wechat.precreate({ outTradeNo: a, amount: 1, subject: 'x', expiresAt: inAMinute() }));
    expect(await wechat.close(a)).toEqual({ status: 'ok', value: undefined });
    expect(value(await wechat.query(a)).state).toBe('closed');
    expect(await wechat.close(a)).toEqual({ status: 'ok', value: undefined });
    expect(
      await wechat.precreate({ outTradeNo: a, amount: 1, subject: 'x', expiresAt: inAMinute() }),
    ).toMatchObject({
      status: 'rejected',
      code: 'trade_closed',
    });

    const b = orderNo('W');
    value(await wechat.precreate({ outTradeNo: b, amount: 1, subject: 'x', expiresAt: inAMinute() }));
    sim.scan({ outTradeNo: b }, 'pay');
    expect(await wechat.close(b)).toMatchObject({ status: 'rejected', code: 'trade_paid' });
    expect(await wechat.close(orderNo('W'))).toMatchObject({ status: 'rejected', code: 'trade_not_exist' });
    expect(value(await wechat.query(orderNo('W')))).toEqual({ state: 'not_found' });

    const c = orderNo('W');
    value(await wechat.precreate({ outTradeNo: c, amount: 1, subject: 'x', expiresAt: inAMinute() }));
    sim.scan({ outTradeNo: c }, 'expire');
    expect(value(await wechat.query(c)).state).toBe('closed');
  });

  it('userpaying_then_pay: USERPAYING, then paid', async () => {
    sim.setBehaviour({ userPayingMs: 60 });
    const no = orderNo('W');
    value(await wechat.precreate({ outTradeNo: no, amount: 1, subject: 'x', expiresAt: inAMinute() }));
    sim.scan({ outTradeNo: no }, 'userpaying_then_pay');
    expect(value(await wechat.query(no)).state).toBe('paying');
    await until(() => sim.trades('wechat')[0]?.status === 'paid');
    expect(value(await wechat.query(no)).state).toBe('paid');
  });
});

describe('WeChat Pay refunds (v3) and bills', () => {
  it('partial refunds, repeat, query, over-refund; REFUND state; notifications; tradebill', async () => {
    const no = orderNo('R');
    value(
      await wechat.precreate({ outTradeNo: no, amount: 1000, subject: '退款测试', expiresAt: inAMinute() }),
    );
    sim.scan({ outTradeNo: no }, 'pay');
    const r1 = value(
      await wechat.refund({ outTradeNo: no, outRequestNo: `${no}-1`, amount: 250, totalAmount: 1000 }),
    );
    expect(r1).toMatchObject({ state: 'success', amount: 250 });
    expect(r1.refundId).toMatch(/^5030/);
    const again = value(
      await wechat.refund({ outTradeNo: no, outRequestNo: `${no}-1`, amount: 250, totalAmount: 1000 }),
    );
    expect(again.refundId).toBe(r1.refundId);
    expect(value(await wechat.refundQuery(no, `${no}-1`))).toMatchObject({ state: 'success', amount: 250 });
    expect(value(await wechat.refundQuery(no, 'none-such'))).toEqual({
      state: 'not_found',
      outRequestNo: 'none-such',
    });
    expect(
      await wechat.refund({ outTradeNo: no, outRequestNo: `${no}-2`, amount: 800, totalAmount: 1000 }),
    ).toMatchObject({
      status: 'rejected',
      code: 'invalid_request',
    });
    expect(
      await wechat.refund({ outTradeNo: no, outRequestNo: `${no}-3`, amount: 1, totalAmount: 999 }),
    ).toMatchObject({
      status: 'rejected',
    });
    expect(value(await wechat.query(no)).state).toBe('refunded');
    const got = await receiver.waitFor(2);
    const events = got.map((n) => value(wechat.verifyNotification(n.headers, n.body)).state);
    expect(events).toEqual(['paid', 'refunded']);

    const lines = value(await wechat.bill(cstDate(new Date())));
    expect(lines).toEqual([
      expect.objectContaining({ kind: 'payment', outTradeNo: no, amount: 1000 }),
      expect.objectContaining({ kind: 'refund', outTradeNo: no, outRequestNo: `${no}-1`, amount: 250 }),
    ]);
    expect(value(await wechat.bill('2001-01-01'))).toEqual([]);
  });

  it('refunds of an unknown order, and a refund number asked for under another order, are refused', async () => {
    expect(
      await wechat.refund({ outTradeNo: orderNo('R'), outRequestNo: 'RX', amount: 1, totalAmount: 1 }),
    ).toMatchObject({
      status: 'rejected',
      code: 'trade_not_exist',
    });
    const no = orderNo('R');
    value(await wechat.payByCode({ outTradeNo: no, amount: 10, subject: 'x', authCode: WECHAT_CODE }));
    value(await wechat.refund({ outTradeNo: no, outRequestNo: 'RY', amount: 1, totalAmount: 10 }));
    expect(await wechat.refundQuery(orderNo('R'), 'RY')).toMatchObject({
      status: 'rejected',
      code: 'invalid_request',
    });
  });
});

describe('WeChat Pay payment code (v2 micropay, orderquery, reverse)', () => {
  it('pays at once; v2 orderquery agrees with the v3 query', async () => {
    const no = orderNo('M');
    const r = value(
      await wechat.payByCode({ outTradeNo: no, amount: 88, subject: 'gum', authCode: WECHAT_CODE }),
    );
    expect(r).toMatchObject({ state: 'paid', paidAmount: 88 });
    expect(r.buyer).toMatch(/\*\*\*$/);
    expect(value(await wechat.orderQueryV2(no))).toMatchObject({
      state: 'paid',
      paidAmount: 88,
      tradeNo: r.tradeNo,
    });
    expect(value(await wechat.query(no))).toMatchObject({
      state: 'paid',
      paidAmount: 88,
      tradeNo: r.tradeNo,
    });
    expect(value(await wechatFor(sim, { queryApi: 'v2' }).query(no)).state).toBe('paid');
  });

  it('USERPAYING → paying, polled until paid; a repeat micropay says paid', async () => {
    sim.setBehaviour({ userPayingMs: 60 });
    const no = orderNo('M');
    expect(
      value(await wechat.payByCode({ outTradeNo: no, amount: 5, subject: 'x', authCode: WECHAT_CODE })).state,
    ).toBe('paying');
    expect(value(await wechat.orderQueryV2(no)).state).toBe('paying');
    await until(() => sim.trades('wechat')[0]?.status === 'paid');
    expect(value(await wechat.query(no)).state).toBe('paid');
    expect(
      await wechat.payByCode({ outTradeNo: no, amount: 5, subject: 'x', authCode: WECHAT_CODE }),
    ).toMatchObject({
      status: 'rejected',
      code: 'trade_paid',
    });
  });

  it('reverse: USERPAYING abandoned → REVOKED; paid → reversed; unknown order → stand-in, late code refused', async () => {
    sim.setBehaviour({ userPayingMs: 600_000 });
    const a = orderNo('M');
    value(await wechat.payByCode({ outTradeNo: a, amount: 5, subject: 'x', authCode: WECHAT_CODE }));
    expect(value(await wechat.cancel(a))).toEqual({ reversed: true });
    expect(value(await wechat.query(a)).state).toBe('closed');
    expect(sim.trades('wechat')[0]!.status).toBe('reversed');

    sim.setBehaviour({ userPayingMs: 0 });
    const b = orderNo('M');
    value(await wechat.payByCode({ outTradeNo: b, amount: 9, subject: 'x', authCode: WECHAT_CODE }));
    expect(value(await wechat.cancel(b))).toEqual({ reversed: true });
    expect(sim.trades('wechat').find((t) => t.outTradeNo === b)).toMatchObject({
      status: 'reversed',
      refunded: 9,
    });

    const c = orderNo('M');
    expect(value(await wechat.cancel(c))).toEqual({ reversed: false });
    expect(
      await wechat.payByCode({ outTradeNo: c, amount: 1, subject: 'x', authCode: WECHAT_CODE }),
    ).toMatchObject({
      status: 'rejected',
      code: 'trade_closed',
    });
  });

  it('the customer cancels at the password prompt: PAYERROR → closed', async () => {
    sim.setBehaviour({ userPayingMs: 600_000 });
    const no = orderNo('M');
    value(await wechat.payByCode({ outTradeNo: no, amount: 5, subject: 'x', authCode: WECHAT_CODE }));
    sim.scan({ outTradeNo: no }, 'cancel');
    expect(value(await wechat.orderQueryV2(no)).state).toBe('closed');
    expect(value(await wechat.cancel(no))).toEqual({ reversed: false });
  });

  it('maps buyer failures and needs the v2 key', async () => {
    expect(
      await wechat.payByCode({
        outTradeNo: orderNo('M'),
        amount: 1,
        subject: 'x',
        authCode: '134567890123450051',
      }),
    ).toMatchObject({ status: 'rejected', code: 'insufficient_funds' });
    expect(
      await wechat.payByCode({
        outTradeNo: orderNo('M'),
        amount: 1,
        subject: 'x',
        authCode: '134567890123450014',
      }),
    ).toMatchObject({ status: 'rejected', code: 'auth_code_invalid' });
    const noV2 = wechatFor(sim, { apiV2Key: undefined });
    expect(
      await noV2.payByCode({ outTradeNo: orderNo('M'), amount: 1, subject: 'x', authCode: WECHAT_CODE }),
    ).toMatchObject({
      status: 'not_sent',
      reason: 'not_configured',
    });
  });

  it('a wrong v2 key: the unsigned refusal of a payment is still unknown (query decides)', async () => {
    const wrong = wechatFor(sim, { apiV2Key: Buffer.alloc(32, 0x61) });
    expect(
      await wrong.payByCode({ outTradeNo: orderNo('M'), amount: 1, subject: 'x', authCode: WECHAT_CODE }),
    ).toMatchObject({
      status: 'unknown',
    });
    expect(await wrong.orderQueryV2(orderNo('M'))).toMatchObject({
      status: 'rejected',
      code: 'invalid_request',
    });
  });
});

describe('WeChat Pay faults', () => {
  it('systemError (v3 500 and v2 SYSTEMERROR): unknown, nothing done', async () => {
    sim.setBehaviour({ systemError: 2 });
    const a = orderNo('F');
    expect(
      await wechat.precreate({ outTradeNo: a, amount: 1, subject: 'x', expiresAt: inAMinute() }),
    ).toMatchObject({
      status: 'unknown',
      reason: 'system_error',
    });
    const b = orderNo('F');
    expect(
      await wechat.payByCode({ outTradeNo: b, amount: 1, subject: 'x', authCode: WECHAT_CODE }),
    ).toMatchObject({
      status: 'unknown',
      reason: 'system_error',
    });
    expect(value(await wechat.query(a)).state).toBe('not_found');
    expect(value(await wechat.query(b)).state).toBe('not_found');
  });

  it('loseAnswer on micropay and on a refund: unknown, but done', async () => {
    sim.setBehaviour({ loseAnswer: { count: 1, only: ['wechat.micropay'] } });
    const no = orderNo('F');
    expect(
      await wechat.payByCode({ outTradeNo: no, amount: 100, subject: 'x', authCode: WECHAT_CODE }),
    ).toMatchObject({
      status: 'unknown',
      reason: 'connection_lost',
    });
    expect(value(await wechat.query(no)).state).toBe('paid');
    sim.setBehaviour({ loseAnswer: { count: 1, only: ['wechat.refund'] } });
    expect(
      (await wechat.refund({ outTradeNo: no, outRequestNo: 'L1', amount: 10, totalAmount: 100 })).status,
    ).toBe('unknown');
    expect(value(await wechat.refundQuery(no, 'L1')).state).toBe('success');
    expect(
      value(await wechat.refund({ outTradeNo: no, outRequestNo: 'L1', amount: 10, totalAmount: 100 })).state,
    ).toBe('success');
    expect(sim.trades('wechat')[0]!.refunded).toBe(10);
  });

  it('badSignature on v3 and v2 answers: unknown (bad_signature)', async () => {
    const no = orderNo('F');
    value(await wechat.payByCode({ outTradeNo: no, amount: 1, subject: 'x', authCode: WECHAT_CODE }));
    sim.setBehaviour({ badSignature: { count: 1, only: ['wechat.query'] } });
    expect(await wechat.query(no)).toMatchObject({ status: 'unknown', reason: 'bad_signature' });
    sim.setBehaviour({ badSignature: { count: 1, only: ['wechat.orderquery'] } });
    expect(await wechat.orderQueryV2(no)).toMatchObject({ status: 'unknown', reason: 'bad_signature' });
    sim.setBehaviour({ badSignature: { count: 1, only: ['wechat.close'] } });
    expect(await wechat.close(no)).toMatchObject({ status: 'unknown', reason: 'bad_signature' });
  });

  it('duplicateNotification and a badly signed notification', async () => {
    sim.setBehaviour({ duplicateNotification: true, badSignature: { count: 1, only: ['wechat.notify'] } });
    const no = orderNo('F');
    value(await wechat.precreate({ outTradeNo: no, amount: 1, subject: 'x', expiresAt: inAMinute() }));
    sim.scan({ outTradeNo: no }, 'pay');
    const got = await receiver.waitFor(2);
    expect(got).toHaveLength(2);
    expect(got.map((n) => wechat.verifyNotification(n.headers, n.body).status)).toEqual([
      'unknown',
      'unknown',
    ]);
  });

  it('refundPartiallyFails: PROCESSING, then ABNORMAL (failed) with a REFUND.ABNORMAL notification', async () => {
    sim.setBehaviour({ refundPartiallyFails: true });
    const no = orderNo('F');
    value(await wechat.payByCode({ outTradeNo: no, amount: 100, subject: 'x', authCode: WECHAT_CODE }));
    expect(
      value(await wechat.refund({ outTradeNo: no, outRequestNo: 'PF1', amount: 10, totalAmount: 100 })).state,
    ).toBe('processing');
    await until(() => sim.refunds('wechat')[0]?.status === 'ABNORMAL');
    expect(value(await wechat.refundQuery(no, 'PF1')).state).toBe('failed');
    const got = await receiver.waitFor(2);
    expect(value(wechat.verifyNotification(got[1]!.headers, got[1]!.body))).toMatchObject({
      state: 'paid',
      outTradeNo: no,
    });
  });

  it('not_sent on a refused connection; a wrong merchant key is auth_failed', async () => {
    const dead = wechatFor(sim, { baseUrl: 'http://127.0.0.1:1' });
    expect(await dead.query('ORDER1')).toMatchObject({ status: 'not_sent' });
    const wrong = wechatFor(sim, { merchantPrivateKey: sim.alipay.appPrivateKey });
    expect(await wrong.query('ORDER1')).toMatchObject({ status: 'rejected', code: 'auth_failed' });
  });
});
