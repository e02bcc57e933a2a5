import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  WebhookDelivery,
  signatureHeader,
  verifyWebhookSignature,
  webhookId,
  webhookSignature,
  type WebhookOutbox,
  type WebhookOutboxItem,
} from '../../src/api/webhooks.js';
import { startReceiver, type Receiver } from './receiver.js';

const SECRET = 'whsec-test-0123456789abcdef';

/** The journal's outbox semantics in memory: due = not delivered and next_at reached. */
class MemoryOutbox implements WebhookOutbox {
  items: (WebhookOutboxItem & { nextAt: number; deliveredAt?: number; lastError?: string })[] = [];
  /** Each failure's retry delay (ms from now). */
  delays: number[] = [];
  add(topic: string, payload: Record<string, unknown>): number {
    const id = this.items.length + 1;
    this.items.push({ id, topic, payload, createdAt: new Date().toISOString(), attempts: 0, nextAt: 0 });
    return id;
  }
  dueOutbox(limit = 20): WebhookOutboxItem[] {
    return this.items
      .filter((i) => i.deliveredAt === undefined && i.nextAt <= Date.now())
      .slice(0, limit)
      .map((i) => ({ ...i }));
  }
  outboxDelivered(id: number): void {
    const i = this.items[id - 1]!;
    i.deliveredAt = Date.now();
    i.attempts++;
  }
  outboxFailed(id: number, nextAt: Date, error: string): void {
    const i = this.items[id - 1]!;
    i.attempts++;
    i.nextAt = nextAt.getTime();
    this.delays.push(i.nextAt - Date.now());
    i.lastError = error;
  }
}

/** Polls a condition (the sender marks an item after reading the answer, a moment after the receiver). */
async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function receiver(mode: 'up' | 'down' | 'hold' = 'up'): Promise<Receiver> {
  const r = await startReceiver(SECRET, mode);
  closers.push(() => r.close());
  return r;
}

function delivery(
  url: string,
  outbox: WebhookOutbox,
  extra: Partial<ConstructorParameters<typeof WebhookDelivery>[0]> = {},
) {
  const d = new WebhookDelivery({
    url,
    secret: SECRET,
    outbox,
    idPrefix: 'TERM0001',
    pollMs: 20,
    backoffInitialMs: 20,
    backoffMaxMs: 100,
    requestTimeoutMs: 1000,
    ...extra,
  });
  closers.push(() => d.stop());
  return d;
}

describe('webhook signatures', () => {
  const body = '{"id":"TERM0001-1-x","topic":"payment.result","data":{"paymentId":"p1"}}';
  const t = 1_760_000_000;

  it('signs timestamp + "." + body with HMAC-SHA256 (a known vector)', () => {
    // Computed independently: printf '%s' "1760000000.$body" | openssl dgst -sha256 -hmac "$SECRET"
    expect(webhookSignature(SECRET, t, body)).toBe(
      '8a3f3dc17b7a5e5c28bd7e2db79f7426cc3ff7c6c2f58b2355e4331bfb6c1625',
    );
    expect(signatureHeader(SECRET, t, body)).toBe(
      't=1760000000,v1=8a3f3dc17b7a5e5c28bd7e2db79f7426cc3ff7c6c2f58b2355e4331bfb6c1625',
    );
  });

  it('verifies the right secret, body and a fresh timestamp; refuses everything else', () => {
    const header = signatureHeader(SECRET, t, body);
    expect(verifyWebhookSignature({ secret: SECRET, header, body, nowSeconds: t + 10 })).toBe(true);
    expect(verifyWebhookSignature({ secret: SECRET, header, body: Buffer.from(body), nowSeconds: t })).toBe(
      true,
    );
    expect(verifyWebhookSignature({ secret: 'another-secret-0000', header, body, nowSeconds: t })).toBe(
      false,
    );
    expect(
      verifyWebhookSignature({ secret: SECRET, header, body: body.replace('p1', 'p2'), nowSeconds: t }),
    ).toBe(false);
    expect(verifyWebhookSignature({ secret: SECRET, header, body, nowSeconds: t + 301 })).toBe(false);
    expect(
      verifyWebhookSignature({ secret: SECRET, header, body, nowSeconds: t + 301, toleranceSeconds: 600 }),
    ).toBe(true);
    expect(verifyWebhookSignature({ secret: SECRET, header: undefined, body, nowSeconds: t })).toBe(false);
    expect(verifyWebhookSignature({ secret: SECRET, header: `t=${t}`, body, nowSeconds: t })).toBe(false);
    expect(verifyWebhookSignature({ secret: SECRET, header: `t=${t},v1=zz`, body, nowSeconds: t })).toBe(
      false,
    );
    // A second v1 (secret rotation) may match.
    const rotated = `${header.replace(/v1=/, 'v1=' + '0'.repeat(64) + ',v1=')}`;
    expect(verifyWebhookSignature({ secret: SECRET, header: rotated, body, nowSeconds: t })).toBe(true);
  });

  it('gives ids that are stable for an item and differ between items and journals', () => {
    const a = { id: 7, createdAt: '2026-03-14T08:00:00.000Z' };
    expect(webhookId(a, 'TERM0001')).toBe(webhookId({ ...a }, 'TERM0001'));
    expect(webhookId(a, 'TERM0001')).not.toBe(webhookId({ ...a, id: 8 }, 'TERM0001'));
    expect(webhookId(a, 'TERM0001')).not.toBe(
      webhookId({ ...a, createdAt: '2026-03-15T08:00:00.000Z' }, 'TERM0001'),
    );
    expect(webhookId(a, 'TERM0001')).toMatch(/^TERM0001-7-/);
  });
});

describe('webhook delivery', () => {
  it('POSTs each outbox item signed, with its id and topic, and marks it delivered on a 2xx', async () => {
    const r = await receiver('up');
    const outbox = new MemoryOutbox();
    outbox.add('payment.result', { paymentId: 'p1', state: 'completed', amount: 12_800_000 });
    outbox.add('payment.needs_attention', { paymentId: 'p2', state: 'needs_attention' });
    const d = delivery(r.url, outbox);
    d.start();
    await waitFor(() => outbox.items.every((i) => i.deliveredAt !== undefined));
    await d.stop();
    expect(r.received.every((x) => x.verified && x.answered === 200)).toBe(true);
    expect(r.received.map((x) => x.topic)).toEqual(['payment.result', 'payment.needs_attention']);
    const first = r.received[0]!;
    expect(first.json).toMatchObject({ id: first.id, topic: 'payment.result', data: { paymentId: 'p1' } });
    expect(first.attempt).toBe(1);
    expect(outbox.items.every((i) => i.deliveredAt !== undefined)).toBe(true);
  });

  it('retries with growing back-off until a 2xx; the id and body stay the same', async () => {
    const r = await receiver('down');
    const outbox = new MemoryOutbox();
    outbox.add('payment.result', { paymentId: 'p1', state: 'completed' });
    const d = delivery(r.url, outbox);
    d.start();
    await r.until((rs) => rs.length >= 4);
    r.mode = 'up';
    await waitFor(() => outbox.items[0]!.deliveredAt !== undefined);
    await d.stop();
    const ids = new Set(r.received.map((x) => x.id));
    const bodies = new Set(r.received.map((x) => x.body));
    expect(ids.size).toBe(1);
    expect(bodies.size).toBe(1);
    expect(r.received.every((x) => x.verified)).toBe(true);
    expect(r.received.map((x) => x.attempt)).toEqual(r.received.map((_, i) => i + 1));
    expect(outbox.items[0]!.deliveredAt).toBeDefined();
    expect(outbox.items[0]!.lastError).toBe('HTTP 503');
    // Equal jitter around 20 ms doubling per attempt, capped at 100 ms.
    outbox.delays.forEach((d, k) => {
      const base = Math.min(100, 20 * 2 ** k);
      expect(d).toBeGreaterThanOrEqual(base / 2 - 5);
      expect(d).toBeLessThanOrEqual(base + 1);
    });
  });

  it('treats a refused connection and a redirect as failures, not deliveries', async () => {
    const redirecting = http.createServer((_req, res) =>
      res.writeHead(307, { location: 'http://127.0.0.1:9/' }).end(),
    );
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => redirecting.close(() => resolve())));
    const port = (redirecting.address() as AddressInfo).port;
    const outbox = new MemoryOutbox();
    outbox.add('payment.result', { paymentId: 'p1' });
    const d = delivery(`http://127.0.0.1:${port}/hook`, outbox);
    d.start();
    await waitFor(() => outbox.items[0]!.attempts >= 2);
    await d.stop();
    expect(outbox.items[0]!.deliveredAt).toBeUndefined();
    expect(outbox.items[0]!.lastError).toBe('HTTP 307');

    // Nothing listening: the connection is refused.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outbox2 = new MemoryOutbox();
    outbox2.add('payment.result', { paymentId: 'p2' });
    const d2 = delivery(`http://127.0.0.1:${deadPort}/hook`, outbox2);
    d2.start();
    await waitFor(() => outbox2.items[0]!.attempts >= 1);
    await d2.stop();
    expect(outbox2.items[0]!.deliveredAt).toBeUndefined();
    expect(outbox2.items[0]!.lastError).toMatch(/ECONNREFUSED/);
  });

  it('waits for the next poll when the backend is unreachable, but not when it refuses one item', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = new MemoryOutbox();
    unreachable.add('payment.result', { paymentId: 'p1' });
    unreachable.add('payment.result', { paymentId: 'p2' });
    const d = delivery(`http://127.0.0.1:${deadPort}/hook`, unreachable, { pollMs: 60_000 });
    d.start();
    await waitFor(() => unreachable.items[0]!.attempts === 1);
    await d.stop();
    expect(unreachable.items[1]!.attempts).toBe(0);

    const r = await receiver('down');
    const refusing = new MemoryOutbox();
    refusing.add('payment.result', { paymentId: 'p1' });
    refusing.add('payment.result', { paymentId: 'p2' });
    const d2 = delivery(r.url, refusing, { pollMs: 60_000, backoffInitialMs: 60_000 });
    d2.start();
    await waitFor(() => refusing.items.every((i) => i.attempts === 1));
    await d2.stop();
  });

  it('stop() aborts a request in flight and leaves the item due (sent again after a restart)', async () => {
    const r = await receiver('hold');
    const outbox = new MemoryOutbox();
    outbox.add('payment.result', { paymentId: 'p1' });
    const d = delivery(r.url, outbox, { requestTimeoutMs: 60_000 });
    d.start();
    await r.until((rs) => rs.length === 1);
    await d.stop();
    expect(outbox.items[0]!.deliveredAt).toBeUndefined();
    expect(outbox.dueOutbox()).toHaveLength(1);
    r.mode = 'up';
    const again = delivery(r.url, outbox);
    again.start();
    await waitFor(() => outbox.items[0]!.deliveredAt !== undefined);
    await again.stop();
    expect(r.received.map((x) => x.id)).toEqual([r.received[0]!.id, r.received[0]!.id]);
    expect(outbox.items[0]!.deliveredAt).toBeDefined();
  });

  it('a request that gets no answer in time is retried', async () => {
    const r = await receiver('hold');
    const outbox = new MemoryOutbox();
    outbox.add('payment.result', { paymentId: 'p1' });
    const d = delivery(r.url, outbox, { requestTimeoutMs: 100 });
    d.start();
    await r.until((rs) => rs.length >= 2);
    r.mode = 'up';
    await waitFor(() => outbox.items[0]!.deliveredAt !== undefined);
    await d.stop();
    expect(outbox.items[0]!.lastError).toBe('no answer within 100 ms');
    expect(outbox.items[0]!.deliveredAt).toBeDefined();
  });
});
