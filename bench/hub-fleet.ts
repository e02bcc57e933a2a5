/**
 * The hub benchmark's simulated laptops (bench/hub.bench.ts), a journal-like generator per daemon, in
 * one of two modes:
 *
 * - `link`: the real `HubLink` of every daemon, reading pages, building views and posting them;
 * - `raw`: the same batches (built as the link builds them, before the clock starts) posted over HTTP
 *   with the link's rules (one batch in flight per daemon, `retry-after` on 503), so what is measured
 *   is the hub, not the simulated laptops sharing its two cores.
 *
 * Run as a worker thread, off the hub's event loop: the worker gets the hub's URL and the daemons'
 * credentials, starts them all at once on the first message, and answers with the latency of every
 * acknowledged batch and the number of 503 (busy) answers once every daemon's last event is acknowledged.
 */
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import {
  HUB_PROTOCOL_VERSION,
  HubLink,
  durableEvent,
  toPayment,
  type HubLinkTimers,
  type HubSource,
  type IngestBatch,
} from '../src/api/index.js';
import type { OperationView } from '../src/engine/index.js';

const STATES = ['authorizing', 'approved', 'completing', 'completed'] as const;

/** A daemon's journal as the link reads it: `n` events, four per sale, views following the events. */
export class GenSource implements HubSource {
  private readonly opened = Date.parse('2026-12-04T01:00:00Z');
  constructor(
    private readonly id: string,
    private readonly tid: string,
    private readonly n: number,
  ) {}
  journalId(): string {
    return this.id;
  }
  lastSeq(): number {
    return this.n;
  }
  private at(seq: number): string {
    return new Date(this.opened + seq * 1000).toISOString();
  }
  eventsSince(after: number, limit = 500) {
    const out = [];
    for (let seq = after + 1; seq <= Math.min(this.n, after + limit); seq++) {
      const sale = Math.floor((seq - 1) / STATES.length);
      out.push({
        kind: 'durable' as const,
        seq,
        operationId: `s${sale}`,
        type: 'operation.state',
        data: { state: STATES[(seq - 1) % STATES.length]!, kind: 'sale', amount: 1000 + sale },
        at: this.at(seq),
      });
    }
    return out;
  }
  /** The view as of the newest event of the sale the journal holds. */
  view(id: string): OperationView {
    const sale = Number(id.slice(1));
    const last = Math.min(this.n, (sale + 1) * STATES.length);
    const state = STATES[(last - 1) % STATES.length]!;
    const amount = 1000 + sale;
    const stan = String((sale % 999_999) + 1).padStart(6, '0');
    return {
      id,
      kind: 'sale',
      state,
      reason: null,
      orderId: `O-${this.tid}-${sale}`,
      originalId: null,
      amount,
      approvedAmount: state === 'authorizing' ? null : amount,
      currency: '156',
      operatorId: 'op1',
      card: { panDisplay: '622202******1234', scheme: 'unionpay', kind: 'chip', entryMode: '051' },
      host: {
        batch: '000001',
        stan,
        rrn: state === 'authorizing' ? null : `${this.tid.slice(-6)}${stan}`,
        authCode: '123456',
        responseCode: '00',
      },
      voided: false,
      refundedAmount: 0,
      capturedAmount: state === 'completed' ? amount : 0,
      cancelRequested: false,
      signed: false,
      method: 'card',
      qr: null,
      result: null,
      terminalId: this.tid,
      localDate: '2026-12-04',
      createdAt: this.at(sale * STATES.length + 1),
      updatedAt: this.at(last),
    };
  }
}

export const benchHealth = () => ({
  version: 'bench',
  startedAt: new Date().toISOString(),
  terminals: [],
  pending: {},
  needsAttention: 0,
  backlog: {},
});

export interface FleetJob {
  mode: 'link' | 'raw';
  /** Journal ids are `<prefix>-<i>` (a second fleet on the same daemons is a new journal). */
  prefix: string;
  url: string;
  credentials: string[];
  tids: string[];
  events: number;
  batch: number;
  timers: HubLinkTimers;
}

export interface FleetDone {
  latencies: number[];
  /** Latencies of the batches sent 1 s or more after the start (after the first wave's herd). */
  later: number[];
  busy: number;
  ms: number;
}

/** The batches a link would send for `src`, as request bodies. */
function batchesOf(src: GenSource, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let after = 0; after < src.lastSeq(); after += size) {
    const rows = src.eventsSince(after, size);
    const ids = [...new Set(rows.map((e) => e.operationId))];
    const batch: IngestBatch = {
      protocol: HUB_PROTOCOL_VERSION,
      journalId: src.journalId(),
      after,
      upTo: rows[rows.length - 1]!.seq,
      events: rows.map((e) => ({ seq: e.seq, at: e.at, event: durableEvent(e) })),
      payments: ids.map((id) => {
        const v = src.view(id);
        return { ...toPayment(v), terminalId: v.terminalId, localDate: v.localDate };
      }),
      health: {
        ...benchHealth(),
        at: new Date().toISOString(),
        outboxDepth: src.lastSeq() - rows[rows.length - 1]!.seq,
      },
    };
    out.push(Buffer.from(JSON.stringify(batch)));
  }
  return out;
}

function post(
  agent: Agent,
  url: URL,
  credential: string,
  body: Buffer,
): Promise<{ status: number; retryAfter: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${credential}`,
          'content-type': 'application/json',
          'content-length': body.length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers['retry-after'] ?? 1) }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Posts prebuilt batches, one in flight per daemon, waiting `retry-after` on 503 as the link does. */
async function runRaw(job: FleetJob): Promise<{ start(): Promise<FleetDone> }> {
  const bodies = job.credentials.map((_, i) =>
    batchesOf(new GenSource(`${job.prefix}-${i}`, job.tids[i]!, job.events), job.batch),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const url = new URL('/v1/ingest', job.url);
  return {
    start: async () => {
      const latencies: number[] = [];
      const later: number[] = [];
      let busy = 0;
      const t0 = performance.now();
      await Promise.all(
        job.credentials.map(async (credential, i) => {
          for (const body of bodies[i]!) {
            for (;;) {
              const t = performance.now();
              const r = await post(agent, url, credential, body);
              if (r.status === 200) {
                latencies.push(performance.now() - t);
                if (t - t0 >= 1000) later.push(performance.now() - t);
                break;
              }
              if (r.status !== 503) throw new Error(`hub answered ${r.status}`);
              busy++;
              await new Promise((res) => setTimeout(res, Math.max(100, r.retryAfter * 1000)));
            }
          }
        }),
      );
      const ms = performance.now() - t0;
      agent.destroy();
      return { latencies, later, busy, ms };
    },
  };
}

/** Runs the links of `job` until each has its last event acknowledged. */
export async function runFleet(job: FleetJob): Promise<FleetDone> {
  const latencies: number[] = [];
  const later: number[] = [];
  let busy = 0;
  let started = Number.POSITIVE_INFINITY;
  const timed: typeof fetch = async (input, init) => {
    const t0 = performance.now();
    const res = await fetch(input, init);
    if (String(input).endsWith('/v1/ingest')) {
      if (res.status === 200) {
        latencies.push(performance.now() - t0);
        if (t0 - started >= 1000) later.push(performance.now() - t0);
      } else if (res.status === 503) busy++;
    }
    return res;
  };
  const links = job.credentials.map(
    (credential, i) =>
      new HubLink({
        url: job.url,
        credential,
        source: new GenSource(`${job.prefix}-${i}`, job.tids[i]!, job.events),
        batchSize: job.batch,
        health: benchHealth,
        fetch: timed,
        ...job.timers,
      }),
  );
  const t0 = performance.now();
  started = t0;
  for (const l of links) l.start();
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (links.every((l) => l.status().ackedSeq === job.events)) resolve();
      else setTimeout(check, 20);
    };
    check();
  });
  const ms = performance.now() - t0;
  await Promise.all(links.map((l) => l.stop()));
  return { latencies, later, busy, ms };
}

if (parentPort && workerData && (workerData as { hubFleet?: FleetJob }).hubFleet) {
  const port = parentPort;
  const job = (workerData as { hubFleet: FleetJob }).hubFleet;
  const fail = (e: unknown): void => port.postMessage({ error: (e as Error).message });
  // Raw mode builds its batches first and says so; then both wait for the signal to start.
  const ready = job.mode === 'raw' ? runRaw(job) : Promise.resolve({ start: () => runFleet(job) });
  ready.then((r) => {
    port.postMessage({ ready: true });
    port.once('message', () => r.start().then((done) => port.postMessage(done), fail));
  }, fail);
}
