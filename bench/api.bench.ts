/**
 * CRM API: 100 WebSocket clients (the typed client over `ws`, loopback) against the API server with a
 * real Engine (journal synchronous=FULL, host simulator and instant reader in process). Clients,
 * server, engine and simulator share this process and its one event loop, as in the tests.
 *
 * - Round trips: every client runs `payment.get` / `order.get` calls in a closed loop for about 3 s;
 *   prints calls per second and p50 / p99 latency.
 * - Event delivery: sales run one after another while all 100 clients listen; for every durable
 *   event, the time from the engine emitting it to each client receiving it; prints p50 / p99 / max.
 *
 * TODO(lead): daemon cold start to ready (goal < 1.5 s) and RSS at idle (goal < 120 MB) need the daemon
 * (`createDaemon` / the CLI as a child process printing its ready line): spawn it with a fresh
 * POSBRIDGE_HOME and port 0, time spawn → ready line, then read the child's RSS after 5 s idle
 * (e.g. /proc/<pid>/status VmRSS, or process.memoryUsage().rss reported on a control route).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createApiServer, type TerminalInfo } from '../src/api/index.js';
import { PosbridgeClient } from '../src/api/client/index.js';
import { FingerprintKey } from '../src/card/index.js';
import { Sealer } from '../src/crypto/index.js';
import { Engine, type EngineEvent } from '../src/engine/index.js';
import { HostLink } from '../src/host/index.js';
import { loadDialect } from '../src/iso8583/index.js';
import { Journal } from '../src/journal/index.js';
import { startHostSimulator } from '../simulators/host/index.js';
import { InstantReader } from '../simulators/shared/instant-reader.js';

const CLIENTS = 100;
const DURATION_MS = 3000;
const WARMUP_MS = 500;
const SALES = 20;
const TOKEN = 'bench-token';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-api-'));
  const sim = await startHostSimulator({ controlPort: null });
  const reader = new InstantReader();
  const dialect = loadDialect('cup-pos');
  const journal = Journal.open({ dir, sealer: await Sealer.load(dir) });
  const link = new HostLink({
    host: '127.0.0.1',
    port: sim.isoPort,
    dialect,
    terminalId: 'BENCH001',
    merchantId: '898310048160001',
    securityModule: reader.securityModule,
    keyLayout: 'double',
    counters: journal,
    timers: { idleEchoMs: 0 },
  });
  link.start();
  await link.whenReady(5000);
  const engine = new Engine({
    journal,
    host: link,
    reader,
    dialect,
    fingerprintKey: FingerprintKey.generate(),
    config: {
      terminalId: 'BENCH001',
      merchantId: '898310048160001',
      saf: { adviceAfterCompletion: false } as never,
    },
  });
  const terminal: TerminalInfo = { terminalId: 'R1', state: 'idle', transport: 'simulator' };
  const api = createApiServer({
    engine,
    auth: { tokens: { verify: (t) => ({ ok: t === TOKEN }) }, allowedOrigins: [] },
    terminals: {
      list: () => [terminal],
      status: () => terminal,
      connect: async () => terminal,
      disconnect: async () => terminal,
    },
    defaultOperatorId: 'bench',
  });
  const http = createServer((_q, r) => r.writeHead(404).end());
  api.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`;

  // Something to read: one completed sale in an order.
  const seed = engine.submit({
    kind: 'sale',
    idempotencyKey: 'seed',
    operatorId: 'bench',
    orderId: 'ORD-B',
    amount: 12_300,
  });
  await engine.settled(seed.id);

  const clients = Array.from(
    { length: CLIENTS },
    () => new PosbridgeClient({ url, token: TOKEN, WebSocket }),
  );
  await Promise.all(clients.map((c) => c.connect()));

  // ---------------------------------------------------------------- round trips
  const lat: number[] = [];
  let calls = 0;
  const t0 = performance.now();
  const measureFrom = t0 + WARMUP_MS;
  const end = measureFrom + DURATION_MS;
  await Promise.all(
    clients.map(async (c, i) => {
      let n = i;
      while (performance.now() < end) {
        const s = performance.now();
        if (n++ % 2 === 0) await c.payment.get({ paymentId: seed.id });
        else await c.order.get('ORD-B');
        const e = performance.now();
        if (s >= measureFrom) {
          lat.push(e - s);
          calls++;
        }
      }
    }),
  );
  const seconds = (performance.now() - measureFrom) / 1000;
  lat.sort((a, b) => a - b);
  console.log(
    `  ${CLIENTS} clients, payment.get / order.get round trips in a closed loop for ${DURATION_MS / 1000} s`,
  );
  console.log(
    `  ${Math.round(calls / seconds).toLocaleString('en-US')} calls/s, latency p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms`,
  );

  // ---------------------------------------------------------------- event delivery
  const emitted = new Map<number, number>();
  engine.on('event', (e: EngineEvent) => {
    if (e.kind === 'durable') emitted.set(e.seq, performance.now());
  });
  const delivery: number[] = [];
  for (const c of clients)
    c.on('payment', (e) => {
      if (!e.durable) return;
      const at = emitted.get(e.seq);
      if (at !== undefined) delivery.push(performance.now() - at);
    });
  let expected = 0;
  for (let i = 0; i < SALES; i++) {
    const before = emitted.size;
    const v = engine.submit({
      kind: 'sale',
      idempotencyKey: `ev-${i}`,
      operatorId: 'bench',
      orderId: 'ORD-E',
      amount: 10_000 + i * 100,
    });
    await engine.settled(v.id);
    expected += (emitted.size - before) * CLIENTS;
  }
  const deadline = performance.now() + 5000;
  while (delivery.length < expected && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  delivery.sort((a, b) => a - b);
  console.log(
    `  ${SALES} sales, ${expected / CLIENTS} durable events, each to ${CLIENTS} clients: ${delivery.length}/${expected} delivered`,
  );
  console.log(
    `  event delivery (engine emit → client listener) p50 ${pct(delivery, 50).toFixed(2)} ms, p99 ${pct(delivery, 99).toFixed(2)} ms, max ${(delivery.at(-1) ?? NaN).toFixed(2)} ms`,
  );
  console.log(
    '  TODO(lead): daemon cold start to ready (goal < 1.5 s) and RSS at idle (goal < 120 MB) need the daemon',
  );

  for (const c of clients) c.close();
  await api.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await engine.stop();
  await link.close();
  journal.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
