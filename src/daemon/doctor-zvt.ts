/**
 * `posbridge doctor` for an integrated ZVT terminal (docs/zvt.md): connection, registration (06 00,
 * which the client sends on every connect), Status-Enquiry (05 01) and Diagnosis (06 70, the terminal
 * contacts its host). Each check passes, warns or fails with the fix.
 *
 * A terminal serves one ECR at a time, so doctor never opens a second connection to a terminal a running
 * daemon holds: with a daemon, the checks run over the daemon's own connection (`POST
 * /admin/terminal/check`, `runZvtChecks`); without one, doctor connects itself (`checkZvtEntry`).
 */
import { pino } from 'pino';
import type { IntegratedStateEvent } from '../terminal/integrated.js';
import { ZVT_TCP_PORT, ZvtError, ZvtTerminal, type ZvtTimers } from '../terminal/zvt/index.js';
import type { ZvtEntry } from './config.js';

export interface ZvtCheck {
  name: string;
  status: 'pass' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/** The checks' names, in the order they run. */
export const ZVT_CHECK_NAMES = {
  connection: 'ZVT connection',
  registration: 'ZVT registration',
  status: 'ZVT status enquiry',
  diagnosis: 'ZVT diagnosis',
} as const;

const quiet = pino({ level: 'silent' });

const FIX = {
  tcp: 'check that the terminal is on and on the network, its IP address and ZVT port (default 20007) in zvt.tcp, and that its ECR interface (Kassenschnittstelle) over LAN is enabled',
  serial:
    'check the cable (null-modem or the vendor cable), zvt.serial.path and baudRate (posbridge readers ports lists the serial ports); on Linux the user needs the dialout group',
  password:
    "check zvt.password (the terminal's 6-digit password for the cash register) and zvt.currency (the terminal's currency); on some terminals the ECR interface must first be enabled in the terminal's menu",
  noAnswer:
    "check that this address is the terminal's ZVT interface (not its web or TMS port) and that no other cash register holds it; on a serial line check the baud rate and the cable",
  status:
    'restart the terminal; if it persists, ask the vendor or network operator whether Status-Enquiry (05 01) is enabled for the cash register',
  busy: 'finish or cancel what runs on the terminal (a local operation, an end of day), then run doctor again',
  diagnosis:
    "the terminal cannot reach its acquirer: check the terminal's own network (or SIM) connection and ask the network operator to check its configuration; card payments fail until this passes",
} as const;

export interface ZvtCheckOptions {
  /** How long to wait for the connection and registration (default 5 s). */
  connectMs?: number;
  /** Timers of doctor's own connection (tests run them short). */
  timers?: Partial<ZvtTimers>;
  /** Skip Diagnosis 06 70 (it makes the terminal call its host). */
  skipDiagnosis?: boolean;
}

/** Where the entry points: `tcp://host:port` or the serial path. */
export function zvtAddress(z: ZvtEntry): string {
  return z.tcp ? `tcp://${z.tcp.host}:${z.tcp.port ?? ZVT_TCP_PORT}` : (z.serial?.path ?? '?');
}

/** Doctor without a running daemon: connects to the terminal itself, checks, logs off and closes. */
export async function checkZvtEntry(
  z: ZvtEntry,
  currency: string,
  options: ZvtCheckOptions = {},
): Promise<ZvtCheck[]> {
  const connectMs = options.connectMs ?? 5000;
  let t: ZvtTerminal;
  try {
    t = new ZvtTerminal({
      ...(z.tcp ? { tcp: { host: z.tcp.host, ...(z.tcp.port ? { port: z.tcp.port } : {}) } } : {}),
      ...(z.serial
        ? { serial: { path: z.serial.path, ...(z.serial.baudRate ? { baudRate: z.serial.baudRate } : {}) } }
        : {}),
      password: z.password,
      currency: z.currency ?? currency,
      ...(z.textBlocks !== undefined ? { textBlocks: z.textBlocks } : {}),
      ...(z.charset ? { charset: z.charset } : {}),
      // Diagnosis makes the terminal call its host: give it time, but not the payment T4 of 3 minutes.
      timers: { connectMs, t4Ms: 90_000, ...options.timers },
      logger: quiet,
    });
  } catch (e) {
    return [
      {
        name: ZVT_CHECK_NAMES.connection,
        status: 'fail',
        detail: `${zvtAddress(z)}: ${(e as Error).message}`,
        fix: z.serial ? FIX.serial : FIX.tcp,
      },
    ];
  }
  try {
    t.start();
    return await runZvtChecks(t, { ...options, waitMs: connectMs, serial: z.serial !== undefined });
  } finally {
    await t.close().catch(() => undefined);
  }
}

/**
 * The checks over a started `ZvtTerminal` (doctor's own, or the running daemon's). `waitMs`: how long to
 * wait for it to be connected and registered. `inFlight`: payments the daemon is running (then the
 * enquiry and the diagnosis wait for another run: a terminal takes one command at a time).
 */
export async function runZvtChecks(
  t: ZvtTerminal,
  options: ZvtCheckOptions & { waitMs?: number; serial?: boolean; inFlight?: number } = {},
): Promise<ZvtCheck[]> {
  const address = t.info().address;
  const serial = options.serial ?? !address.startsWith('tcp://');
  const checks: ZvtCheck[] = [];
  const up = await whenUp(t, options.waitMs ?? 5000);
  if (up !== 'ready') {
    const err = up;
    const registering = err.code === 'registration_refused' || err.command === '06 00';
    if (!registering) {
      checks.push({
        name: ZVT_CHECK_NAMES.connection,
        status: 'fail',
        detail: `${address}: ${err.message}`,
        fix: serial ? FIX.serial : FIX.tcp,
      });
      return checks;
    }
    checks.push({ name: ZVT_CHECK_NAMES.connection, status: 'pass', detail: `${address} is open` });
    checks.push({
      name: ZVT_CHECK_NAMES.registration,
      status: 'fail',
      detail:
        err.code === 'registration_refused'
          ? `the terminal refused the registration (06 00): ${err.message}`
          : `the terminal did not answer the registration (06 00): ${err.message}`,
      fix: err.code === 'registration_refused' ? FIX.password : FIX.noAnswer,
    });
    return checks;
  }
  const info = t.info();
  checks.push({ name: ZVT_CHECK_NAMES.connection, status: 'pass', detail: `${address} is open` });
  checks.push({
    name: ZVT_CHECK_NAMES.registration,
    status: 'pass',
    detail: `registered as the cash register${info.terminalId ? ` of terminal ${info.terminalId}` : ''} (password and currency accepted)`,
  });
  if (t.state === 'busy' || (options.inFlight ?? 0) > 0) {
    for (const name of [ZVT_CHECK_NAMES.status, ZVT_CHECK_NAMES.diagnosis])
      checks.push({
        name,
        status: 'warn',
        detail: 'not run: the terminal is taking a payment (one command at a time)',
        fix: 'run doctor again when the payment has ended',
      });
    return checks;
  }
  const s = await t
    .statusEnquiry()
    .catch((e: unknown) => ({ status: 'unavailable', message: (e as Error).message }) as const);
  if (s.status === 'unavailable')
    checks.push({
      name: ZVT_CHECK_NAMES.status,
      status: 'fail',
      detail: `no status from the terminal (05 01): ${s.message}`,
      fix: FIX.status,
    });
  else {
    const facts = [
      s.swVersion ? `software ${s.swVersion}` : undefined,
      s.model ? `model ${s.model}` : undefined,
      s.terminalId ? `terminal id ${s.terminalId}` : undefined,
    ].filter(Boolean);
    const what = `status ${s.terminalStatus}${s.meaning ? ` (${s.meaning})` : ''}${facts.length ? `; ${facts.join(', ')}` : ''}`;
    checks.push(
      s.terminalStatus === '00'
        ? { name: ZVT_CHECK_NAMES.status, status: 'pass', detail: what }
        : { name: ZVT_CHECK_NAMES.status, status: 'warn', detail: what, fix: FIX.busy },
    );
  }
  if (options.skipDiagnosis) return checks;
  const d = await t
    .diagnosis()
    .catch(
      (e: unknown) =>
        ({ status: 'unknown', reason: 'protocol_error', message: (e as Error).message }) as const,
    );
  switch (d.status) {
    case 'approved':
      checks.push({
        name: ZVT_CHECK_NAMES.diagnosis,
        status: 'pass',
        detail: 'the terminal reached its host (Diagnosis 06 70)',
      });
      break;
    case 'declined':
      checks.push({
        name: ZVT_CHECK_NAMES.diagnosis,
        status: 'fail',
        detail: `the terminal's host check failed: ${d.message}`,
        fix: FIX.diagnosis,
      });
      break;
    case 'not_supported':
      checks.push({
        name: ZVT_CHECK_NAMES.diagnosis,
        status: 'warn',
        detail: `the terminal does not offer Diagnosis 06 70 to the cash register: ${d.message}`,
        fix: "check the terminal's host connection from its own menu",
      });
      break;
    case 'busy':
      checks.push({ name: ZVT_CHECK_NAMES.diagnosis, status: 'warn', detail: d.message, fix: FIX.busy });
      break;
    default:
      checks.push({
        name: ZVT_CHECK_NAMES.diagnosis,
        status: 'fail',
        detail: `no answer to Diagnosis 06 70: ${d.message}`,
        fix: `${FIX.diagnosis}; if the terminal itself stopped answering, restart it`,
      });
  }
  return checks;
}

/** Resolves 'ready' once registered, or with the error that stopped the first attempt (or the wait). */
function whenUp(t: ZvtTerminal, ms: number): Promise<'ready' | ZvtError> {
  if (t.state === 'idle' || t.state === 'busy') return Promise.resolve('ready');
  return new Promise((resolve) => {
    const done = (v: 'ready' | ZvtError): void => {
      clearTimeout(timer);
      t.off('state', onState);
      t.off('refused', onRefused);
      resolve(v);
    };
    const timer = setTimeout(
      () => done(t.error ?? new ZvtError('timeout', `not connected and registered within ${ms} ms`)),
      ms,
    );
    const onState = (e: IntegratedStateEvent): void => {
      if (e.state === 'idle' || e.state === 'busy') done('ready');
      // A failed attempt records its error before it reports the link disconnected.
      else if (e.state === 'disconnected' && t.error) done(t.error);
    };
    const onRefused = (err: ZvtError): void => done(err);
    t.on('state', onState);
    t.on('refused', onRefused);
  });
}
