/**
 * Result webhooks: every outbox item of the journal (`payment.result`, `payment.needs_attention`,
 * `settlement.result`) is POSTed to the CRM backend, signed, retried with exponential back-off until
 * a 2xx, and only then marked delivered. The outbox lives in the journal, so an item survives
 * restarts and crashes: delivery is at least once (a crash between the backend's 2xx and the
 * journal's mark sends it again, with the same id). See docs/webhooks.md.
 *
 * Request:
 *   POST <url>
 *   content-type: application/json
 *   posbridge-webhook-id: <id>         the same on every attempt: the backend dedupes on it
 *   posbridge-topic: payment.result
 *   posbridge-attempt: 1, 2, ...
 *   posbridge-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>
 *   {"id":"<id>","topic":"payment.result","createdAt":"<ISO 8601>","data":{...}}
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { alphaCurrency } from './mapping.js';

/** The part of the journal the delivery loop uses (the journal's outbox). */
export interface WebhookOutbox {
  dueOutbox(limit?: number): WebhookOutboxItem[];
  outboxDelivered(id: number): void;
  outboxFailed(id: number, nextAt: Date, error: string): void;
}

export interface WebhookOutboxItem {
  id: number;
  topic: string;
  payload: Record<string, unknown>;
  createdAt: string;
  attempts: number;
}

interface LoggerLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WebhookTimers {
  /** How often the loop looks for due items (it is also woken by `kick()`). Default 1 s. */
  pollMs: number;
  /** First retry delay; it doubles per attempt (with jitter) up to `backoffMaxMs`. Default 1 s. */
  backoffInitialMs: number;
  /** Default 5 minutes. */
  backoffMaxMs: number;
  /** Per request. Default 10 s. */
  requestTimeoutMs: number;
}

export interface WebhookOptions extends Partial<WebhookTimers> {
  url: string;
  secret: string;
  outbox: WebhookOutbox;
  /** Makes the ids unique beyond one journal (the daemon passes its terminal id). */
  idPrefix?: string;
  logger?: LoggerLike;
  /** Tests. */
  fetch?: typeof fetch;
  now?: () => number;
}

export const DEFAULT_WEBHOOK_TIMERS: WebhookTimers = {
  pollMs: 1_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  requestTimeoutMs: 10_000,
};

export const SIGNATURE_HEADER = 'posbridge-signature';
export const ID_HEADER = 'posbridge-webhook-id';
export const TOPIC_HEADER = 'posbridge-topic';
export const ATTEMPT_HEADER = 'posbridge-attempt';

/** Hex HMAC-SHA256 of `timestamp + "." + body` under the secret. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The `posbridge-signature` header value for a body sent at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${webhookSignature(secret, timestamp, body)}`;
}

/**
 * Checks a received webhook: the header's HMAC over the raw body (as received, before any JSON
 * parsing) and a timestamp within `toleranceSeconds` (default 300) of now. Any `v1=` entry may match
 * (room for a secret rotation that sends two).
 */
export function verifyWebhookSignature(o: {
  secret: string;
  header: string | undefined | null;
  body: string | Buffer;
  toleranceSeconds?: number;
  nowSeconds?: number;
}): boolean {
  if (!o.header) return false;
  let t: number | undefined;
  const sigs: string[] = [];
  for (const part of o.header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)) sigs.push(v);
  }
  if (t === undefined || sigs.length === 0) return false;
  const now = o.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (o.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(webhookSignature(o.secret, t, o.body.toString()), 'hex');
  return sigs.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
}

/** The id the backend dedupes on: stable across attempts and restarts, unique per journal. */
export function webhookId(item: Pick<WebhookOutboxItem, 'id' | 'createdAt'>, prefix?: string): string {
  const created = Date.parse(item.createdAt);
  const stamp = Number.isFinite(created) ? created.toString(36) : '0';
  return `${prefix ? `${prefix}-` : ''}${item.id}-${stamp}`;
}

/** The outbox payload as the CRM sees it: the currency alphabetic, as in the WebSocket API. */
function webhookData(payload: Record<string, unknown>): Record<string, unknown> {
  const c = payload['currency'];
  return typeof c === 'string' && /^\d{3}$/.test(c) ? { ...payload, currency: alphaCurrency(c) } : payload;
}

/** The delivery loop. `start()` after the journal is open, `stop()` before it closes. */
export class WebhookDelivery {
  private readonly timers: WebhookTimers;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly target: string;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private abort: AbortController | undefined;

  constructor(private readonly o: WebhookOptions) {
    this.timers = {
      pollMs: o.pollMs ?? DEFAULT_WEBHOOK_TIMERS.pollMs,
      backoffInitialMs: o.backoffInitialMs ?? DEFAULT_WEBHOOK_TIMERS.backoffInitialMs,
      backoffMaxMs: o.backoffMaxMs ?? DEFAULT_WEBHOOK_TIMERS.backoffMaxMs,
      requestTimeoutMs: o.requestTimeoutMs ?? DEFAULT_WEBHOOK_TIMERS.requestTimeoutMs,
    };
    this.fetchImpl = o.fetch ?? fetch;
    this.now = o.now ?? Date.now;
    // Logged without query or credentials: they can hold a secret.
    const u = new URL(o.url);
    this.target = `${u.origin}${u.pathname}`;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.kick();
  }

  /** Look for due items now (the daemon calls it when the engine journals an event). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.drain()
      .catch((e: unknown) => this.o.logger?.error({ err: e }, 'webhook delivery loop failed'))
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
        } else this.timer = setTimeout(() => this.kick(), this.timers.pollMs);
      });
  }

  /** Stops the loop; a request in flight is aborted (the item stays due: it goes again next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort?.abort();
    await this.running;
  }

  /**
   * Tries every due item once, in outbox order. When the backend cannot be reached (refused, no
   * answer) the pass ends: the rest waits for the next poll instead of each waiting for a timeout.
   * A backend that answers but refuses one item does not hold back the others.
   */
  private async drain(): Promise<void> {
    const tried = new Set<number>();
    for (;;) {
      const due = this.o.outbox.dueOutbox(20).filter((i) => !tried.has(i.id));
      if (due.length === 0) return;
      for (const item of due) {
        if (this.stopped) return;
        tried.add(item.id);
        if ((await this.deliver(item)) === 'unreachable') return;
      }
    }
  }

  private async deliver(
    item: WebhookOutboxItem,
  ): Promise<'delivered' | 'refused' | 'unreachable' | 'stopped'> {
    const id = webhookId(item, this.o.idPrefix);
    const body = JSON.stringify({
      id,
      topic: item.topic,
      createdAt: item.createdAt,
      data: webhookData(item.payload),
    });
    const t = Math.floor(this.now() / 1000);
    const attempt = item.attempts + 1;
    const abort = new AbortController();
    this.abort = abort;
    const timeout = setTimeout(() => abort.abort(), this.timers.requestTimeoutMs);
    let error: string;
    let answered = false;
    try {
      const res = await this.fetchImpl(this.o.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'posbridge-webhooks/1',
          [ID_HEADER]: id,
          [TOPIC_HEADER]: item.topic,
          [ATTEMPT_HEADER]: String(attempt),
          [SIGNATURE_HEADER]: signatureHeader(this.o.secret, t, body),
        },
        body,
        // A redirect is not a delivery: the signed body goes to the configured URL only.
        redirect: 'manual',
        signal: abort.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        this.o.outbox.outboxDelivered(item.id);
        this.o.logger?.info({ webhookId: id, topic: item.topic, attempt }, 'webhook delivered');
        return 'delivered';
      }
      answered = true;
      error = `HTTP ${res.status}`;
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      error = abort.signal.aborted
        ? this.stopped
          ? 'stopped'
          : `no answer within ${this.timers.requestTimeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (e as Error).message ?? String(e));
    } finally {
      clearTimeout(timeout);
      if (this.abort === abort) this.abort = undefined;
    }
    // Stopping (the journal is about to close): leave the item as it was; it is still due.
    if (this.stopped) return 'stopped';
    const base = Math.min(
      this.timers.backoffMaxMs,
      this.timers.backoffInitialMs * 2 ** Math.min(item.attempts, 30),
    );
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.o.outbox.outboxFailed(item.id, new Date(this.now() + delay), error);
    this.o.logger?.warn(
      { webhookId: id, topic: item.topic, attempt, error, retryInMs: delay, url: this.target },
      'webhook not accepted; will retry',
    );
    return answered ? 'refused' : 'unreachable';
  }
}
