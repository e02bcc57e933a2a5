/**
 * QA scenarios: `posbridge-sim run <scenario.json ...>`. A scenario names the card, the payments, the
 * reader and host faults, daemon kills, and the expected final states and host ledger; the runner starts
 * the host and reader simulators and the engine runner as processes, plays the steps, and prints
 * pass/fail per expectation. The format and its rules are in docs/qa-scenarios.md; the JSON Schema is
 * built in `./scenario-schema.ts` (`posbridge-sim run --schema` prints it). Example:
 *
 * {
 *   "name": "lost answer: the host committed, the answer was dropped",
 *   "card": "cup-debit-chip",
 *   "steps": [                                  // one action per step, played in order
 *     { "hostFault": { "action": "drop_response", "match": { "mti": "0200" }, "times": 1 } },
 *     { "reader": { "dropLinkAt": "after_host_approval" } },
 *     { "pay": { "key": "s1", "amount": 10000, "kind": "sale" } },
 *     { "kill": { "afterMs": 150 } },           // SIGKILL the engine, restart it on the same state
 *     { "partial": { "key": "s1", "accept": false } },
 *     { "settle": { "key": "s1" } }             // wait until s1 is final and the reversal lane is empty
 *   ],
 *   "expect": [                                 // one check per expectation
 *     { "key": "s1", "state": "reversed" },     // or a list of acceptable states
 *     { "key": "s1", "host": "reversed" },      // host ledger status of its request, or "absent"
 *     { "key": "s1", "reason": "approved_at_host_after_timeout" },
 *     { "key": "s1", "consistent": true }       // completed here ⇔ held (approved, not reversed) there
 *   ]
 * }
 *
 * A scenario with `"terminal": "zvt"` pays through a ZVT terminal instead: the runner starts the ZVT
 * terminal simulator and an engine runner composed with it (`--zvt-port`, no acquirer link or reader, its
 * own state directory) the first time such a scenario runs. Its steps set terminal behaviours
 * (`{ "zvt": { "approveThenDropCompletion": true } }`), and `{ "key": "s", "zvt": "approved" }` checks the
 * terminal's own ledger (`GET /transactions`): the payment's transaction, by receipt number, else by type
 * and amount among the transactions of this scenario, or `none`.
 *
 * Files are validated (strict schema, then cross references) before anything starts: `run` exits 2
 * listing every problem as `<file>: <JSON path>: <what was expected>`. During a run, any control-API
 * answer outside 2xx (host, reader or ZVT simulator, engine runner) fails the scenario with the step, the
 * request, the status and the body.
 */
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { killAndWait, sleep, startSim, type Proc } from './processes.js';
import { DEFAULT_BEHAVIOUR, type Behaviour } from './reader/behaviour.js';
import {
  ScenarioValidationError,
  scenarioSchema,
  validateScenario,
  type ScenarioTerminal,
} from './scenario-schema.js';
import { DEFAULT_ZVT_BEHAVIOUR, type ZvtBehaviour } from './zvt/behaviour.js';
import type { ZvtTxn, ZvtTxnType } from './zvt/ledger.js';

export { ScenarioValidationError } from './scenario-schema.js';

/** One action per step (the schema enforces it). */
export interface ScenarioStep {
  hostFault?: Record<string, unknown>;
  reader?: Record<string, unknown>;
  /** A partial ZVT terminal behaviour (`terminal: "zvt"` scenarios). */
  zvt?: Record<string, unknown>;
  pay?: { key: string; amount?: number; kind?: string; originalKey?: string; cardPresent?: boolean };
  /** The operator cancels payment `key` after `afterMs` (default 0); a refusal (409) fails the scenario. */
  cancel?: { key: string; afterMs?: number };
  kill?: { afterMs?: number };
  partial?: { key: string; accept: boolean };
  settle?: { key: string; timeoutMs?: number };
  sleep?: number;
}

/** One check per expectation (the schema enforces it). */
export interface ScenarioExpectation {
  key: string;
  state?: string | string[];
  reason?: string;
  host?: string | string[];
  /** The ZVT ledger status of the payment's transaction, or `none` (`terminal: "zvt"` scenarios). */
  zvt?: string | string[];
  consistent?: boolean;
}

export interface Scenario {
  name: string;
  card?: string;
  /** What takes the payments: `reader` (default; reader and host simulators) or `zvt`. */
  terminal?: ScenarioTerminal;
  steps: ScenarioStep[];
  expect: ScenarioExpectation[];
}

export interface ExpectationResult {
  expectation: ScenarioExpectation;
  pass: boolean;
  actual: string;
}

export interface ScenarioResult {
  name: string;
  pass: boolean;
  results: ExpectationResult[];
  error?: string;
}

interface OpView {
  id: string;
  kind: string;
  amount: number;
  state: string;
  reason: string | null;
  host: { stan: string | null; batch: string | null };
  result: { terminal?: { receiptNo?: string } } | null;
}

/** A control-API answer outside 2xx, or no answer: fails the scenario. */
export class ControlApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: string,
  ) {
    super(message);
    this.name = 'ControlApiError';
  }
}

const API_NAMES = {
  host: 'host simulator',
  reader: 'reader simulator',
  zvt: 'ZVT simulator',
  engine: 'engine runner',
} as const;

/**
 * One control-API request; any status outside 2xx throws `ControlApiError` with the status and body.
 * Network errors (an engine that is restarting) are thrown as they are.
 */
async function control(
  api: keyof typeof API_NAMES,
  port: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const text = await res.text();
  if (res.status < 200 || res.status > 299) {
    const shown = text.replace(/\s+/g, ' ').trim().slice(0, 500);
    throw new ControlApiError(
      `${API_NAMES[api]} ${method} ${path} answered ${res.status}: ${shown || '(empty body)'}`,
      res.status,
      text,
    );
  }
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ControlApiError(
      `${API_NAMES[api]} ${method} ${path} answered ${res.status} with a body that is not JSON`,
    );
  }
}

const stepKind = (step: ScenarioStep): string => Object.keys(step).join('+') || 'empty';

const FINAL = ['completed', 'declined', 'reversed', 'cancelled', 'failed', 'needs_attention'];
/**
 * The reader each scenario starts with: every behaviour at its default (nothing a previous scenario
 * set carries over), no customer or card delays.
 */
const QUIET_READER: Behaviour = {
  ...DEFAULT_BEHAVIOUR,
  cardDelayMs: 0,
  pinDigitDelayMs: 0,
  processingDelayMs: 0,
};
/** The ZVT terminal each ZVT scenario starts with: every behaviour at its default, no delays. */
const QUIET_ZVT: ZvtBehaviour = { ...DEFAULT_ZVT_BEHAVIOUR, cardDelayMs: 0, processingMs: 0 };

/** The terminal ledger's transaction type of each operation kind. */
const ZVT_TYPE_OF: Record<string, ZvtTxnType> = {
  sale: 'sale',
  preauth: 'preauth',
  capture: 'capture',
  preauth_void: 'preauth_void',
  void: 'void',
  refund: 'refund',
};

/**
 * The ZVT ledger transaction of an operation: by the receipt number the journal holds, else (nothing
 * approved was journaled) the latest of the same type and amount whose receipt number no other
 * operation of the scenario holds.
 */
export function zvtTransactionOf(
  op: Pick<OpView, 'id' | 'kind' | 'amount' | 'result'>,
  ledger: readonly ZvtTxn[],
  receiptsOfOthers: ReadonlySet<string>,
): ZvtTxn | undefined {
  const type = ZVT_TYPE_OF[op.kind];
  const receiptNo = op.result?.terminal?.receiptNo;
  const mine = ledger.filter((t) => t.type === type);
  if (receiptNo) return mine.filter((t) => t.receiptNo === receiptNo).at(-1);
  return mine
    .filter((t) => t.amount === op.amount && !(t.receiptNo && receiptsOfOthers.has(t.receiptNo)))
    .at(-1);
}

/** A ledger transaction that holds money for its operation: a booked sale, capture, void or refund. */
export function zvtHolds(t: ZvtTxn | undefined): boolean {
  return t?.status === 'approved' || t?.status === 'refunded';
}

/** The processes one terminal kind's scenarios use: its simulators and an engine runner composed with them. */
interface Lane {
  terminal: ScenarioTerminal;
  /** Simulator processes by control-API name (`host` and `reader`, or `zvt`). */
  sims: Partial<Record<'host' | 'reader' | 'zvt', Proc>>;
  engine: Proc;
  engineArgs: string[];
}

/**
 * A running set of processes scenarios share: the host and reader simulators and an engine runner; for
 * `terminal: "zvt"` scenarios also (started when the first one runs) the ZVT simulator and an engine
 * runner composed with it, on its own state directory.
 */
export class ScenarioRig {
  private zvtLane: Lane | undefined;

  private constructor(
    private readonly dir: string,
    private readonly readerLane: Lane,
    private readonly log: ReturnType<typeof createWriteStream>,
  ) {}

  static async start(): Promise<ScenarioRig> {
    const dir = mkdtempSync(join(tmpdir(), 'pb-scenario-'));
    mkdirSync(join(dir, 'state'));
    const log = createWriteStream(join(dir, 'processes.log'));
    const host = await startSim(
      ['host', '--port', '0', '--control-port', '0', '--ledger', join(dir, 'ledger.json')],
      log,
    );
    const reader = await startSim(['reader', '--tcp', '0', '--control-port', '0'], log);
    const engineArgs = [
      'engine',
      '--dir',
      join(dir, 'state'),
      '--host-port',
      String(host.ready['iso']),
      '--reader-port',
      String(reader.ready['tcp']),
      '--response-ms',
      '500',
    ];
    const engine = await startSim(engineArgs, log);
    return new ScenarioRig(dir, { terminal: 'reader', sims: { host, reader }, engine, engineArgs }, log);
  }

  /** The ZVT simulator and its engine runner, started the first time a ZVT scenario runs. */
  private async zvt(): Promise<Lane> {
    if (this.zvtLane) return this.zvtLane;
    mkdirSync(join(this.dir, 'zvt-state'), { recursive: true });
    const zvt = await startSim(['zvt', '--tcp', '0', '--control-port', '0'], this.log);
    const engineArgs = [
      'engine',
      '--dir',
      join(this.dir, 'zvt-state'),
      '--zvt-port',
      String(zvt.ready['zvt']),
    ];
    const engine = await startSim(engineArgs, this.log);
    this.zvtLane = { terminal: 'zvt', sims: { zvt }, engine, engineArgs };
    return this.zvtLane;
  }

  private static ctl(lane: Lane, api: 'host' | 'reader' | 'zvt'): number {
    return Number(lane.sims[api]!.ready['control']);
  }

  private static enginePort(lane: Lane): number {
    return Number(lane.engine.ready['http']);
  }

  async close(): Promise<void> {
    for (const lane of [this.zvtLane, this.readerLane]) {
      if (!lane) continue;
      for (const p of [lane.engine, ...Object.values(lane.sims)]) await killAndWait(p);
    }
    this.log.end();
  }

  /**
   * Plays a scenario (validated first: an invalid one fails without touching the simulators). Any
   * control-API error fails it, naming the step.
   */
  async run(s: Scenario, source = `scenario ${JSON.stringify(s?.name ?? '')}`): Promise<ScenarioResult> {
    const name = typeof s?.name === 'string' ? s.name : source;
    try {
      validateScenario(s, source);
    } catch (e) {
      return { name, pass: false, results: [], error: (e as Error).message };
    }
    const keys = new Map<string, string>();
    const prefix = `${basename(s.name).replace(/\W+/g, '-').slice(0, 24)}-${Date.now()}`;
    let at = 'setup';
    try {
      const lane = s.terminal === 'zvt' ? await this.zvt() : this.readerLane;
      /** The ZVT ledger's length before the scenario: its checks look only at what came after. */
      let ledgerFrom = 0;
      if (lane.terminal === 'zvt') {
        const zvtCtl = ScenarioRig.ctl(lane, 'zvt');
        await control('zvt', zvtCtl, 'POST', '/behaviour', { ...QUIET_ZVT, card: s.card ?? QUIET_ZVT.card });
        ledgerFrom = ((await control('zvt', zvtCtl, 'GET', '/transactions')) as ZvtTxn[]).length;
      } else {
        await control('host', ScenarioRig.ctl(lane, 'host'), 'DELETE', '/faults');
        await control('reader', ScenarioRig.ctl(lane, 'reader'), 'POST', '/behaviour', {
          ...QUIET_READER,
          card: s.card ?? 'cup-debit-chip',
        });
      }
      for (const [i, step] of s.steps.entries()) {
        at = `steps[${i}] (${stepKind(step)})`;
        await this.step(lane, step, keys, prefix);
      }
      at = 'settling';
      for (const id of keys.values()) await this.settle(lane, id, 20_000);
      at = 'checking';
      const results: ExpectationResult[] = [];
      for (const e of s.expect) results.push(await this.check(lane, e, keys, ledgerFrom));
      return { name: s.name, pass: results.every((r) => r.pass), results };
    } catch (e) {
      return { name: s.name, pass: false, results: [], error: `${at}: ${(e as Error).message}` };
    }
  }

  private async step(
    lane: Lane,
    step: ScenarioStep,
    keys: Map<string, string>,
    prefix: string,
  ): Promise<void> {
    const engine = (): number => ScenarioRig.enginePort(lane);
    if (step.hostFault)
      await control('host', ScenarioRig.ctl(lane, 'host'), 'POST', '/faults', step.hostFault);
    if (step.reader)
      await control('reader', ScenarioRig.ctl(lane, 'reader'), 'POST', '/behaviour', step.reader);
    if (step.zvt) await control('zvt', ScenarioRig.ctl(lane, 'zvt'), 'POST', '/behaviour', step.zvt);
    if (step.sleep) await sleep(step.sleep);
    if (step.pay) {
      const p = step.pay;
      const body: Record<string, unknown> = {
        kind: p.kind ?? 'sale',
        idempotencyKey: `${prefix}-${p.key}`,
      };
      if (p.amount !== undefined) body['amount'] = p.amount;
      if (p.originalKey) body['originalId'] = keys.get(p.originalKey);
      if (p.cardPresent) body['cardPresent'] = true;
      const r = (await control('engine', engine(), 'POST', '/control/operations', body)) as {
        id?: string;
      } | null;
      if (!r?.id) throw new ControlApiError(`pay ${p.key}: the engine runner answered no operation id`);
      keys.set(p.key, r.id);
    }
    if (step.cancel) {
      await sleep(step.cancel.afterMs ?? 0);
      await control('engine', engine(), 'POST', `/control/cancel/${keys.get(step.cancel.key)!}`);
    }
    if (step.kill) {
      await sleep(step.kill.afterMs ?? 0);
      await killAndWait(lane.engine);
      if (lane.sims.host) await control('host', ScenarioRig.ctl(lane, 'host'), 'DELETE', '/faults');
      lane.engine = await startSim(lane.engineArgs, this.log);
    }
    if (step.partial) {
      const id = keys.get(step.partial.key)!;
      for (let i = 0; i < 200; i++) {
        const v = (await control('engine', engine(), 'GET', `/control/operations/${id}`)) as OpView;
        if (v.state === 'partially_approved') break;
        await sleep(25);
      }
      await control('engine', engine(), 'POST', `/control/partial/${id}`, {
        accept: step.partial.accept,
      });
    }
    if (step.settle) await this.settle(lane, keys.get(step.settle.key)!, step.settle.timeoutMs ?? 20_000);
  }

  private async settle(lane: Lane, id: string, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      try {
        const port = ScenarioRig.enginePort(lane);
        const v = (await control('engine', port, 'GET', `/control/operations/${id}`)) as OpView;
        const all = (await control('engine', port, 'GET', '/control/operations')) as {
          saf: { lane: string; count: number }[];
        };
        if (FINAL.includes(v.state) && !all.saf.some((x) => x.lane === 'reversal' && x.count > 0)) return;
      } catch (e) {
        // The engine may be restarting (no answer); an answer that is an error fails the scenario.
        if (e instanceof ControlApiError) throw e;
      }
      await sleep(50);
    }
  }

  private async check(
    lane: Lane,
    e: ScenarioExpectation,
    keys: Map<string, string>,
    ledgerFrom: number,
  ): Promise<ExpectationResult> {
    const port = ScenarioRig.enginePort(lane);
    const id = keys.get(e.key);
    const v = id
      ? ((await control('engine', port, 'GET', `/control/operations/${id}`)) as OpView)
      : undefined;
    if (!v) return { expectation: e, pass: false, actual: 'no such payment' };
    const oneOf = (want: string | string[], got: string): boolean =>
      Array.isArray(want) ? want.includes(got) : want === got;
    if (e.state !== undefined)
      return { expectation: e, pass: oneOf(e.state, v.state), actual: `state ${v.state}` };
    if (e.reason !== undefined)
      return { expectation: e, pass: v.reason === e.reason, actual: `reason ${String(v.reason)}` };
    if (lane.terminal === 'zvt') {
      const ledger = (
        (await control('zvt', ScenarioRig.ctl(lane, 'zvt'), 'GET', '/transactions')) as ZvtTxn[]
      ).slice(ledgerFrom);
      const others = new Set<string>();
      for (const other of keys.values()) {
        if (other === v.id) continue;
        const o = (await control('engine', port, 'GET', `/control/operations/${other}`)) as OpView;
        const r = o.result?.terminal?.receiptNo;
        if (r) others.add(r);
      }
      const tx = zvtTransactionOf(v, ledger, others);
      const zvtStatus = tx?.status ?? 'none';
      const shown = tx
        ? `zvt ${zvtStatus} (receipt ${tx.receiptNo ?? 'none'}, ${tx.type} ${tx.amount})`
        : 'zvt none';
      if (e.zvt !== undefined) return { expectation: e, pass: oneOf(e.zvt, zvtStatus), actual: shown };
      if (e.consistent)
        return {
          expectation: e,
          pass: (v.state === 'completed') === zvtHolds(tx),
          actual: `journal ${v.state}, ${shown}`,
        };
      return { expectation: e, pass: false, actual: 'expectation names nothing to check' };
    }
    const tx = v.host.stan
      ? (
          (await control(
            'host',
            ScenarioRig.ctl(lane, 'host'),
            'GET',
            `/transactions?tid=CHAOS001&stan=${v.host.stan}&batch=${v.host.batch}`,
          )) as { mti: string; status: string }[]
        ).find((t) => t.mti !== '0400' && t.mti !== '0401' && t.mti !== '0820')
      : undefined;
    const hostStatus = tx?.status ?? 'absent';
    if (e.host !== undefined)
      return { expectation: e, pass: oneOf(e.host, hostStatus), actual: `host ${hostStatus}` };
    if (e.consistent) {
      const held = ['approved', 'partially_approved'].includes(hostStatus);
      return {
        expectation: e,
        pass: (v.state === 'completed') === held,
        actual: `journal ${v.state}, host ${hostStatus}`,
      };
    }
    return { expectation: e, pass: false, actual: 'expectation names nothing to check' };
  }
}

/**
 * Reads and validates a scenario file; throws `ScenarioValidationError` naming the file, each JSON path
 * and what was expected there (every problem at once).
 */
export function loadScenario(path: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const why = e instanceof SyntaxError ? `not valid JSON: ${e.message}` : (e as Error).message;
    throw new ScenarioValidationError(path, [{ path: '', message: why }]);
  }
  validateScenario(raw, path);
  return raw as Scenario;
}

export function formatResult(r: ScenarioResult): string {
  const lines = [`${r.pass ? 'PASS' : 'FAIL'}  ${r.name}`];
  if (r.error) lines.push(`      error: ${r.error}`);
  for (const x of r.results) {
    const what = Object.entries(x.expectation)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ');
    lines.push(`      ${x.pass ? 'ok  ' : 'FAIL'} ${what} (${x.actual})`);
  }
  return lines.join('\n');
}

export const USAGE = `usage: posbridge-sim run [--check] <scenario.json> [...]
       posbridge-sim run --schema
Shipped scenarios: simulators/scenarios/*.json; the format: docs/qa-scenarios.md.
Every file is validated before anything starts. Exit 0 when all pass, 1 when an expectation or a
control-API request fails, 2 when a file is invalid (nothing was run).
  --check    validate only, start nothing
  --schema   print the scenario JSON Schema (card ids from simulators/cards.json)
`;

export async function runScenarioCli(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!argv.length) {
    process.stderr.write(
      'posbridge-sim run: needs scenario file(s), e.g. simulators/scenarios/01-approved.json\n',
    );
    process.stdout.write(USAGE);
    return 2;
  }
  if (argv.includes('--schema')) {
    process.stdout.write(`${JSON.stringify(scenarioSchema(), null, 2)}\n`);
    return 0;
  }
  const checkOnly = argv.includes('--check');
  const files = argv.filter((a) => a !== '--check');
  const unknown = files.filter((a) => a.startsWith('--'));
  if (unknown.length || !files.length) {
    process.stderr.write(
      `posbridge-sim run: ${unknown.length ? `unknown option ${unknown.join(', ')}` : 'needs scenario file(s) to check'}\n`,
    );
    process.stdout.write(USAGE);
    return 2;
  }
  const scenarios: Scenario[] = [];
  const invalid: string[] = [];
  for (const file of files) {
    try {
      scenarios.push(loadScenario(file));
    } catch (e) {
      invalid.push((e as Error).message);
    }
  }
  if (invalid.length) {
    process.stderr.write(
      `${invalid.join('\n')}\n${invalid.length} of ${files.length} scenario file(s) invalid; nothing was run\n`,
    );
    return 2;
  }
  if (checkOnly) {
    process.stdout.write(`${files.length} scenario file(s) valid\n`);
    return 0;
  }
  const rig = await ScenarioRig.start();
  let failed = 0;
  try {
    for (const [i, s] of scenarios.entries()) {
      const r = await rig.run(s, files[i]);
      process.stdout.write(`${formatResult(r)}\n`);
      if (!r.pass) failed++;
    }
  } finally {
    await rig.close();
  }
  process.stdout.write(`${scenarios.length - failed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}
