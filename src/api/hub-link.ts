/**
 * The daemon's side of the fleet stream (docs/fleet.md, protocol in hub-protocol.ts). The journal is
 * the outbox: the link reads durable events after the hub's cursor, a page at a time (memory stays
 * bounded however long the laptop was offline), sends them with the current masked view of every
 * payment they touch, and moves on only when the hub acknowledges. One batch is in flight; a busy hub
 * (503) is waited for; a gap (409) rewinds to the hub's cursor; a network failure backs off and
 * resends the same range (the hub drops what it already has). Health is a snapshot, never queued: the
 * latest goes with the next batch, or alone every `healthMs`.
 */
import { toPayment, durableEvent } from './mapping.js';
import {
  HUB_PROTOCOL_VERSION,
  type HubEvent,
  type HubHealth,
  type HubPayment,
  type IngestAck,
  type IngestBatch,
} from './hub-protocol.js';
import type { Engine } from '../engine/index.js';

interface LoggerLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What the link reads: the engine's journal events and views. */
export type HubSource = Pick<Engine, 'eventsSince' | 'view' | 'lastSeq' | 'journalId'>;

export interface HubLinkTimers {
  /** How often to look for new events when idle (also woken by `kick()`). Default 1 s. */
  pollMs: number;
  /** A health snapshot at least this often, events or not. Default 30 s. */
  healthMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_HUB_LINK_TIMERS: HubLinkTimers = {
  pollMs: 1_000,
  healthMs: 30_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 60_000,
  requestTimeoutMs: 15_000,
};

export interface HubLinkOptions extends Partial<HubLinkTimers> {
  url: string;
  credential: string;
  source: HubSource;
  /** The current health (the link adds `at` and `outboxDepth`). */
  health?: () => Omit<HubHealth, 'at' | 'outboxDepth'> | Promise<Omit<HubHealth, 'at' | 'outboxDepth'>>;
  /** Events per batch (default 500, at most the hub's 1000). */
  batchSize?: number;
  logger?: LoggerLike;
  fetch?: typeof fetch;
}

export type HubLinkState = 'starting' | 'connected' | 'offline' | 'busy' | 'revoked' | 'stopped';

export interface HubLinkStatus {
  state: HubLinkState;
  ackedSeq: number | null;
  /** Journal events the hub does not hold yet. */
  outboxDepth: number;
  lastError: string | null;
  lastAckAt: string | null;
  batchesSent: number;
}

export class HubLink {
  private readonly t: HubLinkTimers;
  private readonly fetch: typeof fetch;
  private readonly batchSize: number;
  private cursor: number | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private lastHealthAt = 0;
  private loop: Promise<void> | null = null;
  private readonly st: HubLinkStatus = {
    state: 'starting',
    ackedSeq: null,
    outboxDepth: 0,
    lastError: null,
    lastAckAt: null,
    batchesSent: 0,
  };

  constructor(private readonly o: HubLinkOptions) {
    this.t = { ...DEFAULT_HUB_LINK_TIMERS, ...pick(o) };
    this.fetch = o.fetch ?? fetch;
    this.batchSize = Math.min(Math.max(1, o.batchSize ?? 500), 1000);
  }

  status(): HubLinkStatus {
    const last = this.o.source.lastSeq();
    // While the cursor is being asked again (offline), the last acknowledged seq is what the hub holds.
    return { ...this.st, outboxDepth: Math.max(0, last - (this.cursor ?? this.st.ackedSeq ?? 0)) };
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** New events are there: send now rather than at the next poll. */
  kick(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.st.state = 'stopped';
    this.wake?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async run(): Promise<void> {
    let backoff = this.t.backoffInitialMs;
    const journalId = this.o.source.journalId();
    while (!this.stopped) {
      try {
        if (this.cursor === null) this.cursor = (await this.call<{ ackedSeq: number }>('GET', `/v1/cursor?journal=${journalId}`)).ackedSeq;
        const sent = await this.sendOnce(journalId);
        backoff = this.t.backoffInitialMs;
        if (!sent.full) await this.sleep(this.t.pollMs);
      } catch (e) {
        const err = e as LinkError;
        this.st.lastError = err.message;
        if (err.status === 401) {
          this.st.state = 'revoked';
          this.o.logger?.error({ err: err.message }, 'the hub refused this daemon’s credential: enrol again (posbridge hub-enrol)');
          return;
        }
        if (err.status === 409 && typeof err.ackedSeq === 'number') {
          this.o.logger?.warn({ from: this.cursor, to: err.ackedSeq }, 'hub cursor behind the batch: rewinding');
          this.cursor = err.ackedSeq;
          continue;
        }
        if (err.status === 503) {
          this.st.state = 'busy';
          // Up to half again at random: a thousand laptops told "1 s" must not all come back in the same millisecond.
          await this.sleep(Math.max(100, (err.retryAfter ?? 1) * 1000 * (1 + Math.random() / 2)));
          continue;
        }
        if (this.st.state !== 'offline') this.o.logger?.warn({ err: err.message }, 'hub unreachable: events wait in the journal');
        this.st.state = 'offline';
        this.cursor = null; // ask again: another hub instance, or a restored database, may hold less
        await this.sleep(backoff * (0.75 + Math.random() / 2));
        backoff = Math.min(backoff * 2, this.t.backoffMaxMs);
      }
    }
  }

  /** One batch (or a health-only post when due). */
  private async sendOnce(journalId: string): Promise<{ full: boolean }> {
    const after = this.cursor!;
    const rows = this.o.source.eventsSince(after, this.batchSize);
    const now = Date.now();
    const healthDue = now - this.lastHealthAt >= this.t.healthMs;
    if (rows.length === 0 && !healthDue) {
      this.st.state = 'connected';
      return { full: false };
    }
    const events: HubEvent[] = rows.map((e) => ({ seq: e.seq, at: e.at ?? new Date().toISOString(), event: durableEvent(e) }));
    const ids = [...new Set(rows.map((e) => e.operationId).filter((id): id is string => !!id))];
    const payments: HubPayment[] = [];
    for (const id of ids) {
      try {
        const v = this.o.source.view(id);
        payments.push({ ...toPayment(v), terminalId: v.terminalId, localDate: v.localDate });
      } catch {
        // An event of an operation the journal no longer has a row for: the event alone goes.
      }
    }
    const upTo = rows.length > 0 ? rows[rows.length - 1]!.seq : after;
    const batch: IngestBatch = { protocol: HUB_PROTOCOL_VERSION, journalId, after, upTo, events, payments };
    if (this.o.health) {
      const last = this.o.source.lastSeq();
      batch.health = { ...(await this.o.health()), at: new Date(now).toISOString(), outboxDepth: Math.max(0, last - upTo) };
    }
    const ack = await this.call<IngestAck>('POST', '/v1/ingest', batch);
    this.cursor = Math.max(after, ack.ackedSeq);
    this.st.ackedSeq = this.cursor;
    this.st.lastAckAt = new Date().toISOString();
    this.st.batchesSent++;
    this.st.state = 'connected';
    if (batch.health) this.lastHealthAt = now;
    return { full: rows.length === this.batchSize };
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.t.requestTimeoutMs);
    try {
      const res = await this.fetch(new URL(path, this.o.url), {
        method,
        headers: {
          authorization: `Bearer ${this.o.credential}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: ctl.signal,
      });
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        // A proxy's HTML error page: the status says enough.
      }
      if (!res.ok) {
        const err = (json['error'] ?? {}) as { code?: string; message?: string };
        throw Object.assign(new Error(`hub ${res.status} ${err.code ?? ''}: ${err.message ?? text.slice(0, 120)}`), {
          status: res.status,
          ackedSeq: typeof json['ackedSeq'] === 'number' ? json['ackedSeq'] : undefined,
          retryAfter: Number(res.headers.get('retry-after') ?? 1),
        });
      }
      return json as T;
    } finally {
      clearTimeout(timer);
    }
  }
}

interface LinkError extends Error {
  status?: number;
  ackedSeq?: number;
  retryAfter?: number;
}

function pick(o: Partial<HubLinkTimers>): Partial<HubLinkTimers> {
  const out: Partial<HubLinkTimers> = {};
  for (const k of Object.keys(DEFAULT_HUB_LINK_TIMERS) as (keyof HubLinkTimers)[])
    if (typeof o[k] === 'number') out[k] = o[k];
  return out;
}
