/**
 * `posbridge-sim demo` (what `npm start` runs): the daemon with an acquirer host simulator and a card
 * reader simulator, all in this process, state in POSBRIDGE_HOME when set, else ~/.posbridge-demo (never
 * the production ~/.posbridge). The simulators' control APIs are proxied on the daemon's own server under
 * /sim/host/ and /sim/reader/, so a page served by the daemon needs no other origin.
 */
import { mkdirSync } from 'node:fs';
import type http from 'node:http';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino, { type LoggerOptions } from 'pino';
import { cardLogOptions } from '../src/card/index.js';
import { parseConfig } from '../src/daemon/config.js';
import { createDaemon, type Daemon, type Route } from '../src/daemon/daemon.js';
import { removeDaemonFile, writeDaemonFile } from '../src/daemon/running.js';
import { crmRoutes, demoTokenRoute } from './crm/routes.js';
import { startHostSimulator } from './host/index.js';
import { DEFAULT_SERIAL_NUMBER, startReaderSimulator } from './reader/index.js';

export interface DemoOptions {
  stateDir?: string;
  port?: number;
  logLevel?: string;
  /** Extra routes (the CRM page adds its own). */
  routes?: Route[];
  /** Delays of the simulated customer (ms); the demo keeps them human, tests set them to 0. */
  customerDelayMs?: number;
  /** How long the daemon waits for the host's answer (default 10 s; the browser suite runs it short). */
  hostResponseMs?: number;
}

export interface Demo {
  daemon: Daemon;
  port: number;
  stateDir: string;
  stop(): Promise<void>;
}

export function demoStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['POSBRIDGE_HOME'] ? resolve(env['POSBRIDGE_HOME']) : join(homedir(), '.posbridge-demo');
}

/** Forwards /sim/<name>/<rest> to a simulator's loopback control API. */
function proxy(prefix: string, port: () => number | undefined): Route[] {
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const target = port();
    if (!target) {
      res.writeHead(503).end();
      return;
    }
    const rest = (req.url ?? '/').slice(prefix.length) || '/';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const upstream = await fetch(`http://127.0.0.1:${target}${rest.startsWith('/') ? rest : `/${rest}`}`, {
      method: req.method ?? 'GET',
      ...(chunks.length
        ? {
            body: Buffer.concat(chunks),
            headers: { 'content-type': String(req.headers['content-type'] ?? 'application/json') },
          }
        : {}),
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    res
      .writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
      })
      .end(body);
  };
  return ['GET', 'POST', 'DELETE', 'PUT'].map((method) => ({ method, path: `${prefix}*`, handler }));
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const stateDir = options.stateDir ?? demoStateDir();
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const logLevel = options.logLevel ?? 'warn';
  const logger = pino(
    { ...(cardLogOptions() as unknown as LoggerOptions), level: logLevel, base: { name: 'posbridge-demo' } },
    pino.destination({ fd: 2, sync: true }),
  );
  const host = await startHostSimulator({
    controlPort: 0,
    ledgerFile: join(stateDir, 'host-ledger.json'),
    logger: logger.child({ sim: 'host' }),
  });
  const reader = await startReaderSimulator({
    tcp: { port: 0 },
    control: { port: 0 },
    logger: logger.child({ sim: 'reader' }),
  });
  const delay = options.customerDelayMs ?? 400;
  reader.setBehaviour({
    card: 'cup-debit-chip',
    cardDelayMs: delay,
    pinDigitDelayMs: Math.round(delay / 4),
    processingDelayMs: Math.round(delay / 2),
  });
  const config = parseConfig(
    {
      port: options.port ?? 7583,
      stateDir: join(stateDir, 'daemon'),
      terminalId: 'DEMO0001',
      merchantId: '898310048160001',
      merchantName: 'posbridge demo motors',
      host: { address: '127.0.0.1', port: host.isoPort },
      readers: [
        { transport: 'tcp', host: '127.0.0.1', port: reader.port!, pairedSerials: [DEFAULT_SERIAL_NUMBER] },
      ],
      allowedOrigins: [],
      defaultOperatorId: 'demo',
      timers: { hostResponseMs: options.hostResponseMs ?? 10_000, hostIdleEchoMs: 60_000 },
      logLevel,
    },
    'demo',
  );
  const daemon = await createDaemon({
    config,
    logger,
    routes: [
      ...proxy('/sim/host', () => host.controlPort),
      ...proxy('/sim/reader', () => reader.controlPort),
      // The demo CRM page (simulators/crm) and, for it only, the token (see simulators/crm/routes.ts).
      ...crmRoutes(),
      demoTokenRoute(),
      ...(options.routes ?? []),
    ],
    extraOrigins: (port) => [`http://127.0.0.1:${port}`, `http://localhost:${port}`],
  });
  const { port } = await daemon.start();
  // So `posbridge pair --home <demo state>/daemon` and the other CLI commands find this daemon.
  writeDaemonFile(daemon.config.stateDir, { pid: process.pid, port });
  return {
    daemon,
    port,
    stateDir,
    async stop() {
      await daemon.stop();
      removeDaemonFile(daemon.config.stateDir);
      await reader.close();
      await host.close();
    },
  };
}

export async function runDemoCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: posbridge-sim demo [--port 7583] [--log-level warn]\nState: POSBRIDGE_HOME, else ~/.posbridge-demo. Ctrl-C stops.\n',
    );
    return 0;
  }
  const envPort = process.env['POSBRIDGE_PORT'];
  const demo = await startDemo({
    ...(values.port !== undefined ? { port: Number(values.port) } : envPort ? { port: Number(envPort) } : {}),
    ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
  });
  const tokenFile = join(demo.daemon.config.stateDir, 'token');
  process.stdout.write(
    `${JSON.stringify({ ready: true, ws: demo.port, http: demo.port })}\n` +
      `posbridge demo running\n` +
      `  WebSocket  ws://127.0.0.1:${demo.port}/ws\n` +
      `  CRM page   http://127.0.0.1:${demo.port}/\n` +
      `  health     http://127.0.0.1:${demo.port}/healthz\n` +
      `  token      ${tokenFile}  (scripts read it; pages pair)\n` +
      `  state      ${demo.stateDir}\n` +
      `Ctrl-C to stop.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write('stopping: finishing what is in flight, closing the journal...\n');
  await demo.stop();
  return 0;
}
