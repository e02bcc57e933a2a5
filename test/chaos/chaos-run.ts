/**
 * The chaos run (issue 7's acceptance test): host and reader simulators in their own processes (the
 * host ledger persisted), the engine runner as a child process that is SIGKILLed at random moments and
 * restarted on the same state directory, many payments under random faults. Afterwards every operation
 * must be final, the journal and the host ledger must agree, no key may have charged twice, and no PAN
 * may be found in the database, its WAL or any log.
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  type WriteStream,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpJson, sleep, startSim, type Proc } from '../../simulators/processes.js';
import { loadCards } from '../../simulators/shared/cards.js';
import { loadReaderProfile } from '../../src/terminal/profile.js';
import { int, pick, prng } from '../support/prng.js';

export interface ChaosOptions {
  payments: number;
  kills: number;
  seed: number;
  /**
   * The acquirer's dialect (protocols/iso8583), run by the host simulator and the engine runner: e.g.
   * `cup-pos-sm4` (SM4 working keys, PIN block and MAC), `cup-pos-dukpt` (a DUKPT reader's KSN in field
   * 53). Default `cup-pos`, or `cup-pos-dukpt` when the reader profile's PIN keys are DUKPT.
   */
  dialect?: string;
  /**
   * The reader's profile (protocols/terminal), run by the reader simulator and the engine runner; its
   * `pinKeyScheme` says how PINs are encrypted (`posbridge-dukpt-tdes`: a TDES DUKPT PIN pad). Default
   * `posbridge` (session PIN key from sign-on).
   */
  readerProfile?: string;
  /** Share of payments the operator cancels at a random moment (default 0.15). */
  cancelShare?: number;
  log?: (line: string) => void;
}
export interface ChaosReport {
  seed: number;
  payments: number;
  kills: number;
  /** Operator cancels made (accepted or answered already_completed). */
  cancels: number;
  states: Record<string, number>;
  hostApproved: number;
  /** The dialect and reader profile the lane ran. */
  dialect: string;
  readerProfile: string;
  /** DUKPT lanes: PIN blocks the host verified under a KSN, and the highest counter it saw. */
  dukpt?: { devices: number; used: number; macs: number; highestCounter: number; replays: number };
  problems: string[];
  dir: string;
}

/** The lane's dialect and reader profile (a DUKPT reader's default dialect carries its KSN). */
export function chaosSchemes(o: Pick<ChaosOptions, 'dialect' | 'readerProfile'>): {
  dialect: string;
  readerProfile: string;
  pinKeyScheme: string;
} {
  const readerProfile = o.readerProfile ?? 'posbridge';
  const pinKeyScheme = loadReaderProfile(readerProfile).pinKeyScheme;
  const dialect = o.dialect ?? (pinKeyScheme === 'session' ? 'cup-pos' : 'cup-pos-dukpt');
  return { dialect, readerProfile, pinKeyScheme };
}

const start = startSim;

/**
 * SIGKILLs the processes, waits until their output pipes have closed (at most 2 s each), then ends the
 * log files: output still buffered in a pipe when a log file ended was a write after end, an
 * unhandled error that failed the run after its assertions.
 */
export async function stopProcesses(
  procs: readonly (Proc | undefined)[],
  logs: readonly WriteStream[],
): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          const c = p?.child;
          if (!c || (c.stdout?.destroyed !== false && c.stderr?.destroyed !== false)) return resolve();
          const t = setTimeout(resolve, 2_000);
          c.once('close', () => {
            clearTimeout(t);
            resolve();
          });
          c.kill('SIGKILL');
        }),
    ),
  );
  for (const s of logs) s.end();
}
const http = httpJson;

interface OpView {
  id: string;
  kind: string;
  state: string;
  reason: string | null;
  amount: number;
  voided: boolean;
  host: { stan: string | null; batch: string | null };
}

interface HostTx {
  tid: string;
  stan: string;
  batch: string;
  mti: string;
  type: string;
  responseCode: string;
  status: string;
  panMasked: string;
}

export async function chaosRun(o: ChaosOptions): Promise<ChaosReport> {
  const rand = prng(o.seed);
  const log = o.log ?? (() => undefined);
  const schemes = chaosSchemes(o);
  const dir = mkdtempSync(join(tmpdir(), `pb-chaos-${schemes.dialect}-${schemes.readerProfile}-`));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const logs = {
    host: createWriteStream(join(dir, 'host.log')),
    reader: createWriteStream(join(dir, 'reader.log')),
    engine: createWriteStream(join(dir, 'engine.log')),
  };
  const schemeArgs = ['--dialect', schemes.dialect];
  // The two simulators start side by side (each is a node process: a second or so on a loaded machine).
  const started = await Promise.allSettled([
    start(
      ['host', '--port', '0', '--control-port', '0', '--ledger', join(dir, 'ledger.json'), ...schemeArgs],
      logs.host,
    ),
    start(['reader', '--tcp', '0', '--control-port', '0', '--profile', schemes.readerProfile], logs.reader),
  ]);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    const up = started.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    await stopProcesses(up, Object.values(logs));
    throw failed.reason;
  }
  const [host, reader] = started.map((r) => (r as PromiseFulfilledResult<Proc>).value) as [Proc, Proc];
  const hostCtl = Number(host.ready['control']);
  const readerCtl = Number(reader.ready['control']);
  const engineArgs = [
    'engine',
    '--dir',
    stateDir,
    '--host-port',
    String(host.ready['iso']),
    '--reader-port',
    String(reader.ready['tcp']),
    '--response-ms',
    '400',
    ...schemeArgs,
    '--reader-profile',
    schemes.readerProfile,
  ];
  let engine = await start(engineArgs, logs.engine);
  let port = Number(engine.ready['http']);
  const problems: string[] = [];
  const keys = new Map<string, string>(); // idempotency key → operation id
  let kills = 0;
  let cancels = 0;
  /** Operations whose cancel the runner accepted: none may end completed. */
  const cancelled = new Set<string>();
  const killEvery = Math.max(1, Math.floor(o.payments / Math.max(1, o.kills)));

  const restart = async (): Promise<void> => {
    engine.child.kill('SIGKILL');
    await new Promise((r) => engine.child.once('exit', r));
    kills++;
    engine = await start(engineArgs, logs.engine);
    port = Number(engine.ready['http']);
  };

  const hostFaults = [
    { action: 'drop_response' },
    { action: 'delay', delayMs: 600 },
    { action: 'close_before_response' },
    { action: 'close_after_response' },
    { action: 'corrupt_mac' },
    { action: 'reversal_96', times: 2 },
  ];
  const readerFaults = [
    { dropLinkAt: 'before_card_read' },
    { dropLinkAt: 'after_card_read' },
    { dropLinkAt: 'after_host_approval' },
    { chipDeclines: true },
    { cardRemovedBeforeCompletion: true },
  ];

  try {
    for (let i = 0; i < o.payments; i++) {
      const r = rand();
      if (r < 0.25) {
        const f = pick(rand, hostFaults);
        await http(hostCtl, 'POST', '/faults', {
          ...f,
          times: 'times' in f ? f.times : 1,
          match: f.action === 'reversal_96' ? {} : { mti: '0200' },
        });
      } else if (r < 0.4) {
        await http(readerCtl, 'POST', '/behaviour', { ...DEFAULT_READER, ...pick(rand, readerFaults) });
      } else {
        await http(readerCtl, 'POST', '/behaviour', DEFAULT_READER);
      }
      const key = `chaos-${o.seed}-${i}`;
      const amount = int(rand, 1, 9_000) * 100 + (rand() < 0.05 ? 51 : 0);
      const submit = async (): Promise<void> => {
        let res = await http(port, 'POST', '/control/operations', {
          kind: 'sale',
          idempotencyKey: key,
          amount,
          orderId: `ORDER-${i % 50}`,
        });
        // The previous payment may still hold the reader (asking the host after a lost answer takes a
        // while on a loaded machine): wait for it rather than skip this payment.
        for (
          let w = 0;
          w < 40 && (res.json as { error?: { code: string } }).error?.code === 'reader_busy';
          w++
        ) {
          await sleep(50);
          res = await http(port, 'POST', '/control/operations', {
            kind: 'sale',
            idempotencyKey: key,
            amount,
            orderId: `ORDER-${i % 50}`,
          });
        }
        const body = res.json as { id?: string; error?: { code: string } };
        if (body.id) {
          const before = keys.get(key);
          if (before && before !== body.id) problems.push(`key ${key} made two operations`);
          keys.set(key, body.id);
        } else if (body.error?.code !== 'reader_busy') {
          problems.push(`submit ${key}: ${JSON.stringify(body)}`);
        }
      };
      try {
        await submit();
      } catch {
        // the runner may be restarting
      }
      // The operator cancels some payments at a random moment (before, during or after the host).
      let cancelling: Promise<void> | undefined;
      if (rand() < (o.cancelShare ?? 0.15)) {
        const delay = int(rand, 0, 400);
        cancelling = (async () => {
          await sleep(delay);
          const id = keys.get(key);
          if (!id) return;
          const res = await http(port, 'POST', `/control/cancel/${id}`).catch(() => undefined);
          if (!res) return;
          const err = (res.json as { error?: { code: string } }).error;
          if (err && err.code !== 'already_completed') problems.push(`cancel ${key}: ${JSON.stringify(err)}`);
          if (!err) cancelled.add(id);
          cancels++;
        })();
      }
      const killNow = kills < o.kills && (i % killEvery === killEvery - 1 || rand() < 0.02);
      if (killNow) {
        await sleep(int(rand, 0, 250));
        await restart();
        // The same key again after the restart: never a second charge.
        try {
          await submit();
        } catch {
          // ignore
        }
      } else {
        // Let the payment run; a few are left in flight on purpose.
        for (let w = 0; w < 60; w++) {
          const id = keys.get(key);
          if (!id) break;
          const v = (await http(port, 'GET', `/control/operations/${id}`)).json as OpView;
          if (!['awaiting_card', 'authorizing', 'created', 'approved', 'completing'].includes(v.state)) break;
          await sleep(25);
        }
      }
      await cancelling;
      if (i % 50 === 0) log(`chaos: ${i}/${o.payments} payments, ${kills} kills`);
    }
    // Calm: no faults; one more restart so recovery runs; wait for everything to settle.
    await http(hostCtl, 'DELETE', '/faults');
    await http(readerCtl, 'POST', '/behaviour', DEFAULT_READER);
    await restart();
    let view: { operations: OpView[]; saf: { lane: string; count: number }[]; open: number } = {
      operations: [],
      saf: [],
      open: 1,
    };
    for (let w = 0; w < 600; w++) {
      view = (await http(port, 'GET', '/control/operations')).json as typeof view;
      if (view.open === 0 && !view.saf.some((s) => s.lane === 'reversal' && s.count > 0)) break;
      await sleep(100);
    }
    const states: Record<string, number> = {};
    for (const op of view.operations) states[op.state] = (states[op.state] ?? 0) + 1;
    for (const op of view.operations) {
      if (!['completed', 'declined', 'reversed', 'cancelled', 'failed', 'needs_attention'].includes(op.state))
        problems.push(`operation ${op.id} still ${op.state}`);
      if (op.state === 'needs_attention' && !op.reason)
        problems.push(`operation ${op.id} needs attention without a reason`);
    }
    if (view.operations.length !== keys.size)
      problems.push(`journal has ${view.operations.length} operations for ${keys.size} keys`);

    // The journal and the host agree: completed here ⇔ approved, not reversed and not voided there.
    const txs = (await http(hostCtl, 'GET', '/transactions?tid=CHAOS001')).json as HostTx[];
    const sales = txs.filter((t) => t.mti === '0200' && t.type === 'sale');
    const held = new Map(
      sales
        .filter((t) => ['approved', 'partially_approved'].includes(t.status))
        .map((t) => [`${t.batch}:${t.stan}`, t]),
    );
    for (const op of view.operations) {
      const k = `${op.host.batch}:${op.host.stan}`;
      const atHost = held.get(k);
      if (op.state === 'completed' && !atHost)
        problems.push(`completed ${op.id} (stan ${op.host.stan}) is not held by the host`);
      if (op.state !== 'completed' && atHost)
        problems.push(`host holds stan ${op.host.stan} but the journal says ${op.state} (${op.reason})`);
      held.delete(k);
    }
    for (const [k] of held) problems.push(`host-only charge ${k}: lost transaction`);
    for (const op of view.operations)
      if (cancelled.has(op.id) && op.state === 'completed')
        problems.push(`operation ${op.id} was cancelled (accepted) but ended completed`);

    // The host ran the lane's dialect; a DUKPT lane's PINs went under KSNs the host had not seen before
    // (the engine never sends a PIN block twice: a replay would be declined 63 and counted here).
    const health = (await http(hostCtl, 'GET', '/health')).json as { dialect?: string };
    if (health.dialect !== schemes.dialect)
      problems.push(`the host ran dialect ${health.dialect}, not ${schemes.dialect}`);
    let dukpt: ChaosReport['dukpt'];
    if (schemes.pinKeyScheme !== 'session') {
      const { devices } = (await http(hostCtl, 'GET', '/dukpt')).json as {
        devices: { scheme: string; counter: number; used: number; macs: number; replays: number }[];
      };
      dukpt = {
        devices: devices.length,
        used: devices.reduce((a, d) => a + d.used, 0),
        macs: devices.reduce((a, d) => a + d.macs, 0),
        highestCounter: Math.max(0, ...devices.map((d) => d.counter)),
        replays: devices.reduce((a, d) => a + d.replays, 0),
      };
      if (devices.some((d) => d.scheme !== schemes.pinKeyScheme))
        problems.push(
          `the host saw KSNs of ${devices.map((d) => d.scheme).join(', ')}, not ${schemes.pinKeyScheme}`,
        );
      if (dukpt.replays > 0) problems.push(`the host declined ${dukpt.replays} replayed KSN(s)`);
      if ((view.operations.some((op) => op.state === 'completed') || sales.length > 0) && dukpt.used === 0)
        problems.push('a DUKPT lane whose host verified no PIN block under a KSN');
      if (dukpt.used > 0 && dukpt.macs < dukpt.used)
        problems.push(`${dukpt.used} PIN block(s) under a KSN but only ${dukpt.macs} DUKPT-MACed request(s)`);
    }
    const declined63 = sales.filter((t) => t.responseCode === '63').length;
    if (declined63) problems.push(`${declined63} sale(s) declined 63 (security violation) by the host`);

    // No PAN anywhere at rest or in any log.
    const pans = ['6212345678000000010', '6225880000000019', '4111112222333347'];
    const files = [
      ...readdirSync(stateDir)
        .filter((f) => f.startsWith('journal.db'))
        .map((f) => join(stateDir, f)),
      join(dir, 'engine.log'),
      join(dir, 'host.log'),
      join(dir, 'reader.log'),
    ];
    for (const f of files) {
      if (!existsSync(f)) continue;
      const bytes = readFileSync(f);
      for (const pan of pans) {
        const forms = [
          Buffer.from(pan),
          Buffer.from(pan.length % 2 ? `${pan}0` : pan, 'hex'),
          Buffer.from(pan.length % 2 ? `${pan}F` : pan, 'hex'),
          Buffer.from(Buffer.from(pan).toString('hex')),
        ];
        if (forms.some((form) => bytes.includes(form))) problems.push(`${f} holds a PAN`);
      }
    }
    return {
      seed: o.seed,
      payments: o.payments,
      kills,
      cancels,
      states,
      hostApproved: sales.filter((t) => t.status === 'approved').length,
      dialect: schemes.dialect,
      readerProfile: schemes.readerProfile,
      ...(dukpt ? { dukpt } : {}),
      problems,
      dir,
    };
  } finally {
    await stopProcesses([engine, host, reader], Object.values(logs));
  }
}

const DEFAULT_READER = {
  card: 'cup-debit-chip',
  presentation: 'auto',
  customerCancels: false,
  wrongPin: false,
  cardRemovedBeforeCompletion: false,
  noCard: false,
  dropLinkAt: null,
  chipDeclines: false,
  cardDelayMs: 0,
  pinDigitDelayMs: 0,
  processingDelayMs: 0,
};

// ---------------------------------------------------------------------------------------------- ZVT lane

/**
 * The ZVT lane of the chaos run: the ZVT terminal simulator in its own process (its ledger survives the
 * daemon's kills), the engine runner composed with it (`--zvt-port`: no acquirer link, no reader) as a
 * child SIGKILLed at random moments and restarted on the same state directory, random terminal faults
 * (the simulator's behaviour keys, and link drops through its control API) and operator cancels at
 * random moments. Afterwards: every operation final (an `unknown` one is a problem: at the end the
 * terminal can be asked, and it names why it could not), the journal and the terminal's ledger agree
 * (completed ⇔ booked and not voided at the terminal, matched by the trace the journal keeps), no
 * idempotency key made two operations or two charges, nothing booked at the terminal that the journal
 * does not hold as completed (lost), nothing claimed twice (doubled), no clear PAN in the journal or logs.
 */
export interface ZvtChaosOptions {
  payments: number;
  kills: number;
  seed: number;
  /** Share of payments the operator cancels at a random moment (default 0.15). */
  cancelShare?: number;
  /** Share of payments with a terminal fault (default 0.35). */
  faultShare?: number;
  /**
   * After a restart, wait until start-up recovery has asked the terminal before new payments (default
   * false: payments arrive while recovery runs, as a CRM's would).
   */
  waitForRecovery?: boolean;
  log?: (line: string) => void;
}

export interface ZvtChaosReport {
  seed: number;
  payments: number;
  kills: number;
  cancels: number;
  drops: number;
  /** How many payments ran with each fault. */
  faults: Record<string, number>;
  states: Record<string, number>;
  /** Final state and reason → count, e.g. `failed terminal_has_no_record`. */
  reasons: Record<string, number>;
  /** Sales the terminal booked and still holds (approved, not voided). */
  terminalApproved: number;
  problems: string[];
  dir: string;
}

export interface ZvtOpView extends OpView {
  cancelRequested: boolean;
  result: { terminal?: { receiptNo?: string; trace?: string } } | null;
}

export interface ZvtLedgerTxn {
  receiptNo: string | null;
  trace: string;
  type: string;
  status: string;
  amount: number;
  reversal?: string;
  originalReceiptNo?: string;
}

/** The terminal behaviour between faults: defaults, short random card and host delays. */
const ZVT_CALM = {
  card: 'visa-chip',
  approveThenDropCompletion: false,
  disconnectMidTransaction: false,
  nonZvtBanner: null,
  disabledCommands: [],
  abortAfterApproval: false,
  signatureRequired: false,
  busy: false,
  longPinEntryMs: 0,
  statusEveryMs: 1000,
  declineAmountSuffix: true,
  customerCancels: false,
  cardDelayMs: 10,
  processingMs: 20,
};

/** Terminal faults (behaviour keys of simulators/zvt/behaviour.ts) and `drop` (POST /drop mid-payment). */
const ZVT_FAULTS: { name: string; behaviour?: Record<string, unknown> }[] = [
  { name: 'approveThenDropCompletion', behaviour: { approveThenDropCompletion: true } },
  { name: 'disconnectMidTransaction', behaviour: { disconnectMidTransaction: true } },
  { name: 'abortAfterApproval', behaviour: { abortAfterApproval: true, processingMs: 150 } },
  { name: 'customerCancels', behaviour: { customerCancels: true } },
  { name: 'busy', behaviour: { busy: true } },
  { name: 'longPinEntryMs', behaviour: { longPinEntryMs: 400, statusEveryMs: 50 } },
  { name: 'cardDelayMs', behaviour: { cardDelayMs: 300 } },
  { name: 'processingMs', behaviour: { processingMs: 300 } },
  { name: 'signatureRequired', behaviour: { signatureRequired: true } },
  { name: 'nonZvtBanner', behaviour: { nonZvtBanner: 'PT READY\r\n' } },
  { name: 'disabledCommands', behaviour: { disabledCommands: ['06 01'] } },
  { name: 'drop' },
];

const IN_FLIGHT = [
  'created',
  'awaiting_card',
  'authorizing',
  'approved',
  'completing',
  'unknown',
  'reversing',
];
const FINAL_STATES = ['completed', 'declined', 'reversed', 'cancelled', 'failed', 'needs_attention'];

/**
 * Where the journal and the ZVT terminal's ledger disagree about sales: every operation that names a
 * terminal trace (the journal keeps it from the terminal's answer) is matched with the ledger's sale of
 * that trace. Completed here ⇔ booked and not voided there; a trace claimed twice is a doubled
 * payment; a booked sale no completed operation holds is a lost one (or a second charge of a key
 * that completed for the same amount).
 */
export function zvtLedgerProblems(
  operations: readonly Pick<ZvtOpView, 'id' | 'state' | 'reason' | 'amount' | 'result'>[],
  ledger: readonly ZvtLedgerTxn[],
  keyOf: ReadonlyMap<string, string> = new Map(),
): string[] {
  const problems: string[] = [];
  const sales = ledger.filter((t) => t.type === 'sale');
  const byTrace = new Map(sales.map((t) => [t.trace, t]));
  const claimed = new Map<string, string>(); // trace → operation id
  for (const op of operations) {
    const trace = op.result?.terminal?.trace;
    if (!trace) {
      if (op.state === 'completed') problems.push(`completed ${op.id} has no terminal trace`);
      continue;
    }
    const tx = byTrace.get(trace);
    const other = claimed.get(trace);
    if (other) problems.push(`terminal trace ${trace} is claimed by ${other} and ${op.id}: doubled`);
    claimed.set(trace, op.id);
    if (!tx) {
      problems.push(`${op.state} ${op.id} names trace ${trace}, which the terminal does not have`);
      continue;
    }
    if (tx.amount !== op.amount)
      problems.push(`${op.id} for ${op.amount} names trace ${trace} of ${tx.amount} at the terminal`);
    const held = tx.status === 'approved';
    if (op.state === 'completed' && !held)
      problems.push(`completed ${op.id} (trace ${trace}) is ${tx.status} at the terminal`);
    if (op.state !== 'completed' && held)
      problems.push(`the terminal holds trace ${trace} but the journal says ${op.state} (${op.reason})`);
  }
  const completedAmounts = new Map<number, string[]>();
  for (const op of operations)
    if (op.state === 'completed')
      completedAmounts.set(op.amount, [
        ...(completedAmounts.get(op.amount) ?? []),
        keyOf.get(op.id) ?? op.id,
      ]);
  for (const t of sales) {
    if (t.status !== 'approved' || claimed.has(t.trace)) continue;
    const same = completedAmounts.get(t.amount);
    problems.push(
      `terminal-only charge: trace ${t.trace} receipt ${t.receiptNo} for ${t.amount}, no completed operation holds it: lost` +
        (same ? ` (or a second charge of ${same.join(', ')})` : ''),
    );
  }
  return problems;
}

export async function zvtChaosRun(o: ZvtChaosOptions): Promise<ZvtChaosReport> {
  const rand = prng(o.seed);
  const log = o.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'pb-chaos-zvt-'));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const logs = {
    zvt: createWriteStream(join(dir, 'zvt.log')),
    engine: createWriteStream(join(dir, 'engine.log')),
  };
  const zvt = await start(['zvt', '--tcp', '0', '--control-port', '0'], logs.zvt);
  const zvtCtl = Number(zvt.ready['control']);
  const engineArgs = ['engine', '--dir', stateDir, '--zvt-port', String(zvt.ready['zvt'])];
  let engine = await start(engineArgs, logs.engine);
  let port = Number(engine.ready['http']);
  const problems: string[] = [];
  const keys = new Map<string, string>(); // idempotency key → operation id
  const faults: Record<string, number> = {};
  let kills = 0;
  let cancels = 0;
  let drops = 0;
  /** Operations whose cancel the runner accepted: none may end completed. */
  const cancelled = new Set<string>();
  const killEvery = Math.max(1, Math.floor(o.payments / Math.max(1, o.kills)));
  const behave = async (b: Record<string, unknown>): Promise<void> => {
    const res = await http(zvtCtl, 'POST', '/behaviour', b);
    if (res.status !== 200)
      problems.push(`ZVT simulator refused ${JSON.stringify(b)}: ${JSON.stringify(res.json)}`);
  };

  /** Until start-up recovery has run (the runner's /healthz says ready: recovered, terminal up). */
  const recovered = async (): Promise<void> => {
    for (let w = 0; w < 200; w++) {
      const h = await http(port, 'GET', '/healthz').catch(() => undefined);
      if (h?.status === 200) return;
      await sleep(25);
    }
  };
  const restart = async (): Promise<void> => {
    engine.child.kill('SIGKILL');
    await new Promise((r) => engine.child.once('exit', r));
    kills++;
    engine = await start(engineArgs, logs.engine);
    port = Number(engine.ready['http']);
    if (o.waitForRecovery) await recovered();
  };

  try {
    for (let i = 0; i < o.payments; i++) {
      // A random terminal fault for this payment, on top of calm behaviour with random short delays.
      const fault = rand() < (o.faultShare ?? 0.35) ? pick(rand, ZVT_FAULTS) : undefined;
      if (fault) faults[fault.name] = (faults[fault.name] ?? 0) + 1;
      await behave({
        ...ZVT_CALM,
        cardDelayMs: int(rand, 0, 80),
        processingMs: int(rand, 0, 80),
        ...fault?.behaviour,
      });
      const key = `zvt-chaos-${o.seed}-${i}`;
      const amount = int(rand, 1, 9_000) * 100 + (rand() < 0.05 ? 51 : 0);
      const submit = async (): Promise<void> => {
        const res = await http(port, 'POST', '/control/operations', {
          kind: 'sale',
          idempotencyKey: key,
          amount,
          orderId: `ORDER-${i % 50}`,
        });
        const body = res.json as { id?: string; error?: { code: string } };
        if (body.id) {
          const before = keys.get(key);
          if (before && before !== body.id) problems.push(`key ${key} made two operations`);
          keys.set(key, body.id);
        } else if (body.error?.code !== 'reader_busy') {
          problems.push(`submit ${key}: ${JSON.stringify(body)}`);
        }
      };
      try {
        await submit();
      } catch {
        // the runner may be restarting
      }
      // The terminal drops the link at a random moment of the payment.
      const dropping =
        fault?.name === 'drop'
          ? (async () => {
              await sleep(int(rand, 0, 150));
              const res = await http(zvtCtl, 'POST', '/drop').catch(() => undefined);
              if (res?.status === 204) drops++;
            })()
          : undefined;
      // The operator cancels some payments at a random moment (waiting for the card, at the terminal, after).
      let cancelling: Promise<void> | undefined;
      if (rand() < (o.cancelShare ?? 0.15)) {
        const delay = int(rand, 0, 400);
        cancelling = (async () => {
          await sleep(delay);
          const id = keys.get(key);
          if (!id) return;
          const res = await http(port, 'POST', `/control/cancel/${id}`).catch(() => undefined);
          if (!res) return;
          const err = (res.json as { error?: { code: string } }).error;
          if (err && err.code !== 'already_completed') problems.push(`cancel ${key}: ${JSON.stringify(err)}`);
          if (!err) cancelled.add(id);
          cancels++;
        })();
      }
      const killNow = kills < o.kills && (i % killEvery === killEvery - 1 || rand() < 0.02);
      if (killNow) {
        await sleep(int(rand, 0, 300));
        await restart();
        // The same key again after the restart: never a second charge.
        try {
          await submit();
        } catch {
          // ignore
        }
      } else {
        // Let the payment run; a few are left in flight on purpose.
        for (let w = 0; w < 80; w++) {
          const id = keys.get(key);
          if (!id) break;
          const v = (await http(port, 'GET', `/control/operations/${id}`)).json as OpView;
          if (!IN_FLIGHT.includes(v.state)) break;
          await sleep(25);
        }
      }
      await cancelling;
      await dropping;
      if (i % 50 === 0) log(`chaos zvt: ${i}/${o.payments} payments, ${kills} kills`);
    }
    // Calm: no faults; one more restart so recovery runs; wait for everything to settle.
    await behave(ZVT_CALM);
    await restart();
    let view: { operations: ZvtOpView[]; open: number } = { operations: [], open: 1 };
    for (let w = 0; w < 600; w++) {
      view = (await http(port, 'GET', '/control/operations')).json as typeof view;
      if (view.open === 0) break;
      await sleep(100);
    }
    const states: Record<string, number> = {};
    const reasons: Record<string, number> = {};
    for (const op of view.operations) {
      states[op.state] = (states[op.state] ?? 0) + 1;
      const r = `${op.state} ${op.reason ?? '-'}`;
      reasons[r] = (reasons[r] ?? 0) + 1;
    }
    for (const op of view.operations) {
      if (op.state === 'unknown')
        problems.push(`operation ${op.id} still unknown (${op.reason ?? 'no reason'}) with the terminal up`);
      else if (!FINAL_STATES.includes(op.state)) problems.push(`operation ${op.id} still ${op.state}`);
      if (op.state === 'needs_attention' && !op.reason)
        problems.push(`operation ${op.id} needs attention without a reason`);
    }
    if (view.operations.length !== keys.size)
      problems.push(`journal has ${view.operations.length} operations for ${keys.size} keys`);
    const keyOf = new Map([...keys].map(([k, id]) => [id, k]));

    // The journal and the terminal agree, matched by the trace number the journal keeps of each answer.
    const ledger = (await http(zvtCtl, 'GET', '/transactions')).json as ZvtLedgerTxn[];
    const sales = ledger.filter((t) => t.type === 'sale');
    problems.push(...zvtLedgerProblems(view.operations, ledger, keyOf));
    for (const op of view.operations)
      if (cancelled.has(op.id) && op.state === 'completed')
        problems.push(`operation ${op.id} was cancelled (accepted) but ended completed`);

    // No clear PAN anywhere at rest or in any log (the terminal hands out masked PANs only).
    const pans = loadCards().cards.map((c) => c.pan.reveal());
    const files = [
      ...readdirSync(stateDir)
        .filter((f) => f.startsWith('journal.db'))
        .map((f) => join(stateDir, f)),
      join(dir, 'engine.log'),
      join(dir, 'zvt.log'),
    ];
    for (const f of files) {
      if (!existsSync(f)) continue;
      const bytes = readFileSync(f);
      for (const pan of pans) if (bytes.includes(Buffer.from(pan))) problems.push(`${f} holds a PAN`);
    }
    return {
      seed: o.seed,
      payments: o.payments,
      kills,
      cancels,
      drops,
      faults,
      states,
      reasons,
      terminalApproved: sales.filter((t) => t.status === 'approved').length,
      problems,
      dir,
    };
  } finally {
    await stopProcesses([engine, zvt], Object.values(logs));
  }
}
