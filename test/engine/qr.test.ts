import { afterEach, describe, expect, it } from 'vitest';
import { FINAL_STATES } from '../../src/journal/index.js';
import { FakeQr } from './fake-qr.js';
import { harness, type Harness } from './harness.js';

// Scan-to-pay in the engine (issue R2 4/7, item 1 and 3): QR sales are operations of the same journal,
// idempotent by the CRM's key (the provider order number derives from it), on the same orders, refunds
// and views as cards; lost answers are repaired by query; expiry and cancel close or reverse the trade.
let h: Harness;
let ali: FakeQr;
let wx: FakeQr;
afterEach(async () => {
  await h?.close();
});
async function setup(timers: { expirySeconds?: number; payingTimeoutMs?: number } = {}) {
  ali = new FakeQr('alipay');
  wx = new FakeQr('wechat');
  h = await harness({
    qr: { alipay: ali, wechat: wx },
    qrTimers: { pollMs: 10, expirySeconds: 30, payingTimeoutMs: 2000, ...timers },
  });
}
async function final(id: string) {
  for (let i = 0; i < 500; i++) {
    const v = h.engine.view(id);
    if (FINAL_STATES.has(v.state)) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  return h.engine.view(id);
}
async function until(pred: () => boolean) {
  for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('scan-to-pay in the engine', () => {
  it('an order paid by card + Alipay QR + WeChat code, refunded in part on each, adds up to the fen', async () => {
    await setup();
    const sale = (key: string, amount: number, extra: object = {}) =>
      h.engine.submit({
        kind: 'sale',
        idempotencyKey: key,
        operatorId: 'op',
        orderId: 'CAR-QR',
        amount,
        ...extra,
      });
    const card = await final(sale('c', 10_000_000).id);
    const q = sale('a', 5_000_000, { method: 'alipay' });
    await until(() => !!h.engine.view(q.id).qr?.qrContent);
    const shown = h.engine.view(q.id);
    expect(shown).toMatchObject({ state: 'authorizing', method: 'alipay' });
    expect(shown.qr?.qrContent).toMatch(/^https:\/\/qr\.example\/PB[0-9a-f]{30}$/);
    ali.scanAndPay(shown.qr!.qrContent!.split('/').pop()!);
    const alipay = await final(q.id);
    expect(alipay).toMatchObject({ state: 'completed', approvedAmount: 5_000_000, method: 'alipay' });
    expect(alipay.qr?.qrContent).toBeNull();
    const wechat = await final(sale('w', 2_345_678, { method: 'wechat', authCode: '134567890123456789' }).id);
    expect(wechat).toMatchObject({ state: 'completed', method: 'wechat' });
    const refund = (key: string, originalId: string, amount: number) =>
      final(
        h.engine.submit({ kind: 'refund', idempotencyKey: key, operatorId: 'op', originalId, amount }).id,
      );
    expect((await refund('rc', card.id, 1_000_000)).state).toBe('completed');
    expect((await refund('ra', alipay.id, 1_234_500)).state).toBe('completed');
    expect((await refund('rw', wechat.id, 345_678)).state).toBe('completed');
    expect(h.engine.orderSummary('CAR-QR')).toMatchObject({
      captured: 10_000_000 + 5_000_000 + 2_345_678,
      refunded: 1_000_000 + 1_234_500 + 345_678,
      net: 17_345_678 - 2_580_178,
      pending: 0,
    });
    expect([...ali.trades.values()][0]!.refunds.size).toBe(1);
    expect(() =>
      h.engine.submit({ kind: 'void', idempotencyKey: 'va', operatorId: 'op', originalId: alipay.id }),
    ).toThrow(/refunded, not voided/);
  });

  it('the same idempotency key is the same trade: a retry never creates a second charge', async () => {
    await setup();
    const a = h.engine.submit({
      kind: 'sale',
      idempotencyKey: 'same',
      operatorId: 'op',
      amount: 100,
      method: 'wechat',
      authCode: '134567890123456789',
    });
    const b = h.engine.submit({
      kind: 'sale',
      idempotencyKey: 'same',
      operatorId: 'op',
      amount: 100,
      method: 'wechat',
      authCode: '134567890123456789',
    });
    expect(b.id).toBe(a.id);
    await final(a.id);
    expect(wx.trades.size).toBe(1);
    expect(() =>
      h.engine.submit({ kind: 'sale', idempotencyKey: 'same', operatorId: 'op', amount: 100 }),
    ).toThrow(/different parameters/);
  });

  it('USERPAYING is polled until paid; a lost answer is repaired by query, never failed', async () => {
    await setup();
    wx.payingQueries = 3;
    const p = await final(
      h.engine.submit({
        kind: 'sale',
        idempotencyKey: 'up',
        operatorId: 'op',
        amount: 8_800,
        method: 'wechat',
        authCode: '134567890123456789',
      }).id,
    );
    expect(p.state).toBe('completed');
    ali.loseNext = true;
    const l = await final(
      h.engine.submit({
        kind: 'sale',
        idempotencyKey: 'lost',
        operatorId: 'op',
        amount: 7_700,
        method: 'alipay',
        authCode: '284567890123456789',
      }).id,
    );
    expect(l.state).toBe('completed');
    expect(h.journal.attemptsOf(l.id)[0]).toMatchObject({ outcome: 'unknown' });
  });

  it("a QR nobody pays is closed at expiry (cancelled, nothing charged); the operator's cancel closes it too", async () => {
    await setup({ expirySeconds: 0.2 });
    const e = await final(
      h.engine.submit({
        kind: 'sale',
        idempotencyKey: 'exp',
        operatorId: 'op',
        amount: 5_000,
        method: 'alipay',
      }).id,
    );
    expect(e).toMatchObject({ state: 'cancelled', reason: 'qr_expired' });
    expect([...ali.trades.values()][0]!.state).toBe('closed');
    await h.close();
    await setup();
    const c = h.engine.submit({
      kind: 'sale',
      idempotencyKey: 'cx',
      operatorId: 'op',
      amount: 5_000,
      method: 'alipay',
    });
    await until(() => !!h.engine.view(c.id).qr?.qrContent);
    await h.engine.cancel(c.id, 'op');
    expect(await final(c.id)).toMatchObject({ state: 'cancelled', reason: 'cancelled_by_operator' });
  });

  it('a payment code that never finishes is cancelled (reversed) at the paying timeout; a decline is declined', async () => {
    await setup({ payingTimeoutMs: 150 });
    wx.payingQueries = 1000;
    const t = await final(
      h.engine.submit({
        kind: 'sale',
        idempotencyKey: 'slow',
        operatorId: 'op',
        amount: 6_000,
        method: 'wechat',
        authCode: '134567890123456789',
      }).id,
    );
    expect(['cancelled', 'reversed']).toContain(t.state);
    expect(t.reason).toBe('qr_paying_timeout');
    const d = await final(
      h.engine.submit({
        kind: 'sale',
        idempotencyKey: 'poor',
        operatorId: 'op',
        amount: 6_051,
        method: 'wechat',
        authCode: '134567890123456789',
      }).id,
    );
    expect(d).toMatchObject({ state: 'declined', reason: 'qr_insufficient_funds' });
  });

  it('start-up recovery goes on with a QR payment a crash left waiting: the customer paid meanwhile → completed', async () => {
    await setup();
    const row = h.journal.insertOperation({
      id: 'qr-crash',
      kind: 'sale',
      idempotencyKey: 'qrc',
      paramsHash: 'x',
      operatorId: 'op',
      orderId: null,
      originalId: null,
      amount: 3_000,
      currency: '156',
      state: 'created',
      terminalId: 'POSB0001',
      readerId: 'qr:alipay',
      batch: '000001',
    });
    const outTradeNo = 'PB' + '0'.repeat(30);
    h.journal.updateOperation(row.id, {
      state: 'authorizing',
      result: {
        qr: {
          method: 'alipay',
          mode: 'qr',
          outTradeNo,
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        },
      },
    });
    await ali.precreate({
      outTradeNo,
      amount: 3_000,
      subject: 's',
      expiresAt: new Date(Date.now() + 60_000),
    });
    ali.scanAndPay(outTradeNo);
    const report = await h.engine.recover();
    expect(report.actions['qr_resumed']).toBe(1);
    expect(await final(row.id)).toMatchObject({ state: 'completed', approvedAmount: 3_000 });
  });

  it('bad input is a typed error naming the field: unknown method, a method not configured, a malformed code', async () => {
    await setup();
    expect(() =>
      h.engine.submit({
        kind: 'sale',
        idempotencyKey: 'b1',
        operatorId: 'op',
        amount: 1,
        method: 'paypal' as never,
      }),
    ).toThrow(expect.objectContaining({ path: 'method' }) as Error);
    expect(() =>
      h.engine.submit({
        kind: 'sale',
        idempotencyKey: 'b2',
        operatorId: 'op',
        amount: 1,
        method: 'alipay',
        authCode: '12ab',
      }),
    ).toThrow(expect.objectContaining({ path: 'authCode' }) as Error);
    expect(() =>
      h.engine.submit({
        kind: 'sale',
        idempotencyKey: 'b3',
        operatorId: 'op',
        amount: 1,
        authCode: '134567890123456789',
      }),
    ).toThrow(expect.objectContaining({ path: 'authCode' }) as Error);
  });
});
