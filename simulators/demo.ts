/**
 * `posbridge-sim demo` (what `npm start` runs): the daemon with an acquirer host simulator and a card
 * reader simulator, all in this process; with `--terminal zvt`, with a ZVT terminal simulator over TCP
 * instead (an integrated terminal: it does its own acquiring, so there is no host simulator and no
 * reader). One rule for the state directory, the same as every `posbridge`
 * command: --home, else POSBRIDGE_HOME, else ~/.posbridge-demo (never the production ~/.posbridge) IS the
 * daemon's state directory, so `POSBRIDGE_HOME=<it> posbridge token` (or doctor, journal, pair...) finds
 * this daemon; the simulators keep their own state in its `simulators/` subdirectory. The simulators'
 * control APIs are proxied on the daemon's own server under /sim/host/ and /sim/reader/ (or /sim/zvt/), so
 * a page served by the daemon needs no other origin.
 */
import { existsSync } from 'node:fs';
import type http from 'node:http';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import pino, { type LoggerOptions } from 'pino';
import { cardLogOptions } from '../src/card/index.js';
import { shellQuote } from '../src/daemon/commands.js';
import { parseConfig } from '../src/daemon/config.js';
import { createDaemon, type Daemon, type Route } from '../src/daemon/daemon.js';
import { enrolWithHub, readHubCredential, rewriteHubUrl } from '../src/daemon/hub-wiring.js';
import { authenticateDaemon, createEnrolCode, startHubService, type HubService } from '../src/hub/index.js';
import { parseCommandArgs } from '../src/daemon/cli-args.js';
import { CliFailure, describeFailure, EXIT, parsePortOption } from '../src/daemon/failures.js';
import { recoveryLine, stopOnSignal, watchSignals } from '../src/daemon/lifecycle.js';
import { removeDaemonFile, writeDaemonFile } from '../src/daemon/running.js';
import { ensureUsableStateDir } from '../src/daemon/state-dir.js';
import { crmRoutes, demoTokenRoute } from './crm/routes.js';
import { startHostSimulator } from './host/index.js';
import { DEFAULT_SERIAL_NUMBER, startReaderSimulator } from './reader/index.js';
import { DEFAULT_SIM_PASSWORD, startZvtSimulator, type ZvtSimulatorHandle } from './zvt/index.js';
import { relayQrNotification } from './qr/forwarder.js';
import { startQrSimulator } from './qr/index.js';
import { qrProvidersFor } from './qr/providers.js';

/** The terminals the demo can run: a card reader (+ acquirer host simulator), or a ZVT terminal. */
export const DEMO_TERMINALS = ['reader', 'zvt'] as const;
export type DemoTerminal = (typeof DEMO_TERMINALS)[number];

export interface DemoOptions {
  /** The daemon's state directory (default: demoStateDir()); the simulators use its `simulators/`. */
  stateDir?: string;
  port?: number;
  logLevel?: string;
  /** Extra routes (the CRM page adds its own). */
  routes?: Route[];
  /** Delays of the simulated customer (ms); the demo keeps them human, tests set them to 0. */
  customerDelayMs?: number;
  /** How long the daemon waits for the host's answer (default 10 s; the browser suite runs it short). */
  hostResponseMs?: number;
  /**
   * `reader` (default): the reader and host simulators. `zvt`: the ZVT terminal simulator over TCP
   * (password 123456), a `zvt` configuration block, no acquirer link and no reader.
   */
  terminal?: DemoTerminal;
  /**
   * Run a fleet hub on PGlite beside the daemon (state in `<stateDir>/simulators/hub`) and enrol the
   * demo's daemon with it, so its dashboard shows this laptop (the CLI does; tests leave it off).
   */
  hub?: boolean | { port?: number };
}

export interface Demo {
  daemon: Daemon;
  port: number;
  /** The daemon's state directory (what POSBRIDGE_HOME names for every posbridge command). */
  stateDir: string;
  /** The simulators' own state (the host's ledger): `<stateDir>/simulators`. */
  simulatorsDir: string;
  /** Which terminal takes the payments. */
  terminal: DemoTerminal;
  /** One line for people: the terminal and where its simulator listens. */
  terminalLine: string;
  /** The ZVT terminal simulator (with `terminal: 'zvt'`). */
  zvt?: ZvtSimulatorHandle;
  /** The fleet hub (with `hub`): its URL; dashboard user admin / posbridge-demo. */
  hubUrl?: string;
  stop(): Promise<void>;
}

/** The demo's state directory: POSBRIDGE_HOME, else ~/.posbridge-demo (never the production ~/.posbridge). */
export function demoStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['POSBRIDGE_HOME'] ? resolve(env['POSBRIDGE_HOME']) : join(homedir(), '.posbridge-demo');
}

/** Where the simulators keep their state, inside the daemon's state directory. */
export const SIMULATORS_SUBDIR = 'simulators';

/** Forwards /sim/<name>/<rest> to a simulator's loopback control API. */
/** Where the demo's QR simulator sends its notifications (the demo's stand-in for a CRM backend). */
const QR_NOTIFY_RELAY = '/demo/qr-notify';

/**
 * The demo's stand-in for the CRM backend that receives the providers' notifications (docs/qr.md
 * "Notifications"): it forwards each to the daemon's authenticated `/qr/notify/<provider>` with the
 * token, body and signature headers as received, and answers the simulator with the daemon's answer.
 */
function qrNotifyRelayRoute(): Route {
  return {
    method: 'POST',
    path: QR_NOTIFY_RELAY,
    handler: (req, res, d) =>
      relayQrNotification(req, res, () => ({ url: `http://127.0.0.1:${d.port}`, token: d.token })),
  };
}

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

/**
 * Starts the simulators and the daemon. When anything fails (port in use, state directory locked or not
 * writable, invalid settings) everything already started is closed again before it rejects: no port, no
 * lock is left behind.
 */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const stateDir = resolve(options.stateDir ?? demoStateDir());
  const simulatorsDir = join(stateDir, SIMULATORS_SUBDIR);
  ensureUsableStateDir(stateDir);
  ensureUsableStateDir(simulatorsDir);
  const logLevel = options.logLevel ?? 'warn';
  const logger = pino(
    { ...(cardLogOptions() as unknown as LoggerOptions), level: logLevel, base: { name: 'posbridge-demo' } },
    pino.destination({ fd: 2, sync: true }),
  );
  const started: Array<() => Promise<void>> = [];
  const terminal = options.terminal ?? 'reader';
  const delay = options.customerDelayMs ?? 400;
  try {
    const base = {
      port: options.port ?? 7583,
      stateDir,
      terminalId: 'DEMO0001',
      merchantId: '898310048160001',
      merchantName: 'posbridge demo motors',
      allowedOrigins: [],
      defaultOperatorId: 'demo',
      logLevel,
      // The key-encrypting key beside, never inside, the state directory (docs/operations.md, "Keys").
      keyStore: { kind: 'file', path: process.env['POSBRIDGE_KEY_FILE'] ?? `${stateDir}.kek` },
    };
    let raw: Record<string, unknown>;
    let simRoutes: Route[];
    let terminalLine: string;
    let zvt: ZvtSimulatorHandle | undefined;
    if (terminal === 'zvt') {
      // An integrated terminal: it reads the card and authorises with its own acquirer.
      const sim = await startZvtSimulator({
        tcp: { port: 0 },
        control: { port: 0 },
        password: DEFAULT_SIM_PASSWORD,
        logger: logger.child({ sim: 'zvt' }),
        behaviour: {
          card: 'cup-debit-chip',
          cardDelayMs: delay,
          // The PIN entry, with the terminal's "watch the PIN pad" status while it lasts.
          longPinEntryMs: delay * 2,
          statusEveryMs: Math.max(10, delay),
          processingMs: Math.round(delay / 2),
        },
      });
      started.push(() => sim.close());
      zvt = sim;
      raw = {
        ...base,
        zvt: { tcp: { host: '127.0.0.1', port: sim.port! }, password: DEFAULT_SIM_PASSWORD },
      };
      simRoutes = proxy('/sim/zvt', () => sim.controlPort);
      terminalLine = `zvt: ZVT terminal simulator on tcp://127.0.0.1:${sim.port} (password ${DEFAULT_SIM_PASSWORD}, control API /sim/zvt/); no acquirer link, no card reader (--terminal reader for those)`;
    } else {
      const host = await startHostSimulator({
        controlPort: 0,
        ledgerFile: join(simulatorsDir, 'host-ledger.json'),
        logger: logger.child({ sim: 'host' }),
      });
      started.push(() => host.close());
      const reader = await startReaderSimulator({
        tcp: { port: 0 },
        control: { port: 0 },
        logger: logger.child({ sim: 'reader' }),
      });
      started.push(() => reader.close());
      reader.setBehaviour({
        card: 'cup-debit-chip',
        cardDelayMs: delay,
        pinDigitDelayMs: Math.round(delay / 4),
        processingDelayMs: Math.round(delay / 2),
      });
      raw = {
        ...base,
        host: { address: '127.0.0.1', port: host.isoPort },
        readers: [
          { transport: 'tcp', host: '127.0.0.1', port: reader.port!, pairedSerials: [DEFAULT_SERIAL_NUMBER] },
        ],
        timers: { hostResponseMs: options.hostResponseMs ?? 10_000, hostIdleEchoMs: 60_000 },
      };
      simRoutes = [
        ...proxy('/sim/host', () => host.controlPort),
        ...proxy('/sim/reader', () => reader.controlPort),
      ];
      terminalLine = `reader: card reader simulator on tcp://127.0.0.1:${reader.port} with the acquirer host simulator on 127.0.0.1:${host.isoPort} (control APIs /sim/reader/, /sim/host/; --terminal zvt for a ZVT terminal)`;
    }
    // Scan-to-pay on the same desk: the Alipay and WeChat Pay gateway simulators (docs/qr.md).
    const qrSim = await startQrSimulator({ port: 0, control: { port: 0 }, log: logger.child({ sim: 'qr' }) });
    started.push(() => qrSim.close());
    simRoutes = [...simRoutes, ...proxy('/sim/qr', () => qrSim.controlPort)];
    terminalLine += `; scan-to-pay: Alipay and WeChat Pay simulators on ${qrSim.url} (control API /sim/qr/)`;
    let hubUrl: string | undefined;
    // The demo's own options decide the state directory and port, not the environment.
    const config = parseConfig(raw, 'demo', {});
    const daemon = await createDaemon({
      config,
      logger,
      qr: qrProvidersFor(qrSim),
      routes: [
        ...simRoutes,
        // The demo CRM page (simulators/crm) and, for it only, the token (see simulators/crm/routes.ts).
        ...crmRoutes(),
        demoTokenRoute(),
        qrNotifyRelayRoute(),
        ...(options.routes ?? []),
      ],
      extraOrigins: (port) => [`http://127.0.0.1:${port}`, `http://localhost:${port}`],
    });
    // start() closes the daemon (journal and lock included) itself when it cannot listen.
    const { port } = await daemon.start();
    // So `posbridge pair`, `token`, `doctor`... with POSBRIDGE_HOME=<stateDir> find this daemon.
    writeDaemonFile(stateDir, { pid: process.pid, port });
    // A fleet hub beside it, this laptop enrolled (docs/fleet.md): started once the daemon holds its
    // port and state directory, so those failures stay quick.
    if (options.hub) {
      const hub = await startHubService({
        port: typeof options.hub === 'object' ? (options.hub.port ?? 0) : 0,
        dataDir: join(simulatorsDir, 'hub'),
        admin: { name: 'admin', password: DEMO_HUB_PASSWORD },
      });
      started.push(() => hub.close());
      hubUrl = hub.url;
      try {
        await joinDemoHub(hub, stateDir, base.terminalId);
      } catch (e) {
        await daemon.stop();
        throw e;
      }
      daemon.connectHub();
    }

    // The providers' notifications reach the daemon as a deployment's do: through "the CRM backend".
    qrSim.setNotifyUrl(`http://127.0.0.1:${port}${QR_NOTIFY_RELAY}`);
    return {
      daemon,
      port,
      stateDir,
      simulatorsDir,
      terminal,
      terminalLine,
      ...(zvt ? { zvt } : {}),
      ...(hubUrl ? { hubUrl } : {}),
      async stop() {
        await daemon.stop();
        removeDaemonFile(stateDir);
        for (const close of started.reverse()) await close();
      },
    };
  } catch (e) {
    for (const close of started.reverse()) await close().catch(() => undefined);
    throw e;
  }
}

const DEMO_HUB_PASSWORD = 'posbridge-demo';

/** Enrols the demo's daemon with its hub once; later runs keep the credential and follow the new port. */
async function joinDemoHub(hub: HubService, stateDir: string, terminalId: string): Promise<void> {
  const cred = readHubCredential(stateDir);
  if (cred) {
    const known = await authenticateDaemon(hub.db, `Bearer ${cred.credential}`).then(
      () => true,
      () => false,
    );
    if (known) {
      rewriteHubUrl(stateDir, hub.url);
      return;
    }
  }
  const { code } = await createEnrolCode(hub.db, { store: 'Demo store', name: 'demo laptop' });
  await enrolWithHub({ url: hub.url, code, stateDir, terminalIds: [terminalId], name: 'demo laptop' });
}

const DEMO_PORT_FIX =
  'stop the program using it (another demo?), or choose another port with --port <n> or POSBRIDGE_PORT (0 picks a free one)';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const DEMO_USAGE =
  'usage: posbridge-sim demo [--terminal reader|zvt] [--port 7583] [--home <dir>] [--log-level warn] [--no-hub]\n' +
  '--no-hub: no fleet hub (by default a hub on PGlite runs beside the daemon, which is enrolled with it).\n' +
  '--terminal reader (default): a card reader simulator and an acquirer host simulator; zvt: a ZVT\n' +
  'terminal simulator over TCP (an integrated terminal that does its own acquiring; docs/zvt.md).\n' +
  "State directory: --home, else POSBRIDGE_HOME, else ~/.posbridge-demo; it is the daemon's, so\n" +
  '`POSBRIDGE_HOME=<it> posbridge token` (doctor, journal, pair...) finds this daemon; the simulators\n' +
  'keep their state in its simulators/ subdirectory. Ctrl-C stops (a second Ctrl-C at once).\n' +
  'Exit codes: as posbridge (posbridge --help): 2 usage, 4 invalid POSBRIDGE_PORT, 5 state directory, 6 port in use.\n';

/**
 * `posbridge-sim demo`. Resolves with the exit code after a stop; a start-up failure rejects with a
 * CliFailure (one line, its exit code) after everything started was closed again.
 */
export async function runDemoCli(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      home: { type: 'string' },
      'log-level': { type: 'string' },
      terminal: { type: 'string' },
      'no-hub': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(DEMO_USAGE);
    return EXIT.ok;
  }
  let port: number | undefined;
  if (values.port !== undefined) port = parsePortOption(values.port, '--port');
  else {
    const envPort = process.env['POSBRIDGE_PORT'];
    if (envPort !== undefined && envPort !== '') {
      try {
        port = parsePortOption(envPort, 'POSBRIDGE_PORT');
      } catch {
        throw new CliFailure(
          EXIT.config,
          `POSBRIDGE_PORT must be a port number 0-65535, got ${JSON.stringify(envPort)}: set it to a number (0 picks a free port) or unset it (default 7583)`,
        );
      }
    }
  }
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel))
    throw new CliFailure(
      EXIT.usage,
      `--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}: e.g. --log-level warn`,
    );
  const terminal = values.terminal ?? 'reader';
  if (!(DEMO_TERMINALS as readonly string[]).includes(terminal))
    throw new CliFailure(
      EXIT.usage,
      `--terminal must be one of ${DEMO_TERMINALS.join(', ')}, got ${JSON.stringify(terminal)}: e.g. --terminal zvt (default reader)`,
    );
  const stateDir = resolve(values.home ?? demoStateDir());
  const signals = watchSignals();
  let demo: Demo;
  try {
    demo = await startDemo({
      stateDir,
      ...(port !== undefined ? { port } : {}),
      ...(logLevel ? { logLevel } : {}),
      terminal: terminal as DemoTerminal,
      hub: !values['no-hub'],
    });
  } catch (e) {
    signals.dispose();
    throw describeFailure(e, { stateDir, port: port ?? 7583, portFix: DEMO_PORT_FIX });
  }
  const tokenFile = join(demo.stateDir, 'token');
  const home = shellQuote(demo.stateDir);
  const earlier = join(demo.stateDir, 'daemon', 'journal.db');
  process.stdout.write(
    `${JSON.stringify({ ready: true, ws: demo.port, http: demo.port, stateDir: demo.stateDir, terminal: demo.terminal })}\n` +
      `posbridge demo running\n` +
      `  terminal   ${demo.terminalLine}\n` +
      `  WebSocket  ws://127.0.0.1:${demo.port}/ws\n` +
      `  CRM page   http://127.0.0.1:${demo.port}/\n` +
      `  health     http://127.0.0.1:${demo.port}/healthz\n` +
      (demo.hubUrl ? `  fleet hub  ${demo.hubUrl}/  (dashboard: admin / posbridge-demo; --no-hub leaves it out)\n` : '') +
      `  state      ${demo.stateDir}  (the daemon's state directory; simulators in ${demo.simulatorsDir})\n` +
      `  token      ${tokenFile}  (scripts read it; pages pair)\n` +
      `  commands   POSBRIDGE_HOME=${home} npx posbridge token   (same for doctor, journal, pair, tokens, settle)\n` +
      (existsSync(earlier)
        ? `  note       ${join(demo.stateDir, 'daemon')} is an earlier demo's state, no longer used: delete it\n`
        : '') +
      `Ctrl-C to stop.\n`,
  );
  const say = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  let stopping = false;
  void signals.first.then(() => (stopping = true));
  void demo.daemon.recovered().then((r) => {
    if (!stopping) say(recoveryLine(r));
  });
  return stopOnSignal(signals, {
    inFlight: () => demo.daemon.engine.inFlight(),
    stop: () => demo.stop(),
    say,
    logger: demo.daemon.logger,
  });
}
