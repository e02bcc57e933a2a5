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
 * Daemon cold start: the compiled CLI (`posbridge start`) as a child process with a fresh state directory,
 * spawn → ready line, then its RSS after 5 s idle (/proc/<pid>/status VmRSS; Linux only).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createApiServer, type TerminalInfo } from '../src/api/index.js';
import { PosbridgeClient } from '../src/api/client/index.js';
import type { EngineEvent } from '../src/engine/index.js';
import { startStack } from './stack.js';

const CLIENTS = 100;
const DURATION_MS = 3000;
const WARMUP_MS = 500;
const SALES = 20;
const TOKEN = 'bench-token';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function run(): Promise<void> {
  const stack = await startStack({
    terminalId: 'BENCH001',
    config: { saf: { adviceAfterCompletion: false } },
  });
  const { engine } = stack;
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
  console.log(await coldStart());

  for (const c of clients) c.close();
  await api.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await stack.close();
}

/** Spawns `posbridge start` against simulators in this process; returns the printed line. */
async function coldStart(): Promise<string> {
  const { spawn } = await import('node:child_process');
  const { readFileSync, writeFileSync, existsSync } = await import('node:fs');
  const { createInterface } = await import('node:readline');
  const { startHostSimulator } = await import('../simulators/host/index.js');
  const { startReaderSimulator, DEFAULT_SERIAL_NUMBER } = await import('../simulators/reader/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-cold-'));
  const host = await startHostSimulator({ controlPort: null });
  const reader = await startReaderSimulator({ tcp: { port: 0 }, control: false });
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      port: 0,
      stateDir: join(dir, 'state'),
      terminalId: 'COLD0001',
      merchantId: '898310048160001',
      host: { address: '127.0.0.1', port: host.isoPort },
      readers: [
        { transport: 'tcp', host: '127.0.0.1', port: reader.port, pairedSerials: [DEFAULT_SERIAL_NUMBER] },
      ],
      logLevel: 'warn',
    }),
  );
  const cli = join(process.cwd(), 'dist', 'src', 'daemon', 'cli.js');
  if (!existsSync(cli)) return '  daemon cold start: build first (npm run build)';
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, 'start', '--config', config], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve) =>
    createInterface({ input: child.stdout! }).on('line', (l) => l.includes('"ready":true') && resolve()),
  );
  const ready = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5000));
  let rss = 'n/a';
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    if (m) rss = `${Math.round(Number(m[1]) / 1024)} MB`;
  } catch {
    // not Linux
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await reader.close();
  await host.close();
  rmSync(dir, { recursive: true, force: true });
  return `  daemon cold start to ready: ${Math.round(ready)} ms (goal < 1,500 ms); RSS at idle after 5 s: ${rss} (goal < 120 MB)`;
}
