/**
 * QA scenarios: `posbridge-sim run <scenario.json ...>`. A scenario names the card, the payments, the
 * reader and host faults, daemon kills, and the expected final states and host ledger; the runner starts
 * the host and reader simulators and the engine runner as processes, plays the steps, and prints
 * pass/fail per expectation. Format (every key optional except name, steps, expect):
 *
 * {
 *   "name": "lost answer: the host committed, the answer was dropped",
 *   "card": "cup-debit-chip",
 *   "steps": [
 *     { "hostFault": { "action": "drop_response", "match": { "mti": "0200" }, "times": 1 } },
 *     { "reader": { "dropLinkAt": "after_host_approval" } },
 *     { "pay": { "key": "s1", "amount": 10000, "kind": "sale" } },
 *     { "kill": { "afterMs": 150 } },           // SIGKILL the engine, restart it on the same state
 *     { "partial": { "key": "s1", "accept": false } },
 *     { "settle": { "key": "s1" } }             // wait until s1 is final and the reversal lane is empty
 *   ],
 *   "expect": [
 *     { "key": "s1", "state": "reversed" },     // or a list of acceptable states
 *     { "key": "s1", "host": "reversed" },      // host ledger status of its request, or "absent"
 *     { "key": "s1", "reason": "approved_at_host_after_timeout" },
 *     { "key": "s1", "consistent": true }       // completed here ⇔ held (approved, not reversed) there
 *   ]
 * }
 */
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { httpJson, killAndWait, sleep, startSim, type Proc } from './processes.js';

export interface ScenarioStep {
  hostFault?: Record<string, unknown>;
  reader?: Record<string, unknown>;
  pay?: { key: string; amount?: number; kind?: string; originalKey?: string; cardPresent?: boolean };
  kill?: { afterMs?: number };
  partial?: { key: string; accept: boolean };
  settle?: { key: string; timeoutMs?: number };
  sleep?: number;
}

export interface ScenarioExpectation {
  key: string;
  state?: string | string[];
  reason?: string;
  host?: string | string[];
  consistent?: boolean;
}

export interface Scenario {
  name: string;
  card?: string;
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
  state: string;
  reason: string | null;
  host: { stan: string | null; batch: string | null };
}

const FINAL = ['completed', 'declined', 'reversed', 'cancelled', 'failed', 'needs_attention'];
const QUIET_READER = {
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

/** A running set of processes scenarios share: host and reader simulators, and the engine runner. */
export class ScenarioRig {
  private constructor(
    private readonly dir: string,
    private host: Proc,
    private reader: Proc,
    private engine: Proc,
    private readonly engineArgs: string[],
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
    return new ScenarioRig(dir, host, reader, engine, engineArgs, log);
  }

  private get hostCtl(): number {
    return Number(this.host.ready['control']);
  }
  private get readerCtl(): number {
    return Number(this.reader.ready['control']);
  }
  private get enginePort(): number {
    return Number(this.engine.ready['http']);
  }

  async close(): Promise<void> {
    for (const p of [this.engine, this.reader, this.host]) await killAndWait(p);
    this.log.end();
  }

  async run(s: Scenario): Promise<ScenarioResult> {
    const keys = new Map<string, string>();
    const prefix = `${basename(s.name).replace(/\W+/g, '-').slice(0, 24)}-${Date.now()}`;
    try {
      await httpJson(this.hostCtl, 'DELETE', '/faults');
      await httpJson(this.readerCtl, 'POST', '/behaviour', {
        ...QUIET_READER,
        card: s.card ?? 'cup-debit-chip',
      });
      for (const step of s.steps) {
        if (step.hostFault) await httpJson(this.hostCtl, 'POST', '/faults', step.hostFault);
        if (step.reader) await httpJson(this.readerCtl, 'POST', '/behaviour', step.reader);
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
          const r = (await httpJson(this.enginePort, 'POST', '/control/operations', body)).json as {
            id?: string;
            error?: unknown;
          };
          if (!r.id) throw new Error(`pay ${p.key}: ${JSON.stringify(r.error)}`);
          keys.set(p.key, r.id);
        }
        if (step.kill) {
          await sleep(step.kill.afterMs ?? 0);
          await killAndWait(this.engine);
          await httpJson(this.hostCtl, 'DELETE', '/faults');
          this.engine = await startSim(this.engineArgs, this.log);
        }
        if (step.partial) {
          const id = keys.get(step.partial.key);
          for (let i = 0; i < 200; i++) {
            const v = (await httpJson(this.enginePort, 'GET', `/control/operations/${id}`)).json as OpView;
            if (v.state === 'partially_approved') break;
            await sleep(25);
          }
          await httpJson(this.enginePort, 'POST', `/control/partial/${id}`, { accept: step.partial.accept });
        }
        if (step.settle) await this.settle(keys.get(step.settle.key)!, step.settle.timeoutMs ?? 20_000);
      }
      for (const id of keys.values()) await this.settle(id, 20_000);
      const results: ExpectationResult[] = [];
      for (const e of s.expect) results.push(await this.check(e, keys));
      return { name: s.name, pass: results.every((r) => r.pass), results };
    } catch (e) {
      return { name: s.name, pass: false, results: [], error: (e as Error).message };
    }
  }

  private async settle(id: string, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      try {
        const v = (await httpJson(this.enginePort, 'GET', `/control/operations/${id}`)).json as OpView;
        const all = (await httpJson(this.enginePort, 'GET', '/control/operations')).json as {
          saf: { lane: string; count: number }[];
        };
        if (FINAL.includes(v.state) && !all.saf.some((x) => x.lane === 'reversal' && x.count > 0)) return;
      } catch {
        // the engine may be restarting
      }
      await sleep(50);
    }
  }

  private async check(e: ScenarioExpectation, keys: Map<string, string>): Promise<ExpectationResult> {
    const id = keys.get(e.key);
    const v = id
      ? ((await httpJson(this.enginePort, 'GET', `/control/operations/${id}`)).json as OpView)
      : undefined;
    if (!v) return { expectation: e, pass: false, actual: 'no such payment' };
    const tx = v.host.stan
      ? (
          (
            await httpJson(
              this.hostCtl,
              'GET',
              `/transactions?tid=CHAOS001&stan=${v.host.stan}&batch=${v.host.batch}`,
            )
          ).json as { mti: string; status: string }[]
        ).find((t) => t.mti !== '0400' && t.mti !== '0401' && t.mti !== '0820')
      : undefined;
    const hostStatus = tx?.status ?? 'absent';
    const oneOf = (want: string | string[], got: string): boolean =>
      Array.isArray(want) ? want.includes(got) : want === got;
    if (e.state !== undefined)
      return { expectation: e, pass: oneOf(e.state, v.state), actual: `state ${v.state}` };
    if (e.reason !== undefined)
      return { expectation: e, pass: v.reason === e.reason, actual: `reason ${String(v.reason)}` };
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

export function loadScenario(path: string): Scenario {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Scenario;
  if (typeof s.name !== 'string' || !Array.isArray(s.steps) || !Array.isArray(s.expect))
    throw new Error(`${path}: a scenario needs name, steps and expect`);
  return s;
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

export async function runScenarioCli(argv: string[]): Promise<number> {
  if (!argv.length || argv.includes('--help')) {
    process.stdout.write(
      'usage: posbridge-sim run <scenario.json> [...]\nShipped scenarios: simulators/scenarios/*.json. Exit 1 when an expectation fails.\n',
    );
    return argv.length ? 0 : 2;
  }
  const rig = await ScenarioRig.start();
  let failed = 0;
  try {
    for (const file of argv) {
      const r = await rig.run(loadScenario(file));
      process.stdout.write(`${formatResult(r)}\n`);
      if (!r.pass) failed++;
    }
  } finally {
    await rig.close();
  }
  process.stdout.write(`${argv.length - failed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}
