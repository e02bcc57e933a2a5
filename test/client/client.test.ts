// @posbridge/client against the real API server (test/api's bench: engine, host simulator, fake
// terminals): typed event-name errors, discover/connect, collectPayment to each end, cancelPayment's
// outcomes. The package is imported by its name, as a CRM would (vitest resolves it to its sources).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  PaymentInterruptedError,
  PosbridgeError,
  RpcError,
  TerminalNotReadyError,
  UnknownEventError,
  newIdempotencyKey,
  type PaymentProgress,
  type PosbridgeClient,
  type TerminalInfo,
} from '@posbridge/client';
import { FakeQr } from '../engine/fake-qr.js';
import { startBench, until, type Bench } from '../api/helpers.js';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('event names', () => {
  let b: Bench;
  beforeAll(async () => {
    b = await startBench();
  });
  afterAll(async () => {
    await b?.close();
  });

  it('pb.on / pb.off with an unknown name throw UnknownEventError listing the valid names', () => {
    const pb = b.client();
    let err: unknown;
    try {
      pb.on('nonsense' as never, () => undefined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnknownEventError);
    expect(err).toBeInstanceOf(PosbridgeError);
    const e = err as UnknownEventError;
    expect(e.code).toBe('unknown_event');
    expect(e.event).toBe('nonsense');
    expect(e.validEvents).toEqual(['payment', 'terminal', 'state', 'error']);
    expect(e.message).toContain('"payment", "terminal", "state", "error"');

    // The protocol's notification name: a hint to the client's name for it.
    expect(() => pb.on('payment.event' as never, () => undefined)).toThrow(/did you mean "payment"/);
    expect(() => pb.off('terminals' as never, () => undefined)).toThrow(UnknownEventError);
    expect(() => pb.on(undefined as never, () => undefined)).toThrow(UnknownEventError);

    // A listener that is not a function: typed too.
    expect(() => pb.on('payment', 'log' as never)).toThrow(InvalidArgumentError);

    // The valid names still work.
    const off = pb.on('state', () => undefined);
    expect(typeof off).toBe('function');
    off();
  });
});

describe('terminals, payments, cancel', () => {
  let b: Bench;
  let pb: PosbridgeClient;
  beforeAll(async () => {
    b = await startBench();
    pb = await b.connected({ operatorId: 'op-client' });
  });
  afterAll(async () => {
    await b?.close();
  });
  afterEach(() => {
    b.reader.hold = false;
    b.reader.delayMs = 0;
  });

  it('discoverTerminals: readers and ZVT terminals, with kind and readiness', async () => {
    b.terminals.terminals.set('Z1', {
      terminalId: 'Z1',
      state: 'disconnected',
      kind: 'zvt',
      transport: 'tcp',
      capabilities: ['sale', 'refund'],
    } as TerminalInfo);
    try {
      const found = await pb.discoverTerminals();
      expect(found).toEqual([
        expect.objectContaining({ terminalId: 'R1', kind: 'reader', state: 'idle', ready: true }),
        expect.objectContaining({
          terminalId: 'Z1',
          kind: 'zvt',
          state: 'disconnected',
          ready: false,
          capabilities: ['sale', 'refund'],
        }),
      ]);

      // connectTerminal: connects and resolves once ready.
      expect(await pb.connectTerminal('Z1')).toMatchObject({ terminalId: 'Z1', state: 'idle' });
    } finally {
      b.terminals.terminals.delete('Z1');
    }
  });

  it('connectTerminal waits for the terminal to become ready; says so when it does not; unknown ids are typed', async () => {
    const original = b.terminals.connect.bind(b.terminals);
    // A reader that takes a while: connect answers "connecting", the terminal event says idle later.
    b.terminals.connect = async (id?: string) => {
      b.terminals.set(id ?? 'R1', 'connecting');
      setTimeout(() => b.terminals.set(id ?? 'R1', 'idle'), 150);
      return b.terminals.status(id);
    };
    try {
      const t0 = Date.now();
      expect(await pb.connectTerminal('R1')).toMatchObject({ terminalId: 'R1', state: 'idle' });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(100);

      // One that never comes: TerminalNotReadyError with its last status.
      b.terminals.connect = async (id?: string) => {
        const t = b.terminals.terminals.get(id ?? 'R1')!;
        t.state = 'connecting';
        t.lastError = 'ble_out_of_range';
        return { ...t };
      };
      const e = await rejection(pb.connectTerminal('R1', { timeoutMs: 300 }));
      expect(e).toBeInstanceOf(TerminalNotReadyError);
      expect(e).toMatchObject({
        code: 'terminal_not_ready',
        retryable: true,
        terminal: { terminalId: 'R1', state: 'connecting', lastError: 'ble_out_of_range' },
      });
      expect((e as Error).message).toContain('ble_out_of_range');
    } finally {
      b.terminals.connect = original;
      delete b.terminals.terminals.get('R1')!.lastError;
      await b.terminals.connect('R1');
    }
    const unknown = await rejection(pb.connectTerminal('NOPE'));
    expect(unknown).toBeInstanceOf(RpcError);
    expect(unknown).toMatchObject({ code: 'unknown_terminal' });
  });

  it('collectPayment: follows a card payment to completed, reporting prompts and states; the same key picks it up again', async () => {
    b.reader.delayMs = 30; // the reader shows "present card" for a moment
    const updates: PaymentProgress[] = [];
    const idempotencyKey = newIdempotencyKey();
    const paid = await pb.collectPayment({
      orderId: 'ORD-C1',
      amount: 12_300,
      idempotencyKey,
      onProgress: (u) => updates.push(u),
    });
    expect(paid).toMatchObject({
      outcome: 'completed',
      state: 'completed',
      final: true,
      orderId: 'ORD-C1',
      amount: 12_300,
      currency: 'CNY',
      operatorId: 'op-client',
      idempotencyKey,
      existing: false,
    });
    expect(paid.message).toBe('paid: 123.00 CNY');
    expect(paid.card?.panDisplay).toMatch(/\*/);
    expect(updates.every((u) => u.paymentId === paid.paymentId)).toBe(true);
    expect(updates.some((u) => u.type === 'progress' && u.progress === 'present_card')).toBe(true);
    const states = updates.filter((u) => u.type === 'state').map((u) => u.state);
    expect(states).toContain('awaiting_card');
    expect(states.at(-1)).toBe('completed');
    expect(updates.at(-1)).toMatchObject({ state: 'completed', final: true });

    // Again with the same key (a page reload): the same payment, nothing charged twice.
    const again = await pb.collectPayment({ orderId: 'ORD-C1', amount: 12_300, idempotencyKey });
    expect(again).toMatchObject({ paymentId: paid.paymentId, outcome: 'completed', existing: true });
    expect((await pb.order.get('ORD-C1')).captured).toBe(12_300);
  });

  it('collectPayment: a decline resolves (it is an outcome, not an error) with the reason', async () => {
    const r = await pb.collectPayment({ orderId: 'ORD-C2', amount: 12_351 });
    expect(r).toMatchObject({ outcome: 'declined', state: 'declined', reason: 'declined_51', final: true });
    expect(r.message).toContain('no money was taken');
  });

  it('collectPayment: a partial approval is handed back, or accepted / declined as asked', async () => {
    const asIs = await pb.collectPayment({ orderId: 'ORD-C3', amount: 20_077 });
    expect(asIs).toMatchObject({ outcome: 'partially_approved', final: false, approvedAmount: 10_038 });
    expect(asIs.message).toContain('100.38 CNY of 200.77 CNY');
    await pb.payment.declinePartial({ paymentId: asIs.paymentId });

    const accepted = await pb.collectPayment({
      orderId: 'ORD-C3',
      amount: 20_077,
      acceptPartial: true,
    });
    expect(accepted).toMatchObject({ outcome: 'completed', approvedAmount: 10_038 });

    const seen: number[] = [];
    const declined = await pb.collectPayment({
      orderId: 'ORD-C3',
      amount: 30_077,
      acceptPartial: async (p) => {
        seen.push(p.approvedAmount ?? 0);
        return false;
      },
    });
    expect(seen).toHaveLength(1);
    expect(declined).toMatchObject({ outcome: 'reversed', state: 'reversed' });
  });

  it('collectPayment: errors the daemon answers before starting are RpcErrors, nothing is followed', async () => {
    const e = await rejection(pb.collectPayment({ orderId: 'ORD-C4', amount: 10, currency: 'USD' }));
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({ code: 'invalid_params', path: 'params.currency' });

    b.reader.hold = true;
    const first = pb.collectPayment({ orderId: 'ORD-C4', amount: 100 });
    await b.reader.whenWaiting();
    const busy = await rejection(pb.collectPayment({ orderId: 'ORD-C4', amount: 200 }));
    expect(busy).toMatchObject({ code: 'reader_busy', retryable: true });
    b.reader.release();
    expect((await first).outcome).toBe('completed');
  });

  it('cancelPayment says what it did: cancelled while waiting for the card; too late once completed; nothing to do after a decline', async () => {
    b.reader.hold = true;
    const updates: PaymentProgress[] = [];
    const collecting = pb.collectPayment({
      orderId: 'ORD-X1',
      amount: 4_200,
      onProgress: (u) => updates.push(u),
    });
    await b.reader.whenWaiting();
    await until(() => updates.length > 0, 5000, 'first update');
    const id = updates[0]!.paymentId;
    const c = await pb.cancelPayment(id, { wait: true });
    expect(c).toMatchObject({ outcome: 'cancelled', payment: { paymentId: id, state: 'cancelled' } });
    expect(c.message).toContain('no money was taken');
    expect(await collecting).toMatchObject({ paymentId: id, outcome: 'cancelled', state: 'cancelled' });
    b.reader.hold = false;

    const done = await pb.collectPayment({ orderId: 'ORD-X2', amount: 4_300 });
    const late = await pb.cancelPayment(done.paymentId);
    expect(late).toMatchObject({ outcome: 'already_completed', payment: { state: 'completed' } });
    expect(late.message).toMatch(/void .*refund/);

    const declined = await pb.collectPayment({ orderId: 'ORD-X3', amount: 4_351 });
    expect(await pb.cancelPayment(declined.paymentId)).toMatchObject({
      outcome: 'already_final',
      payment: { state: 'declined' },
    });

    const unknown = await rejection(pb.cancelPayment('nope'));
    expect(unknown).toBeInstanceOf(RpcError);
    expect(unknown).toMatchObject({ code: 'unknown_payment' });
  });

  it('collectPayment with an AbortSignal: aborting cancels the payment and resolves with how it ended', async () => {
    b.reader.hold = true;
    const ac = new AbortController();
    const collecting = pb.collectPayment({ orderId: 'ORD-X4', amount: 4_400, signal: ac.signal });
    await b.reader.whenWaiting();
    ac.abort();
    expect(await collecting).toMatchObject({ outcome: 'cancelled', state: 'cancelled' });
  });

  it('collectPayment rejects with PaymentInterruptedError when the connection is gone for good, and never calls that a failure', async () => {
    const other = await b.connected();
    b.reader.hold = true;
    let id: string | undefined;
    const collecting = other.collectPayment({
      orderId: 'ORD-X5',
      amount: 4_500,
      onProgress: (u) => (id = u.paymentId),
    });
    await b.reader.whenWaiting();
    await until(() => id !== undefined, 5000, 'payment id');
    other.close();
    const e = await rejection(collecting);
    expect(e).toBeInstanceOf(PaymentInterruptedError);
    expect(e).toMatchObject({ code: 'payment_interrupted', retryable: true, paymentId: id });
    expect((e as PaymentInterruptedError).lastState).toBe('awaiting_card');
    expect((e as Error).message).toContain('does not mean it failed');
    // The payment goes on at the daemon; tidy up.
    expect((await pb.cancelPayment(id!, { wait: true })).outcome).toBe('cancelled');
  });
});

describe('collectPayment when the acquirer answer is lost', () => {
  let b: Bench;
  afterAll(async () => {
    await b?.close();
  });

  it('resolves with state unknown and says it is not a failure; a cancel then is queued and ends without money taken', async () => {
    b = await startBench({ engine: { inquiryWaitMs: 100 } });
    const pb = await b.connected();
    // The host takes the request, its answer is lost, and the link stays down: the payment stays unknown.
    b.sim.faults.add({ match: { mti: '0200' }, action: 'close_before_response', times: 1 });
    b.engine.on('event', (e: { kind: string; data: Record<string, unknown> }) => {
      if (e.kind === 'durable' && e.data['state'] === 'unknown') void b.link.close();
    });
    const r = await pb.collectPayment({ orderId: 'ORD-U1', amount: 6_600, timeoutMs: 1_500 });
    expect(r).toMatchObject({ outcome: 'unknown', state: 'unknown', final: false });
    expect(r.message).toContain('not a failure');
    expect(r.message).toContain('do not charge again');

    const queued = await pb.cancelPayment(r.paymentId);
    expect(queued).toMatchObject({ outcome: 'queued', payment: { state: 'unknown', cancelRequested: true } });
    expect(queued.message).toContain('never completed');

    b.link.start();
    const ended = await pb.cancelPayment(r.paymentId, { wait: true, timeoutMs: 10_000 });
    expect(ended.outcome).toBe('cancelled');
    expect(['reversed', 'declined', 'failed']).toContain(ended.payment.state);
  });
});

describe('collectPayment by scan-to-pay', () => {
  let b: Bench;
  afterAll(async () => {
    await b?.close();
  });

  it('reports the QR to show, completes when the customer pays; a provider the desk lacks is a typed error', async () => {
    const ali = new FakeQr('alipay');
    b = await startBench({ qr: { alipay: ali }, qrTimers: { pollMs: 10, expirySeconds: 30 } });
    const pb = await b.connected();
    const qr: string[] = [];
    const paid = await pb.collectPayment({
      orderId: 'ORD-Q1',
      amount: 3_000,
      method: 'alipay',
      onProgress: (u) => {
        if (u.type === 'qr' && u.qrContent) {
          qr.push(u.qrContent);
          ali.scanAndPay(u.qrContent.split('/').pop()!);
        }
      },
    });
    expect(qr).toHaveLength(1);
    expect(qr[0]).toMatch(/^https:\/\/qr\.example\//);
    expect(paid).toMatchObject({
      outcome: 'completed',
      state: 'completed',
      method: 'alipay',
      qr: { mode: 'qr' },
    });

    const e = await rejection(pb.collectPayment({ orderId: 'ORD-Q2', amount: 3_000, method: 'wechat' }));
    expect(e).toBeInstanceOf(RpcError);
    expect((e as RpcError).code).toBe('not_supported_by_terminal');
  });

  it('the same key again (a reload while the QR is open) reports the open QR again, and the payment completes', async () => {
    const ali = new FakeQr('alipay');
    const qb = await startBench({ qr: { alipay: ali }, qrTimers: { pollMs: 10, expirySeconds: 30 } });
    try {
      const pb = await qb.connected();
      const first: string[] = [];
      const key = `reload-${process.pid}`;
      // The page stops following before the customer pays (a reload): the payment stays open.
      const pending = await pb.collectPayment({
        orderId: 'ORD-QR',
        amount: 4_500,
        method: 'alipay',
        idempotencyKey: key,
        timeoutMs: 300,
        onProgress: (u) => void (u.qrContent && first.push(u.qrContent)),
      });
      expect(pending).toMatchObject({ outcome: 'pending', final: false });
      expect(first).toHaveLength(1);
      const again: { qrContent?: string; replayed?: boolean }[] = [];
      const paid = await pb.collectPayment({
        orderId: 'ORD-QR',
        amount: 4_500,
        method: 'alipay',
        idempotencyKey: key,
        onProgress: (u) => {
          if (u.type !== 'qr' || !u.qrContent) return;
          again.push({ qrContent: u.qrContent, replayed: u.event.replayed });
          ali.scanAndPay(u.qrContent.split('/').pop()!);
        },
      });
      expect(again).toEqual([{ qrContent: first[0], replayed: true }]);
      expect(paid).toMatchObject({ outcome: 'completed', existing: true, paymentId: pending.paymentId });
    } finally {
      await qb.close();
    }
  });

  it('discoverTerminals lists the configured QR providers as qr:<method> terminals; connect and collect take them', async () => {
    const ali = new FakeQr('alipay');
    const bench = await startBench({ qr: { alipay: ali }, qrTimers: { pollMs: 10, expirySeconds: 30 } });
    try {
      const pb = await bench.connected();
      const found = await pb.discoverTerminals();
      expect(found.map((t) => [t.terminalId, t.kind, t.ready])).toEqual([
        ['R1', 'reader', true],
        ['qr:alipay', 'qr', true],
      ]);
      expect(found[1]).toMatchObject({ name: 'Alipay', qr: { method: 'alipay', modes: ['qr', 'code'] } });

      // Nothing to connect: it says the provider is there; one that is not configured is unknown_terminal.
      expect(await pb.connectTerminal('qr:alipay')).toMatchObject({
        terminalId: 'qr:alipay',
        kind: 'qr',
        state: 'idle',
      });
      const e = await rejection(pb.connectTerminal('qr:wechat'));
      expect(e).toBeInstanceOf(RpcError);
      expect((e as RpcError).code).toBe('unknown_terminal');

      // The terminal id picks the method.
      const paid = await pb.collectPayment({
        orderId: 'ORD-Q3',
        amount: 1_000,
        terminalId: 'qr:alipay',
        onProgress: (u) => {
          if (u.type === 'qr' && u.qrContent) ali.scanAndPay(u.qrContent.split('/').pop()!);
        },
      });
      expect(paid).toMatchObject({ outcome: 'completed', method: 'alipay' });
    } finally {
      await bench.close();
    }
  });
});
