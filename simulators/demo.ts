/**
 * `posbridge-sim demo` (what `npm start` runs): the daemon with an acquirer host simulator and a card
 * reader simulator, all in this process; with `--terminal zvt`, with a ZVT terminal simulator over TCP
 * instead (an integrated terminal: it does its own acquiring, so there is no host simulator and no
 * reader); with `--dialect <name>` / `--reader-profile <name>`, the acquirer dialect (e.g. cup-pos-sm4)
 * and the reader profile (e.g. posbridge-dukpt-tdes) that the daemon and both simulators run. One rule
 * for the state directory, the same as every `posbridge` command: --home, else POSBRIDGE_HOME, else ~/.posbridge-demo (never the production ~/.posbridge) IS the
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
import { listDialects, loadDialect, type Dialect, type Iso8583Message } from '../src/iso8583/index.js';
import { listReaderProfiles, loadReaderProfile } from '../src/terminal/index.js';
import { parseCommandArgs } from '../src/daemon/cli-args.js';
import { CliFailure, describeFailure, EXIT, parsePortOption } from '../src/daemon/failures.js';
import { recoveryLine, stopOnSignal, watchSignals } from '../src/daemon/lifecycle.js';
import { removeDaemonFile, writeDaemonFile } from '../src/daemon/running.js';
import { ensureUsableStateDir } from '../src/daemon/state-dir.js';
import { crmRoutes, demoTokenRoute } from './crm/routes.js';
import { startHostSimulator, type HostSimulator } from './host/index.js';
import { DEFAULT_SERIAL_NUMBER, startReaderSimulator, type ReaderSimulatorHandle } from './reader/index.js';
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
  /**
   * The acquirer's ISO 8583 dialect (a protocols/iso8583 name, e.g. `cup-pos-sm4`), run by both the
   * daemon and the host simulator. Default `cup-pos`, or `cup-pos-dukpt` when the reader profile
   * encrypts PINs with DUKPT. Reader terminal only.
   */
  dialect?: string;
  /**
   * The card reader's profile (a protocols/terminal name, e.g. `posbridge-dukpt-tdes`), used by both the
   * daemon's reader driver and the reader simulator. Default `posbridge`. Reader terminal only.
   */
  readerProfile?: string;
}

/**
 * What the acquirer host simulator received, as far as the key schemes show in it (for QA and the
 * browser suite): never a PIN block, only its length; the KSN, which travels in clear, in hex.
 */
export interface AcquirerRequestFacts {
  mti: string;
  stan?: string;
  processingCode?: string;
  /** Field 52's length in bytes (8: DES/TDES DUKPT format 0; 16: SM4, or AES DUKPT format 4). */
  pinBlockBytes?: number;
  /** The dialect's DUKPT KSN field (cup-pos-dukpt: 53), hex. */
  ksn?: string;
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
  /** The acquirer dialect the daemon and the host simulator run (reader terminal). */
  dialect?: string;
  /** The reader profile the daemon and the reader simulator use (reader terminal). */
  readerProfile?: string;
  /** The acquirer host simulator (reader terminal). */
  host?: HostSimulator;
  /** The card reader simulator (reader terminal). */
  reader?: ReaderSimulatorHandle;
  /** The last requests the host simulator received (at most 200), oldest first (reader terminal). */
  acquirerRequests(): AcquirerRequestFacts[];
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


/** The dialects the demo can run: the ones with a sign-on exchange (the cup-pos family). */
export function demoDialects(): string[] {
  return listDialects().filter((name) => {
    try {
      return loadDialect(name).spec.exchanges?.signOn !== undefined;
    } catch {
      return false;
    }
  });
}

/** `--<flag>` must be one of `choices`: else a usage failure naming the flag and the choices. */
function requireChoice(flag: string, value: string, choices: readonly string[], example: string): void {
  if (!choices.includes(value))
    throw new CliFailure(
      EXIT.usage,
      `--${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}: e.g. --${flag} ${example}`,
    );
}

/**
 * The reader terminal's dialect and reader profile, checked: known names, and a DUKPT reader only with
 * a dialect that carries its KSN (the default dialect then is cup-pos-dukpt). Usage failures otherwise.
 */
export function resolveDemoKeySchemes(options: Pick<DemoOptions, 'terminal' | 'dialect' | 'readerProfile'>): {
  dialect: string;
  readerProfile: string;
} {
  if ((options.terminal ?? 'reader') !== 'reader') {
    const given =
      options.dialect !== undefined
        ? 'dialect'
        : options.readerProfile !== undefined
          ? 'reader-profile'
          : undefined;
    if (given)
      throw new CliFailure(
        EXIT.usage,
        `--${given} applies to --terminal reader only (a ZVT terminal does its own acquiring and PIN entry)`,
      );
    return { dialect: 'cup-pos', readerProfile: 'posbridge' };
  }
  if (options.dialect !== undefined) requireChoice('dialect', options.dialect, demoDialects(), 'cup-pos-sm4');
  if (options.readerProfile !== undefined)
    requireChoice('reader-profile', options.readerProfile, listReaderProfiles(), 'posbridge-dukpt-tdes');
  const carriesKsn = (name: string): boolean => loadDialect(name).ksnField !== undefined;
  // Each default follows the other: a DUKPT reader needs a dialect with a KSN field, and back.
  const readerProfile =
    options.readerProfile ??
    (options.dialect !== undefined && carriesKsn(options.dialect) ? 'posbridge-dukpt-tdes' : 'posbridge');
  const scheme = loadReaderProfile(readerProfile).pinKeyScheme;
  const dialect = options.dialect ?? (scheme === 'session' ? 'cup-pos' : 'cup-pos-dukpt');
  if (scheme !== 'session' && !carriesKsn(dialect))
    throw new CliFailure(
      EXIT.usage,
      `--reader-profile ${readerProfile} encrypts PINs with DUKPT (${scheme}), but --dialect ${dialect} has no field for its KSN: use --dialect cup-pos-dukpt (the default with a DUKPT reader)`,
    );
  if (scheme === 'session' && carriesKsn(dialect))
    throw new CliFailure(
      EXIT.usage,
      `--dialect ${dialect} expects a DUKPT reader (a KSN with every PIN), but --reader-profile ${readerProfile} encrypts PINs under the session key: use --reader-profile posbridge-dukpt-tdes or posbridge-dukpt-aes (the default with ${dialect} is posbridge-dukpt-tdes)`,
    );
  return { dialect, readerProfile };
}

/**
 * The dialect for the host simulator: the same object, except that every request it unpacks is noted
 * (masked: field 52's length, the KSN) in `into`, at most `max` of them.
 */
function observedDialect(dialect: Dialect, into: AcquirerRequestFacts[], max = 200): Dialect {
  const ksnAt = dialect.ksnField;
  const observed = Object.create(dialect) as Dialect;
  observed.unpack = (body: Buffer): Iso8583Message => {
    const m = dialect.unpack.call(observed, body);
    const f = m.fields;
    const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
    const pin = f[52] as { length?: unknown } | undefined;
    const ksn = ksnAt !== undefined ? f[ksnAt] : undefined;
    const stan = text(f[11]);
    const processingCode = text(f[3]);
    into.push({
      mti: m.mti,
      ...(stan ? { stan } : {}),
      ...(processingCode ? { processingCode } : {}),
      ...(pin && typeof pin.length === 'number' ? { pinBlockBytes: pin.length } : {}),
      ...(Buffer.isBuffer(ksn) ? { ksn: ksn.toString('hex').toUpperCase() } : {}),
    });
    if (into.length > max) into.splice(0, into.length - max);
    return m;
  };
  return observed;
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
  const schemes = resolveDemoKeySchemes(options);
  const requests: AcquirerRequestFacts[] = [];
  let host: HostSimulator | undefined;
  let reader: ReaderSimulatorHandle | undefined;
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
      host = await startHostSimulator({
        dialect: observedDialect(loadDialect(schemes.dialect), requests),
        controlPort: 0,
        ledgerFile: join(simulatorsDir, 'host-ledger.json'),
        logger: logger.child({ sim: 'host' }),
      });
      started.push(() => host!.close());
      reader = await startReaderSimulator({
        profile: schemes.readerProfile,
        tcp: { port: 0 },
        control: { port: 0 },
        logger: logger.child({ sim: 'reader' }),
      });
      started.push(() => reader!.close());
      reader.setBehaviour({
        card: 'cup-debit-chip',
        cardDelayMs: delay,
        pinDigitDelayMs: Math.round(delay / 4),
        processingDelayMs: Math.round(delay / 2),
      });
      raw = {
        ...base,
        host: { address: '127.0.0.1', port: host.isoPort, dialect: schemes.dialect },
        readers: [
          {
            transport: 'tcp',
            host: '127.0.0.1',
            port: reader.port!,
            profile: schemes.readerProfile,
            pairedSerials: [DEFAULT_SERIAL_NUMBER],
          },
        ],
        timers: { hostResponseMs: options.hostResponseMs ?? 10_000, hostIdleEchoMs: 60_000 },
      };
      const hostSim = host;
      const readerSim = reader;
      simRoutes = [
        ...proxy('/sim/host', () => hostSim.controlPort),
        ...proxy('/sim/reader', () => readerSim.controlPort),
      ];
      const pinKeys = loadReaderProfile(schemes.readerProfile).pinKeyScheme;
      const signOnKeys = loadDialect(schemes.dialect).spec.exchanges?.signOn?.keyScheme ?? 'des';
      terminalLine = `reader: card reader simulator (profile ${schemes.readerProfile}, PIN keys ${pinKeys === 'session' ? `from sign-on, ${signOnKeys.toUpperCase()}` : pinKeys.toUpperCase()}) on tcp://127.0.0.1:${readerSim.port} with the acquirer host simulator (dialect ${schemes.dialect}) on 127.0.0.1:${hostSim.isoPort} (control APIs /sim/reader/, /sim/host/; --terminal zvt for a ZVT terminal)`;
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
      ...(host && reader
        ? { dialect: schemes.dialect, readerProfile: schemes.readerProfile, host, reader }
        : {}),
      acquirerRequests: () => requests.map((r) => ({ ...r })),
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
  'usage: posbridge-sim demo [--terminal reader|zvt] [--dialect <name>] [--reader-profile <name>]\n' +
  '                          [--port 7583] [--home <dir>] [--log-level warn] [--no-hub]\n' +
  '--no-hub: no fleet hub (by default a hub on PGlite runs beside the daemon, which is enrolled with it).\n' +
  '--terminal reader (default): a card reader simulator and an acquirer host simulator; zvt: a ZVT\n' +
  'terminal simulator over TCP (an integrated terminal that does its own acquiring; docs/zvt.md).\n' +
  "--dialect <name>: the acquirer's ISO 8583 dialect (a protocols/iso8583 name with a sign-on: cup-pos,\n" +
  'cup-pos-sm4, cup-pos-dukpt, ...), run by the daemon and the host simulator. Default cup-pos;\n' +
  'cup-pos-dukpt with a DUKPT reader. cup-pos-sm4: SM4 working keys, SM4 PIN block and MAC.\n' +
  '--reader-profile <name>: the card reader profile (a protocols/terminal name), used by the daemon and\n' +
  'the reader simulator. Default posbridge; posbridge-dukpt-tdes with --dialect cup-pos-dukpt.\n' +
  'posbridge-dukpt-tdes / posbridge-dukpt-aes: a DUKPT PIN pad (X9.24-1 / X9.24-3), its KSN in field 53.\n' +
  'Both for --terminal reader only (docs/demo-crm.md, "Key schemes").\n' +
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
      dialect: { type: 'string' },
      'reader-profile': { type: 'string' },
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
  const keySchemes = {
    terminal: terminal as DemoTerminal,
    ...(values.dialect !== undefined ? { dialect: values.dialect } : {}),
    ...(values['reader-profile'] !== undefined ? { readerProfile: values['reader-profile'] } : {}),
  };
  // Checked before anything starts: a wrong name is a usage error (exit 2), nothing left behind.
  resolveDemoKeySchemes(keySchemes);
  const stateDir = resolve(values.home ?? demoStateDir());
  const signals = watchSignals();
  let demo: Demo;
  try {
    demo = await startDemo({
      stateDir,
      ...(port !== undefined ? { port } : {}),
      ...(logLevel ? { logLevel } : {}),
      ...keySchemes,
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
    `${JSON.stringify({
      ready: true,
      ws: demo.port,
      http: demo.port,
      stateDir: demo.stateDir,
      terminal: demo.terminal,
      ...(demo.dialect ? { dialect: demo.dialect, readerProfile: demo.readerProfile } : {}),
    })}\n` +
      `posbridge demo running\n` +
      `  terminal   ${demo.terminalLine}\n` +
      `  WebSocket  ws://127.0.0.1:${demo.port}/ws\n` +
      `  CRM page   http://127.0.0.1:${demo.port}/\n` +
      `  health     http://127.0.0.1:${demo.port}/healthz\n` +
      (demo.hubUrl
        ? `  fleet hub  ${demo.hubUrl}/  (dashboard: admin / posbridge-demo; --no-hub leaves it out)\n`
        : '') +
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
