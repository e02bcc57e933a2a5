/**
 * The fleet hub at scale (issue 21 item 5), on PGlite and, when DATABASE_URL is set, on that PostgreSQL
 * server, both in the same run:
 *
 * (a) ingestion: BENCH_HUB_DAEMONS (1,000) enrolled daemons, each with a journal-like generator of
 *     BENCH_HUB_EVENTS (200) queued events (four state events per sale), pushing at once into one hub
 *     in this process, in pages of BENCH_HUB_BATCH (100) events with the views they touch and a health
 *     snapshot: events ingested per second, p50/p99 latency of an acknowledged batch, 503s
 *     (back-pressure) seen. Twice, the daemons in a worker thread (bench/hub-fleet.ts): first posting
 *     batches built beforehand, as the link builds them, with the link's rules (one in flight, wait
 *     `retry-after` on 503): the hub's rate, the goal's figure; then with the real `HubLink` each,
 *     whose work (pages, views, JSON, HTTP) then shares the machine's two CPUs with the hub and the
 *     database;
 * (b) catch-up: one laptop with BENCH_HUB_CATCHUP (10,000) queued events and the link's default pages
 *     of 500, into the hub of (a): time until the hub holds all of them;
 * (c) central reconciliation: BENCH_HUB_RECON_ROWS (1,000,000) payments of 2,000 terminals over 10 days
 *     seeded with SQL (generate_series), an acquirer file of as many lines generated to match them with
 *     one difference of each kind per thousand rows (and one line in ten without RRN on our side, so
 *     the STAN + date rule pairs it): import time, run time; the report must find exactly what was
 *     planted. BENCH_HUB_PGLITE_RECON_ROWS (default the same) sizes PGlite's run separately.
 *
 * BENCH_HUB_STORES=pglite or =postgres measures one store only.
 *
 * Goals (2-core machine, PostgreSQL server): ≥ 20,000 events/s; 1M reconciled in ≤ 60 s. Printed
 * against the goal and as PostgreSQL / PGlite ratios; nothing here gates a test.
 */
import { cpus, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HubLink } from '../src/api/index.js';
import {
  createEnrolCode,
  enrol,
  importAcquirerFile,
  int,
  migrateHub,
  openHubDb,
  reconcileFleet,
  startHub,
  type Hub,
  type HubDb,
} from '../src/hub/index.js';
import { GenSource, benchHealth, type FleetDone, type FleetJob } from './hub-fleet.js';

const env = (name: string, dflt: number): number => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? dflt : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: a whole number`);
  return n;
};

const DAEMONS = env('BENCH_HUB_DAEMONS', 1000);
const EVENTS = env('BENCH_HUB_EVENTS', 200);
const BATCH = env('BENCH_HUB_BATCH', 100);
const CATCHUP = env('BENCH_HUB_CATCHUP', 10_000);
const RECON_ROWS = env('BENCH_HUB_RECON_ROWS', 1_000_000);
const PGLITE_RECON_ROWS = env('BENCH_HUB_PGLITE_RECON_ROWS', RECON_ROWS);
const DATABASE_URL = process.env['DATABASE_URL'];
/** Which stores to measure (default both; the server only with DATABASE_URL). */
const ONLY = (process.env['BENCH_HUB_STORES'] ?? 'pglite,postgres').split(',').map((x) => x.trim());

const LINK_TIMERS = {
  pollMs: 200,
  healthMs: 60_000,
  backoffInitialMs: 100,
  backoffMaxMs: 2_000,
  requestTimeoutMs: 120_000,
};
interface Store {
  name: 'pglite' | 'postgres';
  open(): Promise<HubDb>;
}

/** A fresh store: PGlite in memory, or a new schema on the server (dropped on close). */
function stores(): Store[] {
  const out: Store[] = [];
  if (ONLY.includes('pglite')) out.push({ name: 'pglite', open: () => openHubDb() });
  if (DATABASE_URL && ONLY.includes('postgres'))
    out.push({
      name: 'postgres',
      open: async () => {
        const schema = `bench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
        const admin = await openHubDb({ databaseUrl: DATABASE_URL, maxConnections: 1 });
        await admin.exec(`CREATE SCHEMA ${schema}`);
        await admin.close();
        const url = new URL(DATABASE_URL);
        url.searchParams.set('options', `-c search_path=${schema}`);
        const db = await openHubDb({ databaseUrl: url.toString(), maxConnections: 10 });
        return {
          ...db,
          kind: db.kind,
          query: db.query.bind(db),
          exec: db.exec.bind(db),
          transaction: db.transaction.bind(db),
          close: async () => {
            await db.exec(`DROP SCHEMA ${schema} CASCADE`);
            await db.close();
          },
        };
      },
    });
  return out;
}

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const n0 = (v: number): string => Math.round(v).toLocaleString('en-US');
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function enrolMany(db: HubDb, n: number, tidOf: (i: number) => string): Promise<string[]> {
  const creds: string[] = [];
  for (let i = 0; i < n; i++) {
    const { code } = await createEnrolCode(db, { store: `Store ${i % 50}` });
    creds.push((await enrol(db, { code, terminalIds: [tidOf(i)], version: 'bench' })).credential);
  }
  return creds;
}

/** Runs simulated laptops in a worker thread (bench/hub-fleet.ts), as on machines of their own. */
async function fleetWorker(job: FleetJob): Promise<{ start(): Promise<FleetDone>; stop(): Promise<number> }> {
  const ts = import.meta.url.endsWith('.ts');
  const file = new URL(`./hub-fleet.${ts ? 'ts' : 'js'}`, import.meta.url);
  // Under tsx (development) the worker registers tsx's loader first; `npm run bench` runs the built JS.
  const worker = ts
    ? new Worker(
        `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(file.href)}); });`,
        {
          eval: true,
          workerData: { hubFleet: job },
        },
      )
    : new Worker(file, { workerData: { hubFleet: job } });
  const next = <T>(): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      worker.once('error', onError);
      worker.once('message', (m: T | { error: string }) => {
        worker.off('error', onError);
        if (m && typeof m === 'object' && 'error' in m) reject(new Error(m.error));
        else resolve(m as T);
      });
    });
  await next<{ ready: true }>();
  return {
    start: () => {
      const done = next<FleetDone>();
      worker.postMessage('start');
      return done;
    },
    stop: () => worker.terminate(),
  };
}

interface Push {
  events: number;
  ms: number;
  perSec: number;
  p50: number;
  p99: number;
  /** p99 of the batches sent after the first second (the start's herd excluded). */
  p99Later: number;
  batches: number;
  busy: number;
}

interface IngestResult {
  raw: Push;
  link: Push;
  catchupMs: number;
  catchupPerSec: number;
}

/** One fleet of DAEMONS pushing EVENTS each; timed until the hub holds `expect` events. */
async function push(hub: Hub, job: FleetJob, expect: number): Promise<Push> {
  const fleet = await fleetWorker(job);
  try {
    const t0 = performance.now();
    const finished = fleet.start();
    let failed: unknown;
    finished.catch((e: unknown) => (failed = e));
    await until(() => {
      if (failed) throw failed;
      return hub.stats.events >= expect;
    }, 900_000);
    const ms = performance.now() - t0;
    const done = await finished;
    const sorted = done.latencies.sort((a, b) => a - b);
    const later = done.later.sort((a, b) => a - b);
    const events = job.credentials.length * job.events;
    return {
      events,
      ms,
      perSec: (events * 1000) / ms,
      p50: pct(sorted, 50),
      p99: pct(sorted, 99),
      p99Later: pct(later, 99),
      batches: sorted.length,
      busy: done.busy,
    };
  } finally {
    await fleet.stop();
  }
}

async function ingestion(store: Store): Promise<IngestResult> {
  const db = await store.open();
  let hub: Hub | undefined;
  const links: HubLink[] = [];
  try {
    hub = await startHub({ db });
    const tid = (i: number): string => `H${String(i).padStart(7, '0')}`;
    const creds = await enrolMany(db, DAEMONS + 1, tid);
    const total = DAEMONS * EVENTS;
    const job = {
      url: hub.url,
      credentials: creds.slice(0, DAEMONS),
      tids: Array.from({ length: DAEMONS }, (_, i) => tid(i)),
      events: EVENTS,
      batch: BATCH,
      timers: LINK_TIMERS,
    };
    const raw = await push(hub, { ...job, mode: 'raw', prefix: 'bench-raw' }, total);
    const link = await push(hub, { ...job, mode: 'link', prefix: 'bench-link' }, 2 * total);

    // (b) one laptop back after a long time offline
    const h = hub;
    const lap = new HubLink({
      url: h.url,
      credential: creds[DAEMONS]!,
      source: new GenSource('bench-laptop-offline', tid(DAEMONS), CATCHUP),
      health: benchHealth,
      ...LINK_TIMERS,
    });
    links.push(lap);
    const c0 = performance.now();
    lap.start();
    await until(() => lap.status().ackedSeq === CATCHUP, 600_000);
    const catchupMs = performance.now() - c0;
    const [check] = await db.query<{ n: unknown }>('SELECT count(*) AS n FROM hub_events');
    if (int(check!.n) !== 2 * total + CATCHUP)
      console.log(`  !! hub_events holds ${int(check!.n)}, expected ${2 * total + CATCHUP}`);
    return { raw, link, catchupMs, catchupPerSec: (CATCHUP * 1000) / catchupMs };
  } finally {
    for (const l of links) await l.stop();
    await hub?.close();
    await db.close();
  }
}

// ------------------------------------------------------------------ (c) reconciliation

const RECON_DAYS = 10;
const FIRST_DAY = Date.UTC(2026, 2, 1);
const dayText = (d: number): string => new Date(FIRST_DAY + d * 86_400_000).toISOString().slice(0, 10);

interface ReconLayout {
  rows: number;
  terminals: number;
  perTerminal: number;
}

export function layout(rows: number): ReconLayout {
  const terminals = Math.max(1, Math.round(rows / 500));
  return { rows, terminals, perTerminal: Math.ceil(rows / terminals) };
}

/**
 * Row i: terminal i % T, its n-th transaction (n = i / T), STAN n+1, RRN i, day n·10/perTerminal,
 * amount 1000 + (37i mod 97)·100, a refund every tenth. Planted per thousand (m = i mod 1000):
 * 101 unknown here (answer lost: no RRN) → missing at us; 202 not in the file, and a line we never had
 * → missing at acquirer + missing at us; 303 amount + 1 fen at the acquirer; 404 reversed here →
 * status difference; 505 booked a day later → late arrival. i mod 10 = 7: no RRN here (STAN rule).
 */
export async function seedPayments(db: HubDb, l: ReconLayout): Promise<void> {
  const view = JSON.stringify({
    kind: 'sale',
    final: true,
    reason: null,
    currency: 'CNY',
    operatorId: 'op1',
    card: { panDisplay: '622202******1234', scheme: 'unionpay', kind: 'chip', entryMode: '051' },
    voided: false,
    refundedAmount: 0,
    cancelRequested: false,
    signed: false,
    method: 'card',
    qr: null,
  });
  const CHUNK = 200_000;
  for (let start = 0; start < l.rows; start += CHUNK) {
    await db.query(
      `INSERT INTO hub_payments (daemon_id, payment_id, store, terminal_id, kind, state, method, amount,
         approved_amount, currency, stan, rrn, local_date, order_id, pan_display, created_at, updated_at, view)
       SELECT 'bd' || x.t, 'p' || i, 'Store ' || (x.t % 50), 'B' || lpad(x.t::text, 7, '0'),
         CASE WHEN i % 10 = 9 THEN 'refund' ELSE 'sale' END, s.state, 'card', x.amt,
         CASE WHEN s.state = 'completed' THEN x.amt END, 'CNY', lpad(((x.n % 999999) + 1)::text, 6, '0'),
         CASE WHEN i % 10 = 7 OR i % 1000 = 101 THEN NULL ELSE lpad(i::text, 12, '0') END,
         x.day, 'O' || i, '622202******1234', x.day + time '10:00', x.day + time '10:00', $4::text::jsonb
       FROM generate_series($1::int, $2::int) AS i
       CROSS JOIN LATERAL (SELECT i % $3::int AS t, i / $3::int AS n, 1000 + (i * 37 % 97) * 100 AS amt,
         date '${dayText(0)}' + ((i / $3::int) * ${RECON_DAYS} / ${l.perTerminal}) AS day) x
       CROSS JOIN LATERAL (SELECT CASE WHEN i % 1000 = 101 THEN 'unknown' WHEN i % 1000 = 404 THEN 'reversed'
         ELSE 'completed' END AS state) s`,
      [start, Math.min(l.rows, start + CHUNK) - 1, l.terminals, view],
    );
  }
  await db.exec('ANALYZE hub_payments');
}

export function acquirerFile(l: ReconLayout): { text: string; planted: Record<string, number> } {
  const out: string[] = ['date,tid,stan,rrn,amount,type,status'];
  const planted = {
    matched: 0,
    late: 0,
    missingAtUs: 0,
    missingAtAcquirer: 0,
    amountDifferences: 0,
    statusDifferences: 0,
  };
  for (let i = 0; i < l.rows; i++) {
    const t = i % l.terminals;
    const n = Math.floor(i / l.terminals);
    const day = Math.floor((n * RECON_DAYS) / l.perTerminal);
    const m = i % 1000;
    const tid = `B${String(t).padStart(7, '0')}`;
    let amount = 1000 + ((i * 37) % 97) * 100;
    const type = i % 10 === 9 ? 'refund' : 'sale';
    if (m === 202) {
      planted.missingAtAcquirer++;
      planted.missingAtUs++;
      out.push(
        `${dayText(day)},${tid},${900_000 + (Math.floor(i / 1000) % 99_999)},X${i},${amount},${type},approved`,
      );
      continue;
    }
    if (m === 101) planted.missingAtUs++;
    else if (m === 303) {
      amount += 1;
      planted.amountDifferences++;
    } else if (m === 404) planted.statusDifferences++;
    else {
      planted.matched++;
      if (m === 505) planted.late++;
    }
    const stan = String((n % 999_999) + 1).padStart(6, '0');
    out.push(
      `${dayText(m === 505 ? day + 1 : day)},${tid},${stan},${String(i).padStart(12, '0')},${amount},${type},approved`,
    );
  }
  return { text: `${out.join('\n')}\n`, planted };
}

interface ReconResult {
  rows: number;
  seedMs: number;
  importMs: number;
  runMs: number;
  ok: boolean;
  detail: string;
}

async function reconciliation(store: Store, rows: number): Promise<ReconResult> {
  const db = await store.open();
  try {
    await migrateHub(db);
    const l = layout(rows);
    const s0 = performance.now();
    await seedPayments(db, l);
    const seedMs = performance.now() - s0;
    const { text, planted } = acquirerFile(l);
    const i0 = performance.now();
    const imp = await importAcquirerFile(db, 'bench-acquirer.csv', text);
    const importMs = performance.now() - i0;
    const r0 = performance.now();
    const run = await reconcileFleet(db, { from: dayText(0), to: dayText(RECON_DAYS - 1) });
    const runMs = performance.now() - r0;
    const got = {
      matched: run.matched,
      late: run.late,
      missingAtUs: run.missingAtUs,
      missingAtAcquirer: run.missingAtAcquirer,
      amountDifferences: run.amountDifferences,
      statusDifferences: run.statusDifferences,
    };
    const ok = JSON.stringify(got) === JSON.stringify(planted) && imp.lines === rows;
    const detail = ok
      ? `found exactly what was planted (${run.matchedBy.tid_rrn} by RRN, ${run.matchedBy.tid_stan_date} by STAN + date)`
      : `MISMATCH: planted ${JSON.stringify(planted)}, found ${JSON.stringify(got)}`;
    return { rows, seedMs, importMs, runMs, ok, detail };
  } finally {
    await db.close();
  }
}

export async function run(): Promise<void> {
  console.log(
    `  sizes: ${n0(DAEMONS)} daemons × ${n0(EVENTS)} events (batches of ${BATCH}), catch-up ${n0(CATCHUP)} events, ` +
      `reconciliation ${n0(RECON_ROWS)} rows (PGlite ${n0(PGLITE_RECON_ROWS)})`,
  );
  console.log(
    `  ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)} at start (other work on the machine slows every figure)`,
  );
  if (!DATABASE_URL) console.log('  (no DATABASE_URL: PGlite only; the goals are for a PostgreSQL server)');
  const ing: Partial<Record<Store['name'], IngestResult>> = {};
  const rec: Partial<Record<Store['name'], ReconResult>> = {};
  for (const store of stores()) {
    console.log(`  -- ${store.name}`);
    if (DAEMONS > 0 && EVENTS > 0) {
      const r = await ingestion(store);
      ing[store.name] = r;
      const line = (p: Push): string =>
        `${n0(p.events)} events in ${secs(p.ms)}: ${n0(p.perSec).padStart(7)} events/s; ${n0(p.batches)} batches, ` +
        `p50 ${p.p50.toFixed(0)} ms, p99 ${p.p99.toFixed(0)} ms (${p.p99Later.toFixed(0)} ms after the first second's herd), ` +
        `${n0(p.busy)} answered 503`;
      console.log(
        `  (a) ${n0(DAEMONS)} daemons posting their batches (built beforehand, one in flight each): ${line(r.raw)}` +
          (store.name === 'postgres' && DAEMONS >= 1000
            ? ` (goal ≥ 20,000: ${r.raw.perSec >= 20_000 ? 'met' : 'MISSED'})`
            : ''),
      );
      console.log(
        `      the same with ${n0(DAEMONS)} real HubLinks (their work on the same 2 CPUs): ${line(r.link)}`,
      );
      console.log(
        `  (b) catch-up of ${n0(CATCHUP)} queued events: ${secs(r.catchupMs)} (${n0(r.catchupPerSec)} events/s)`,
      );
    }
    const rows = store.name === 'pglite' ? PGLITE_RECON_ROWS : RECON_ROWS;
    if (rows > 0) {
      const r = await reconciliation(store, rows);
      rec[store.name] = r;
      console.log(
        `  (c) ${n0(r.rows)} payments seeded in ${secs(r.seedMs)}; file of ${n0(r.rows)} lines imported in ${secs(r.importMs)}; ` +
          `reconciled in ${secs(r.runMs)}` +
          (store.name === 'postgres' && r.rows >= 1_000_000
            ? ` (goal ≤ 60 s: ${r.runMs <= 60_000 ? 'met' : 'MISSED'})`
            : ''),
      );
      console.log(`      ${r.detail}`);
    }
  }
  const pg = ing.postgres;
  const lite = ing.pglite;
  const rpg = rec.postgres;
  const rlite = rec.pglite;
  const ratios: string[] = [];
  if (pg && lite)
    ratios.push(
      `ingestion ${(pg.raw.perSec / lite.raw.perSec).toFixed(2)}x`,
      `with links ${(pg.link.perSec / lite.link.perSec).toFixed(2)}x`,
      `catch-up ${(pg.catchupPerSec / lite.catchupPerSec).toFixed(2)}x`,
    );
  if (rpg && rlite)
    ratios.push(`reconciliation ${(rpg.rows / rpg.runMs / (rlite.rows / rlite.runMs)).toFixed(2)}x`);
  if (ratios.length) console.log(`  rates, PostgreSQL / PGlite: ${ratios.join(', ')}`);
}
