import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as WS } from 'ws';
import {
  ConnectionLostError,
  type ClientPaymentEvent,
  type ConnectionState,
  type PosbridgeClient,
} from '../../src/api/client/index.js';
import { startBench, until, type Bench } from './helpers.js';

let b: Bench;
beforeAll(async () => {
  b = await startBench();
});
afterAll(async () => {
  await b?.close();
});

/** Every durable seq the client delivered must be the journal's, in order, with no gaps or repeats. */
function expectGapFree(events: ClientPaymentEvent[], fromSeq: number): void {
  const seqs = events.filter((e) => e.durable).map((e) => e.seq);
  const journal = b.engine
    .eventsSince(fromSeq, 100_000)
    .map((e) => e.seq)
    .filter((s) => s <= (seqs.at(-1) ?? 0));
  expect(seqs).toEqual(journal);
  expect(new Set(seqs).size).toBe(seqs.length);
}

function record(pb: PosbridgeClient): { events: ClientPaymentEvent[]; states: ConnectionState[] } {
  const events: ClientPaymentEvent[] = [];
  const states: ConnectionState[] = [];
  pb.on('payment', (e) => events.push(e));
  pb.on('state', (s) => states.push(s));
  return { events, states };
}

describe('reconnect and replay', () => {
  it.each([
    ['the client closes the socket', 'close'],
    ['the TCP connection dies (no close frame)', 'destroy'],
  ])(
    '%s mid-payment: the client reconnects, replays, and its events end with the final state, no gaps or repeats',
    async (_what, how) => {
      let socket: WS | undefined;
      const pb = b.client({
        createWebSocket: (url) => {
          socket = new WS(url);
          return socket;
        },
      });
      const { events, states } = record(pb);
      await pb.connect();
      const from = pb.lastSeq!;
      b.reader.hold = true;
      const { paymentId } = await pb.payment.sale({
        idempotencyKey: `replay-${how}`,
        orderId: 'O-R',
        amount: 77_700,
        currency: 'CNY',
      });
      await b.reader.whenWaiting();
      await until(
        () => events.some((e) => e.paymentId === paymentId && e.state === 'awaiting_card'),
        2000,
        'first event',
      );

      const before = socket!;
      if (how === 'close') pb.dropConnection();
      else (before as unknown as { _socket: { destroy(): void } })._socket.destroy();
      await until(() => pb.state === 'reconnecting', 2000, 'reconnecting');
      // The payment finishes while the client is away.
      b.reader.release();
      expect((await b.engine.settled(paymentId)).state).toBe('completed');

      await until(() => pb.state === 'ready', 5000, 'ready again');
      await until(
        () => events.some((e) => e.paymentId === paymentId && e.state === 'completed'),
        2000,
        'completed',
      );
      expect(socket).not.toBe(before);
      expect(states).toContain('reconnecting');
      const mine = events.filter((e) => e.paymentId === paymentId && e.durable);
      expect(mine.map((e) => e.state)).toEqual(['awaiting_card', 'authorizing', 'approved', 'completed']);
      expect(mine.at(-1)).toMatchObject({ state: 'completed', final: true });
      expect(mine.slice(1).every((e) => e.replayed)).toBe(true);
      expectGapFree(events, from);

      // Calls work again; a call made during the outage would have waited for the connection.
      expect((await pb.payment.get({ paymentId })).state).toBe('completed');
      pb.close();
    },
  );

  it('calls made while reconnecting wait for the connection; calls in flight at the drop fail with a retryable error', async () => {
    let socket: WS | undefined;
    const pb = b.client({
      createWebSocket: (url) => {
        socket = new WS(url);
        return socket;
      },
    });
    await pb.connect();
    const inFlight = pb.payment.list({ limit: 1 });
    (socket as unknown as { _socket: { destroy(): void } })._socket.destroy();
    const lost = await inFlight.catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(ConnectionLostError);
    expect((lost as ConnectionLostError).retryable).toBe(true);
    // The socket is closing: this call waits for the next connection.
    pb.dropConnection();
    const got = await pb.payment.list({ limit: 1 });
    expect(got.payments).toHaveLength(1);
    pb.close();
  });

  it('more events than one replay page (1,000) while away: all delivered, in order', async () => {
    const pb = b.client();
    const { events } = record(pb);
    await pb.connect();
    const from = pb.lastSeq!;
    pb.dropConnection();
    await until(() => pb.state === 'reconnecting', 2000, 'reconnecting');
    for (let i = 0; i < 1500; i++) b.journal.appendEvent(null, 'test.marker', { i });
    await until(() => pb.state === 'ready', 5000, 'ready again');
    expect(events.filter((e) => e.type === 'test.marker')).toHaveLength(1500);
    expectGapFree(events, from);
    pb.close();
  });

  it('a gap in the live stream (a journal event nobody emitted) is filled by a replay before later events', async () => {
    const pb = b.client();
    const { events } = record(pb);
    await pb.connect();
    const from = pb.lastSeq!;
    for (let i = 0; i < 3; i++) b.journal.appendEvent(null, 'test.silent', { i });
    const { paymentId } = await pb.payment.sale({
      idempotencyKey: 'gap-1',
      orderId: 'O',
      amount: 500,
      currency: 'CNY',
    });
    await pb.waitForPayment(paymentId);
    await until(
      () => events.some((e) => e.paymentId === paymentId && e.state === 'completed'),
      2000,
      'completed',
    );
    expect(events.filter((e) => e.durable)[0]?.type).toBe('test.silent');
    expectGapFree(events, from);
    pb.close();
  });

  it('a page that stored lastSeq replays from it on its first connect (sinceSeq)', async () => {
    const first = b.client();
    await first.connect();
    const stored = first.lastSeq!;
    first.close();
    const { paymentId } = await (
      await b.connected()
    ).payment.sale({ idempotencyKey: 'since-1', orderId: 'O', amount: 600, currency: 'CNY' });
    await b.engine.settled(paymentId);

    const again = b.client({ sinceSeq: stored });
    const { events } = record(again);
    await again.connect();
    expect(events.filter((e) => e.paymentId === paymentId).map((e) => e.state)).toEqual([
      'awaiting_card',
      'authorizing',
      'approved',
      'completed',
    ]);
    expectGapFree(events, stored);
  });

  it('the server shutting down (1001): clients go to reconnecting', async () => {
    const own = await startBench();
    try {
      const pb = own.client();
      await pb.connect();
      await own.api.close();
      await until(() => pb.state === 'reconnecting', 2000, 'reconnecting');
      expect(pb.state).toBe('reconnecting');
      pb.close();
    } finally {
      await own.close();
    }
  });
});
