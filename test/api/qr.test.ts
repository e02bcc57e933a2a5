import { afterEach, describe, expect, it } from 'vitest';
import type { PaymentEvent } from '../../src/api/client/index.js';
import { FakeQr } from '../engine/fake-qr.js';
import { startBench, until, type Bench } from './helpers.js';

// payment.qr over the WebSocket API: the QR arrives as a `qr` event and in payment.get; the payment
// completes when the customer pays; refunds and the order view are the card ones.
let b: Bench;
afterEach(async () => {
  await b?.close();
});

describe('payment.qr', () => {
  it('creates a QR the page shows, completes when paid, refunds like a card payment; the payment code is never echoed', async () => {
    const ali = new FakeQr('alipay');
    const wx = new FakeQr('wechat');
    b = await startBench({ qr: { alipay: ali, wechat: wx }, qrTimers: { pollMs: 10, expirySeconds: 30 } });
    const pb = await b.connected();
    const events: PaymentEvent[] = [];
    pb.on('payment', (e) => events.push(e));
    const { paymentId } = await pb.payment.qr({
      idempotencyKey: 'qr-api-1',
      orderId: 'CAR-2024-0009',
      amount: 3_000_000,
      currency: 'CNY',
      method: 'alipay',
    });
    await until(() => events.some((e) => e.paymentId === paymentId && e.type === 'qr'), 5000, 'qr event');
    const qrEvent = events.find((e) => e.type === 'qr')!;
    expect(qrEvent.qrContent).toMatch(/^https:\/\/qr\.example\/PB/);
    const shown = await pb.payment.get({ paymentId });
    expect(shown).toMatchObject({
      method: 'alipay',
      final: false,
      qr: { mode: 'qr', qrContent: qrEvent.qrContent },
    });
    ali.scanAndPay(qrEvent.qrContent!.split('/').pop()!);
    await until(
      () => events.some((e) => e.paymentId === paymentId && e.state === 'completed'),
      5000,
      'completed',
    );
    const refund = await pb.payment.refund({
      idempotencyKey: 'qr-api-r',
      paymentId,
      amount: 1_000_000,
    } as never);
    await until(
      () => events.some((e) => e.paymentId === refund.paymentId && e.state === 'completed'),
      5000,
      'refund',
    );
    expect(await pb.order.get('CAR-2024-0009')).toMatchObject({
      captured: 3_000_000,
      refunded: 1_000_000,
    });

    const code = '134567890123456789';
    const { paymentId: wid } = await pb.payment.qr({
      idempotencyKey: 'qr-api-2',
      orderId: 'CAR-2024-0009',
      amount: 500,
      currency: 'CNY',
      method: 'wechat',
      authCode: code,
    });
    await until(() => events.some((e) => e.paymentId === wid && e.state === 'completed'), 5000, 'code paid');
    expect(JSON.stringify(await pb.payment.get({ paymentId: wid }))).not.toContain(code);
    expect(JSON.stringify(events)).not.toContain(code);
  });

  it('bad input names the field; a provider this desk lacks is not_supported_by_terminal', async () => {
    b = await startBench({ qr: { alipay: new FakeQr('alipay') } });
    const pb = await b.connected();
    await expect(
      pb.payment.qr({
        idempotencyKey: 'x1',
        orderId: 'O',
        amount: 1,
        currency: 'CNY',
        method: 'alipay',
        authCode: '12',
      }),
    ).rejects.toMatchObject({ data: { code: 'invalid_params', path: 'params.authCode' } });
    await expect(
      pb.payment.qr({ idempotencyKey: 'x2', orderId: 'O', amount: 1, currency: 'CNY', method: 'wechat' }),
    ).rejects.toMatchObject({ data: { code: 'not_supported_by_terminal' } });
  });
});
