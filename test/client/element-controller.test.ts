// <posbridge-pay>'s controller (packages/client/src/element/controller.ts), without a DOM, against the real
// API server (test/api's bench: engine, host simulator, controllable reader): what the cashier sees at
// each step (in the wording module's words), the events the element sends, cancel, signature, receipt,
// partial approvals, a language switch, and the idempotency key kept across a lost connection (and a
// reload) so that trying again never charges twice.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { describeError, describeProgress, describeState } from '../../packages/client/src/wording.js';
import { LABELS } from '../../packages/client/src/element/labels.js';
import { formatMoney } from '../../packages/client/src/element/money.js';
import {
  PayController,
  type KeyStore,
  type PayClient,
  type PayConfig,
  type PayEventType,
  type PayView,
} from '../../packages/client/src/element/controller.js';
import { startBench, until, type Bench } from '../api/helpers.js';
import { FakeQr } from '../engine/fake-qr.js';

interface Recorder {
  views: PayView[];
  events: { type: PayEventType; detail: Record<string, unknown> }[];
  last(): PayView;
}

function recorder(): Recorder & {
  host: { update(v: PayView): void; emit(t: PayEventType, d: unknown): void };
} {
  const r: Recorder = {
    views: [],
    events: [],
    last() {
      return r.views[r.views.length - 1]!;
    },
  };
  return {
    ...r,
    host: {
      update: (v) => r.views.push(v),
      emit: (type, detail) => r.events.push({ type, detail: detail as Record<string, unknown> }),
    },
  };
}

function memoryStore(): KeyStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    get: (s) => map.get(s),
    set: (s, k) => void map.set(s, k),
    delete: (s) => void map.delete(s),
  };
}

let keyNo = 0;
const keys = (): string => `key-${process.pid}-${++keyNo}`;

const config = (over: Partial<PayConfig> = {}): PayConfig => ({
  order: 'CAR-1',
  amount: '1280000',
  currency: 'CNY',
  lang: 'en',
  ...over,
});

let b: Bench;
beforeAll(async () => {
  b = await startBench();
});
afterAll(async () => {
  await b?.close();
});

describe('checking the attributes', () => {
  it('refuses an amount that is not integer fen, names the attribute, emits one error event, offers no pay', async () => {
    const r = recorder();
    const c = new PayController({ host: r.host });
    for (const bad of ['12800.00', '12,800', '-5', '0', '1e5', 'abc', '', '9999999999999'])
      c.configure(config({ amount: bad }));
    const v = r.last();
    expect(v.phase).toBe('invalid');
    expect(v.canPay).toBe(false);
    expect(v.inputError).toMatchObject({ code: 'invalid_amount', field: 'amount' });
    expect(v.inputError!.message).toContain('got 9999999999999 (more than 999999999999)');
    // One event per distinct bad value (the empty one included), none for a repeat.
    c.configure(config({ amount: '9999999999999' }));
    const errors = r.events.filter((e) => e.type === 'error');
    expect(errors).toHaveLength(8);
    expect(errors.map((e) => e.detail['field'])).toEqual(Array(8).fill('amount'));
    // pay() refuses too, and says so again.
    await c.pay();
    expect(r.events.filter((e) => e.type === 'error')).toHaveLength(9);

    c.configure(config({ amount: 1_280_000 })); // a number property is fine when it is an integer
    expect(r.last()).toMatchObject({ phase: 'idle', canPay: true, payLabel: 'Pay ¥12,800.00' });
    c.configure(config({ amount: 12.5 }));
    expect(r.last().phase).toBe('invalid');
    c.configure(config({ order: '' }));
    expect(r.last().inputError).toMatchObject({ code: 'invalid_order', field: 'order' });
    c.configure(config({ currency: 'yuan' }));
    expect(r.last().inputError).toMatchObject({ code: 'invalid_currency', field: 'currency' });
  });

  it('says the button in the language asked for, and switches at once', () => {
    const r = recorder();
    const c = new PayController({ host: r.host });
    c.configure(config({ lang: 'zh' }));
    expect(r.last().payLabel).toBe('支付 ¥12,800.00');
    expect(r.last().labels).toBe(LABELS.zh);
    c.configure(config({ lang: 'en' }));
    expect(r.last().payLabel).toBe('Pay ¥12,800.00');
  });

  it('without a connection: a failure with its code, not a throw', async () => {
    const r = recorder();
    const c = new PayController({ host: r.host, newKey: keys });
    c.configure(config());
    await c.pay();
    expect(r.last().phase).toBe('failed');
    expect(r.last().status).toEqual(describeError('no_client', 'en'));
    expect(r.events.at(-1)).toMatchObject({
      type: 'posbridge-failed',
      detail: { error: { code: 'no_client' } },
    });
  });
});

describe('taking a payment', () => {
  it('approved: prompts and states in words, state events, completed once, then signature and receipt', async () => {
    const pb = await b.connected();
    const r = recorder();
    const c = new PayController({ host: r.host, newKey: keys });
    c.setClient(pb);
    c.configure(config({ order: 'EL-OK', amount: '12300' }));
    b.reader.delayMs = 50; // a "present card" prompt first
    try {
      await c.pay();
    } finally {
      b.reader.delayMs = 0;
    }
    const v = r.last();
    expect(v.phase).toBe('done');
    expect(v.status).toEqual(describeState('completed', 'en', null, '00'));
    expect(r.views.some((x) => x.prompt === describeProgress('present_card', 'en'))).toBe(true);
    expect(r.views.some((x) => x.phase === 'paying' && x.canCancel)).toBe(true);
    const states = r.events.filter((e) => e.type === 'posbridge-state');
    expect(states.map((e) => (e.detail['payment'] as { state: string }).state)).toContain('authorizing');
    expect((states.at(-1)!.detail['payment'] as { state: string }).state).toBe('completed');
    const completed = r.events.filter((e) => e.type === 'posbridge-completed');
    expect(completed).toHaveLength(1);
    const payment = completed[0]!.detail['payment'] as { paymentId: string; amount: number; outcome: string };
    expect(payment).toMatchObject({ amount: 12_300, outcome: 'completed' });
    expect(r.events.some((e) => e.type === 'posbridge-failed')).toBe(false);
    // Paid: no second pay from this element for the same amount.
    expect(v.canPay).toBe(false);

    // The receipt (customer copy) comes with it; the signature is asked for.
    expect(v.signature).toEqual({ status: 'needed', text: LABELS.en.signHint });
    expect(v.receipt).toMatchObject({ copy: 'customer', loading: false });
    expect(v.receipt!.html).toContain('posbridge-receipt');

    // A 1x1 PNG as the signature: stored, then the merchant copy shows it.
    const png =
      'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    await c.sign(png);
    expect(r.last().signature).toEqual({ status: 'saved', text: LABELS.en.signSaved });
    expect(r.last().receipt).toMatchObject({ copy: 'merchant', loading: false });
    expect(r.last().receipt!.html).toContain('cardholder signature');
    expect((await pb.payment.get({ paymentId: payment.paymentId })).signed).toBe(true);
    // The language switches everything at once, the payment's words too.
    c.configure(config({ order: 'EL-OK', amount: '12300', lang: 'zh' }));
    expect(r.last().status).toEqual(describeState('completed', 'zh', null, '00'));
    expect(r.last().signature!.text).toBe(LABELS.zh.signSaved);
  });

  it('declined: the reason and response code in words, failed event, and the next attempt has a new key', async () => {
    const pb = await b.connected();
    const r = recorder();
    const store = memoryStore();
    const c = new PayController({ host: r.host, newKey: keys, storage: store });
    c.setClient(pb);
    c.configure(config({ order: 'EL-DECLINE', amount: '12351' }));
    await c.pay();
    const v = r.last();
    expect(v.phase).toBe('failed');
    expect(v.payment).toMatchObject({ state: 'declined', responseCode: '51' });
    expect(v.status).toEqual(describeState('declined', 'en', v.payment!.reason, '51'));
    expect(v.status!.code).toContain('51');
    expect(v.canPay).toBe(true);
    expect(v.payLabel).toBe('Try again: pay ¥123.51');
    expect(v.signature).toBeUndefined();
    expect(v.receipt).toBeUndefined();
    const failed = r.events.filter((e) => e.type === 'posbridge-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.detail['payment']).toMatchObject({ state: 'declined', outcome: 'declined' });
    expect(store.map.size).toBe(0); // an outcome: the key is done with

    const first = v.payment!.paymentId;
    await c.pay();
    expect(r.last().payment!.paymentId).not.toBe(first);
    const order = await pb.order.get('EL-DECLINE');
    expect(order.operations.filter((o) => o.kind === 'sale')).toHaveLength(2);
  });

  it('a long host wait shows the elapsed seconds, then goes away', async () => {
    const pb = await b.connected();
    const r = recorder();
    const c = new PayController({ host: r.host, newKey: keys, tickMs: 50, longWaitMs: 300 });
    c.setClient(pb);
    c.configure(config({ order: 'EL-SLOW', amount: '12300' }));
    b.sim.faults.add({ match: { mti: '0200' }, action: 'delay', delayMs: 1400, times: 1 });
    await c.pay();
    const waits = r.views.filter((x) => x.hostWait).map((x) => x.hostWait!);
    expect(waits.length).toBeGreaterThan(3);
    expect(waits[0]!.seconds).toBe(0);
    expect(waits.at(-1)!.seconds).toBe(1);
    expect(waits.at(-1)!.text).toBe(LABELS.en.hostWait(1));
    expect(r.views.filter((x) => x.hostWait).every((x) => x.payment?.state === 'authorizing')).toBe(true);
    expect(r.last().hostWait).toBeUndefined();
    expect(r.last().phase).toBe('done');
  });

  it('cancel: says what it did, and the payment ends without money taken', async () => {
    const pb = await b.connected();
    const r = recorder();
    const c = new PayController({ host: r.host, newKey: keys });
    c.setClient(pb);
    c.configure(config({ order: 'EL-CANCEL', amount: '12300' }));
    b.reader.hold = true;
    try {
      const paying = c.pay();
      await b.reader.whenWaiting();
      await until(() => r.last().canCancel, 5000, 'cancel offered');
      await c.cancel();
      await paying;
    } finally {
      b.reader.hold = false;
    }
    const v = r.last();
    expect(v.phase).toBe('failed');
    expect(v.payment!.state).toBe('cancelled');
    expect(r.views.some((x) => x.note === LABELS.en.cancelled.cancelled)).toBe(true);
    expect(r.views.some((x) => x.cancelling && x.note === LABELS.en.cancelling)).toBe(true);
    expect(v.status).toEqual(describeState('cancelled', 'en', v.payment!.reason, v.payment!.responseCode));
  });

  it('a partial approval: the cashier decides; accepting completes it for the approved amount', async () => {
    const pb = await b.connected();
    const r = recorder();
    const c = new PayController({ host: r.host, newKey: keys, signature: false });
    c.setClient(pb);
    c.configure(config({ order: 'EL-PARTIAL', amount: '20077' }));
    await c.pay();
    const v = r.last();
    expect(v.phase).toBe('partial');
    expect(v.payment!.approvedAmount).toBeLessThan(20_077);
    expect(v.partialText).toBe(LABELS.en.partial(formatMoney(v.payment!.approvedAmount!, 'CNY'), '¥200.77'));
    await c.decidePartial(true);
    expect(r.last().phase).toBe('done');
    expect(r.last().signature).toBeUndefined(); // signature: false
    expect(r.events.filter((e) => e.type === 'posbridge-completed')).toHaveLength(1);
  });
});

describe('never charging twice', () => {
  it('a lost connection keeps the key: "continue" (also after a reload) follows the same payment', async () => {
    const store = memoryStore();
    const pb1 = await b.connected({ reconnect: false });
    const r1 = recorder();
    const c1 = new PayController({ host: r1.host, newKey: keys, storage: store });
    c1.setClient(pb1);
    c1.configure(config({ order: 'EL-LOST', amount: '12300' }));
    b.reader.hold = true;
    onTestFinished(() => b.reader.release());
    const paying = c1.pay();
    await b.reader.whenWaiting();
    await until(() => r1.last().payment !== undefined, 5000, 'payment started');
    const paymentId = r1.last().payment!.paymentId;
    pb1.close();
    await paying;
    const v = r1.last();
    expect(v.phase).toBe('failed');
    expect(v.status).toEqual(describeError('payment_interrupted', 'en'));
    expect(v.payLabel).toBe(LABELS.en.resume);
    expect(store.map.size).toBe(1);
    const key = [...store.map.values()][0]!;
    expect(r1.events.at(-1)).toMatchObject({
      type: 'posbridge-failed',
      detail: { error: { code: 'payment_interrupted' }, paymentId },
    });

    // The page reloads (a new controller, the same session storage) and the cashier presses the button.
    const pb2 = await b.connected();
    const r2 = recorder();
    const c2 = new PayController({
      host: r2.host,
      newKey: () => 'never-used',
      storage: store,
      signature: false,
    });
    c2.setClient(pb2);
    c2.configure(config({ order: 'EL-LOST', amount: '12300' }));
    expect(r2.last()).toMatchObject({ phase: 'idle', canPay: true, payLabel: LABELS.en.resume });
    const resumed = c2.pay();
    await until(() => r2.last().phase === 'paying', 5000, 'following again');
    b.reader.release();
    await resumed;
    expect(r2.last().phase).toBe('done');
    expect(r2.last().payment!.paymentId).toBe(paymentId);
    const done = r2.events.find((e) => e.type === 'posbridge-completed')!.detail['payment'] as {
      idempotencyKey: string;
      existing: boolean;
    };
    expect(done).toMatchObject({ idempotencyKey: key, existing: true });
    const order = await pb2.order.get('EL-LOST');
    expect(order.operations).toHaveLength(1);
    expect(order.captured).toBe(12_300);
    expect(store.map.size).toBe(0);
  });

  it('while a payment runs, new attributes wait; afterwards they start afresh (no receipt of another order)', async () => {
    const pb = await b.connected();
    const r = recorder();
    const c = new PayController({ host: r.host, newKey: keys, signature: false });
    c.setClient(pb as PayClient);
    c.configure(config({ order: 'EL-CTX-1', amount: '12300' }));
    b.reader.hold = true;
    const paying = c.pay();
    await b.reader.whenWaiting();
    c.configure(config({ order: 'EL-CTX-2', amount: '500' }));
    expect(r.last().phase).toBe('paying');
    b.reader.release();
    await paying;
    expect(r.last().phase).toBe('done');
    expect(r.last().payment!.orderId).toBe('EL-CTX-1');
    expect((await pb.order.get('EL-CTX-1')).captured).toBe(12_300);
    c.configure(config({ order: 'EL-CTX-3', amount: '700' }));
    expect(r.last()).toMatchObject({ phase: 'idle', canPay: true, receipt: undefined, payment: undefined });
    expect(r.last().payLabel).toBe('Pay ¥7.00');
  });
});

describe('scan-to-pay (terminal qr:alipay)', () => {
  it('shows the QR with who pays what, no bank wait or signature, and drops the QR once paid', async () => {
    const ali = new FakeQr('alipay');
    const qb = await startBench({ qr: { alipay: ali }, qrTimers: { pollMs: 10, expirySeconds: 30 } });
    onTestFinished(() => qb.close());
    const pb = await qb.connected();
    const r = recorder();
    const c = new PayController({ host: r.host, newKey: keys, longWaitMs: 0, tickMs: 10 });
    c.setClient(pb);
    c.configure(config({ amount: '3000', terminal: 'qr:alipay' }));
    const paying = c.pay();
    await until(() => r.views.some((v) => v.qr !== undefined), 5000, 'QR shown');
    const shown = r.views.find((v) => v.qr !== undefined)!;
    expect(shown.qr).toMatchObject({
      method: 'alipay',
      text: LABELS.en.qrScan('Alipay', '¥30.00'),
      alt: 'Alipay QR code for ¥30.00',
      until: expect.stringMatching(/^Payable until \d\d:\d\d\.$/),
    });
    expect(shown.qr!.content.length).toBeGreaterThan(0);
    // The wait while the QR is up is the customer's: no "keep the card in the reader".
    await new Promise((res) => setTimeout(res, 30));
    const withQr = r.views.filter((v) => v.qr !== undefined);
    expect(withQr.some((v) => v.payment?.state === 'authorizing')).toBe(true);
    expect(withQr.every((v) => v.hostWait === undefined)).toBe(true);
    // The status speaks of the customer and Alipay, not of the bank and the card.
    const waiting = withQr.find((v) => v.payment?.state === 'authorizing')!;
    expect(waiting.status).toEqual(describeState('authorizing', 'en', null, null, { via: 'alipay' }));
    expect(waiting.status!.title).toBe('Waiting for the customer to pay…');
    // Chinese at once, the same QR.
    c.configure(config({ amount: '3000', terminal: 'qr:alipay', lang: 'zh' }));
    expect(r.last().qr).toMatchObject({
      content: shown.qr!.content,
      text: '请客户用支付宝扫描此码，支付 ¥30.00。',
    });

    ali.scanAndPay(shown.qr!.content.split('/').pop()!);
    await paying;
    const done = r.last();
    expect(done).toMatchObject({ phase: 'done', qr: undefined, signature: undefined });
    expect(done.payment).toMatchObject({ state: 'completed', amount: 3_000 });
    expect(r.events.filter((e) => e.type === 'posbridge-completed')).toHaveLength(1);
  });
});
