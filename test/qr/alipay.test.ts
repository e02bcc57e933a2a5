/** The Alipay adapter against the simulator: every API, every fault, notifications, bills. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cstDate, type AlipayProvider } from '../../src/qr/index.js';
import {
  ALIPAY_CODE,
  alipayFor,
  inAMinute,
  orderNo,
  startRig,
  until,
  value,
  type NotifyReceiver,
} from './rig.js';
import type { QrSimulator } from '../../simulators/qr/index.js';

let rig: Awaited<ReturnType<typeof startRig>>;
let sim: QrSimulator;
let receiver: NotifyReceiver;
let alipay: AlipayProvider;

beforeAll(async () => {
  rig = await startRig();
  sim = rig.sim;
  receiver = rig.receiver;
  alipay = alipayFor(sim);
});
afterAll(() => rig.close());
beforeEach(() => {
  sim.reset();
  receiver.received.length = 0;
});

describe('Alipay merchant-presented QR (alipay.trade.precreate)', () => {
  it('precreates, is not found until scanned, is paid by the scan and notified', async () => {
    const no = orderNo('A');
    const pre = value(
      await alipay.precreate({ outTradeNo: no, amount: 1234, subject: '咖啡 x2', expiresAt: inAMinute() }),
    );
    expect(pre.qrContent).toMatch(/^https:\/\/qr\.alipay\.com\//);
    expect(value(await alipay.query(no))).toEqual({ state: 'not_found' });
    // Same request again: the same code (idempotent).
    const again = value(
      await alipay.precreate({ outTradeNo: no, amount: 1234, subject: '咖啡 x2', expiresAt: inAMinute() }),
    );
    expect(again.qrContent).toBe(pre.qrContent);

    sim.scan({ qrContent: pre.qrContent }, 'pay');
    const q = value(await alipay.query(no));
    expect(q).toMatchObject({ state: 'paid', paidAmount: 1234 });
    expect(q.tradeNo).toMatch(/^\d{28}$/);
    expect(q.buyer).toMatch(/\*{4}/);
    expect(q.paidAt).toMatch(/Z$/);

    const [n] = await receiver.waitFor(1);
    const v = value(alipay.verifyNotification(n!.headers, n!.body));
    expect(v).toMatchObject({ outTradeNo: no, state: 'paid', paidAmount: 1234, tradeNo: q.tradeNo });
  });

  it('close of a never-scanned QR closes the number for good (close, then cancel); a scanned, unpaid one closes', async () => {
    const no = orderNo('A');
    const pre = value(
      await alipay.precreate({ outTradeNo: no, amount: 100, subject: 'x', expiresAt: inAMinute() }),
    );
    expect(await alipay.close(no)).toEqual({ status: 'ok', value: undefined });
    expect(() => sim.scan({ qrContent: pre.qrContent }, 'pay')).toThrow(/closed/);
    expect(value(await alipay.query(no)).state).toBe('closed');
    expect(sim.events().map((e) => e.type)).toEqual(['create', 'reverse']);

    const b = orderNo('A');
    value(await alipay.precreate({ outTradeNo: b, amount: 100, subject: 'x', expiresAt: inAMinute() }));
    sim.scan({ outTradeNo: b, provider: 'alipay' }, 'cancel');
    expect(value(await alipay.query(b)).state).toBe('waiting');
    expect(await alipay.close(b)).toEqual({ status: 'ok', value: undefined });
    expect(value(await alipay.query(b)).state).toBe('closed');
    expect(await alipay.close(b)).toEqual({ status: 'ok', value: undefined });
  });

  it('a paid trade cannot be closed; another amount for the same outTradeNo is refused', async () => {
    const no = orderNo('A');
    value(await alipay.precreate({ outTradeNo: no, amount: 100, subject: 'x', expiresAt: inAMinute() }));
    expect(
      await alipay.precreate({ outTradeNo: no, amount: 200, subject: 'x', expiresAt: inAMinute() }),
    ).toMatchObject({
      status: 'rejected',
      code: 'duplicate_out_trade_no',
    });
    sim.scan({ outTradeNo: no }, 'pay');
    expect(await alipay.close(no)).toMatchObject({ status: 'rejected', code: 'trade_paid' });
  });

  it('expire closes an unpaid scanned trade; the expiry is capped at two hours', async () => {
    const no = orderNo('A');
    const pre = value(
      await alipay.precreate({ outTradeNo: no, amount: 100, subject: 'x', expiresAt: inAMinute(600) }),
    );
    expect(pre.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 2 * 3600 * 1000 + 1000);
    sim.scan({ outTradeNo: no }, 'cancel');
    sim.scan({ outTradeNo: no }, 'expire');
    expect(value(await alipay.query(no)).state).toBe('closed');
  });

  it('userpaying_then_pay: waiting while the customer confirms, then paid', async () => {
    sim.setBehaviour({ userPayingMs: 80 });
    const no = orderNo('A');
    value(await alipay.precreate({ outTradeNo: no, amount: 100, subject: 'x', expiresAt: inAMinute() }));
    sim.scan({ outTradeNo: no }, 'userpaying_then_pay');
    expect(value(await alipay.query(no)).state).toBe('waiting');
    await until(() => sim.trades('alipay')[0]?.status === 'paid');
    expect(value(await alipay.query(no)).state).toBe('paid');
  });
});

describe('Alipay customer-presented code (alipay.trade.pay, cancel)', () => {
  it('pays at once', async () => {
    const no = orderNo('B');
    const r = value(
      await alipay.payByCode({ outTradeNo: no, amount: 1, subject: 'gum', authCode: ALIPAY_CODE }),
    );
    expect(r).toMatchObject({ state: 'paid', paidAmount: 1 });
    expect(value(await alipay.query(no)).state).toBe('paid');
  });

  it('10003 USERPAYING → paying; polling query sees it paid; a repeated pay is refused as paid', async () => {
    sim.setBehaviour({ userPayingMs: 60 });
    const no = orderNo('B');
    expect(
      value(await alipay.payByCode({ outTradeNo: no, amount: 500, subject: 'x', authCode: ALIPAY_CODE }))
        .state,
    ).toBe('paying');
    expect(value(await alipay.query(no)).state).toBe('waiting');
    await until(() => sim.trades('alipay')[0]?.status === 'paid');
    expect(value(await alipay.query(no))).toMatchObject({ state: 'paid', paidAmount: 500 });
    expect(
      await alipay.payByCode({ outTradeNo: no, amount: 500, subject: 'x', authCode: ALIPAY_CODE }),
    ).toMatchObject({
      status: 'rejected',
      code: 'trade_paid',
    });
  });

  it('cancel of a trade still USERPAYING closes it (nothing was paid); of a paid one refunds it', async () => {
    sim.setBehaviour({ userPayingMs: 600_000 });
    const a = orderNo('B');
    value(await alipay.payByCode({ outTradeNo: a, amount: 500, subject: 'x', authCode: ALIPAY_CODE }));
    expect(value(await alipay.cancel(a))).toEqual({ reversed: false });
    expect(value(await alipay.query(a)).state).toBe('closed');
    expect(value(await alipay.cancel(a))).toEqual({ reversed: false });

    sim.setBehaviour({ userPayingMs: 0 });
    const b = orderNo('B');
    value(await alipay.payByCode({ outTradeNo: b, amount: 700, subject: 'x', authCode: ALIPAY_CODE }));
    expect(value(await alipay.cancel(b))).toEqual({ reversed: true });
    expect(value(await alipay.cancel(b))).toEqual({ reversed: true });
    expect(sim.trades('alipay').find((t) => t.outTradeNo === b)).toMatchObject({
      status: 'reversed',
      refunded: 700,
    });
  });

  it('cancel of a payment that never arrived closes the number for good', async () => {
    const no = orderNo('B');
    expect(value(await alipay.cancel(no))).toEqual({ reversed: false });
    expect(
      await alipay.payByCode({ outTradeNo: no, amount: 1, subject: 'x', authCode: ALIPAY_CODE }),
    ).toMatchObject({
      status: 'rejected',
      code: 'trade_closed',
    });
  });

  it('maps buyer failures: no balance, bad code', async () => {
    expect(
      await alipay.payByCode({
        outTradeNo: orderNo('B'),
        amount: 1,
        subject: 'x',
        authCode: '280000000000000051',
      }),
    ).toMatchObject({ status: 'rejected', code: 'insufficient_funds', retryable: false });
    expect(
      await alipay.payByCode({
        outTradeNo: orderNo('B'),
        amount: 1,
        subject: 'x',
        authCode: '280000000000000014',
      }),
    ).toMatchObject({ status: 'rejected', code: 'auth_code_invalid' });
  });
});

describe('Alipay refunds', () => {
  it('partial refunds, their query, a repeat, too much, then the rest; bill lines for the day', async () => {
    const no = orderNo('C');
    value(
      await alipay.payByCode({
        outTradeNo: no,
        amount: 1000,
        subject: '账单测试, 逗号',
        authCode: ALIPAY_CODE,
      }),
    );
    const r1 = value(
      await alipay.refund({ outTradeNo: no, outRequestNo: 'R1', amount: 300, totalAmount: 1000 }),
    );
    expect(r1).toMatchObject({ state: 'success', amount: 300, outRequestNo: 'R1' });
    // The same request again moves no money: processing → confirm by query.
    expect(
      value(await alipay.refund({ outTradeNo: no, outRequestNo: 'R1', amount: 300, totalAmount: 1000 }))
        .state,
    ).toBe('processing');
    expect(value(await alipay.refundQuery(no, 'R1'))).toMatchObject({ state: 'success', amount: 300 });
    expect(value(await alipay.refundQuery(no, 'NOPE'))).toEqual({ state: 'not_found', outRequestNo: 'NOPE' });
    expect(
      await alipay.refund({ outTradeNo: no, outRequestNo: 'R2', amount: 800, totalAmount: 1000 }),
    ).toMatchObject({
      status: 'rejected',
      code: 'refund_amount_invalid',
    });
    expect(
      await alipay.refund({ outTradeNo: no, outRequestNo: 'R1', amount: 301, totalAmount: 1000 }),
    ).toMatchObject({
      status: 'rejected',
      code: 'invalid_request',
    });
    expect(value(await alipay.query(no)).state).toBe('paid');
    value(
      await alipay.refund({
        outTradeNo: no,
        outRequestNo: 'R2',
        amount: 700,
        totalAmount: 1000,
        reason: '退货',
      }),
    );
    expect(value(await alipay.query(no)).state).toBe('refunded');

    // refund notifications: partial (TRADE_SUCCESS + refund_fee) and full (TRADE_CLOSED)
    const got = await receiver.waitFor(3);
    const states = got.map((n) => value(alipay.verifyNotification(n.headers, n.body)).state);
    expect(states).toEqual(['paid', 'refunded', 'refunded']);

    const lines = value(await alipay.bill(cstDate(new Date())));
    expect(lines).toEqual([
      expect.objectContaining({ kind: 'payment', outTradeNo: no, amount: 1000 }),
      expect.objectContaining({ kind: 'refund', outTradeNo: no, outRequestNo: 'R1', amount: 300 }),
      expect.objectContaining({ kind: 'refund', outTradeNo: no, outRequestNo: 'R2', amount: 700 }),
    ]);
    expect(value(await alipay.bill('2001-01-01'))).toEqual([]);
  });

  it('refund of an unknown or unpaid trade is refused', async () => {
    expect(
      await alipay.refund({ outTradeNo: orderNo('C'), outRequestNo: 'R', amount: 1, totalAmount: 1 }),
    ).toMatchObject({
      status: 'rejected',
      code: 'trade_not_exist',
    });
    expect(value(await alipay.refundQuery(orderNo('C'), 'R')).state).toBe('not_found');
  });
});

describe('Alipay faults', () => {
  it('systemError: unknown (system_error), nothing done', async () => {
    sim.setBehaviour({ systemError: 1 });
    const no = orderNo('F');
    expect(
      await alipay.payByCode({ outTradeNo: no, amount: 1, subject: 'x', authCode: ALIPAY_CODE }),
    ).toMatchObject({
      status: 'unknown',
      reason: 'system_error',
    });
    expect(value(await alipay.query(no)).state).toBe('not_found');
  });

  it('loseAnswer: unknown (connection_lost), but it was done', async () => {
    sim.setBehaviour({ loseAnswer: { count: 1, only: ['alipay.trade.pay'] } });
    const no = orderNo('F');
    expect(
      await alipay.payByCode({ outTradeNo: no, amount: 1, subject: 'x', authCode: ALIPAY_CODE }),
    ).toMatchObject({
      status: 'unknown',
      reason: 'connection_lost',
    });
    expect(value(await alipay.query(no)).state).toBe('paid');
  });

  it('loseAnswer on a refund: unknown; repeating the same outRequestNo never refunds twice', async () => {
    const no = orderNo('F');
    value(await alipay.payByCode({ outTradeNo: no, amount: 1000, subject: 'x', authCode: ALIPAY_CODE }));
    sim.setBehaviour({ loseAnswer: { count: 1, only: ['alipay.trade.refund'] } });
    expect(
      (await alipay.refund({ outTradeNo: no, outRequestNo: 'R1', amount: 400, totalAmount: 1000 })).status,
    ).toBe('unknown');
    expect(
      value(await alipay.refund({ outTradeNo: no, outRequestNo: 'R1', amount: 400, totalAmount: 1000 }))
        .state,
    ).toBe('processing');
    expect(value(await alipay.refundQuery(no, 'R1')).state).toBe('success');
    expect(sim.trades('alipay')[0]!.refunded).toBe(400);
  });

  it('badSignature: the answer is not trusted (unknown, bad_signature), whatever it says', async () => {
    const no = orderNo('F');
    value(await alipay.payByCode({ outTradeNo: no, amount: 1, subject: 'x', authCode: ALIPAY_CODE }));
    sim.setBehaviour({ badSignature: 1 });
    expect(await alipay.query(no)).toMatchObject({ status: 'unknown', reason: 'bad_signature' });
    expect(value(await alipay.query(no)).state).toBe('paid');
  });

  it('duplicateNotification: two identical notifications, both verify', async () => {
    sim.setBehaviour({ duplicateNotification: true });
    const no = orderNo('F');
    value(await alipay.payByCode({ outTradeNo: no, amount: 1, subject: 'x', authCode: ALIPAY_CODE }));
    const got = await receiver.waitFor(2);
    expect(got).toHaveLength(2);
    expect(got[0]!.body).toBe(got[1]!.body);
    for (const n of got) expect(value(alipay.verifyNotification(n.headers, n.body)).outTradeNo).toBe(no);
  });

  it('badSignature on a notification: rejected as bad_signature', async () => {
    sim.setBehaviour({ badSignature: { count: 1, only: ['alipay.notify'] } });
    value(
      await alipay.payByCode({ outTradeNo: orderNo('F'), amount: 1, subject: 'x', authCode: ALIPAY_CODE }),
    );
    const [n] = await receiver.waitFor(1);
    expect(alipay.verifyNotification(n!.headers, n!.body)).toMatchObject({
      status: 'unknown',
      reason: 'bad_signature',
    });
  });

  it('refundPartiallyFails: the partial refund moves no money; the query finds none', async () => {
    sim.setBehaviour({ refundPartiallyFails: true });
    const no = orderNo('F');
    value(await alipay.payByCode({ outTradeNo: no, amount: 1000, subject: 'x', authCode: ALIPAY_CODE }));
    expect(
      value(await alipay.refund({ outTradeNo: no, outRequestNo: 'P1', amount: 100, totalAmount: 1000 }))
        .state,
    ).toBe('processing');
    expect(value(await alipay.refundQuery(no, 'P1')).state).toBe('not_found');
    // A full refund still goes through.
    expect(
      value(await alipay.refund({ outTradeNo: no, outRequestNo: 'P2', amount: 1000, totalAmount: 1000 }))
        .state,
    ).toBe('success');
  });

  it('not_sent: refused connection, and bad input never leaves', async () => {
    const dead = alipayFor(sim, { gatewayUrl: 'http://127.0.0.1:1/gateway.do' });
    expect(await dead.query('X1')).toMatchObject({ status: 'not_sent', reason: 'econnrefused' });
    expect(
      await alipay.payByCode({ outTradeNo: 'bad no!', amount: 1, subject: 'x', authCode: ALIPAY_CODE }),
    ).toMatchObject({
      status: 'not_sent',
      reason: 'invalid_request',
    });
    expect(
      await alipay.precreate({ outTradeNo: 'A1', amount: 1.5, subject: 'x', expiresAt: inAMinute() }),
    ).toMatchObject({
      status: 'not_sent',
    });
    expect(
      await alipay.refund({ outTradeNo: 'A1', outRequestNo: 'R', amount: 2, totalAmount: 1 }),
    ).toMatchObject({
      status: 'not_sent',
    });
    expect(await alipay.bill('2024-02-30')).toMatchObject({ status: 'not_sent' });
  });

  it('a timeout after the request left is unknown (timeout)', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const slow = alipayFor(sim, { gatewayUrl: `http://127.0.0.1:${port}/gateway.do`, timeoutMs: 150 });
    expect(await slow.query('X1')).toMatchObject({ status: 'unknown', reason: 'timeout' });
    silent.closeAllConnections();
    silent.close();
  });

  it('a gateway that refuses our signature is auth_failed', async () => {
    // any other private key: the simulator's WeChat merchant key
    const wrong = alipayFor(sim, { appPrivateKey: sim.wechat.merchantPrivateKey });
    expect(await wrong.query('X1')).toMatchObject({ status: 'rejected', code: 'auth_failed' });
  });
});
