import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BEHAVIOUR } from '../../simulators/reader/behaviour.js';
import { DEFAULT_ZVT_BEHAVIOUR } from '../../simulators/zvt/behaviour.js';
import { ScenarioRig, loadScenario, runScenarioCli } from '../../simulators/scenario.js';
import { cardIds, scenarioSchema } from '../../simulators/scenario-schema.js';

// Scenario files are checked against a strict JSON Schema before anything runs (docs/qa-scenarios.md):
// a misspelt card, step key, fault action or behaviour is an error naming the file, the JSON path and
// what was expected, never a run with defaults.
const shipped = join(process.cwd(), 'simulators', 'scenarios');
const tmp = mkdtempSync(join(tmpdir(), 'pb-scenario-validation-'));
let seq = 0;

afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function write(scenario: unknown): string {
  const file = join(tmp, `s${++seq}.json`);
  writeFileSync(file, typeof scenario === 'string' ? scenario : JSON.stringify(scenario, null, 2));
  return file;
}

const ok = {
  name: 'valid',
  card: 'cup-debit-chip',
  steps: [{ pay: { key: 's', amount: 10000 } }],
  expect: [{ key: 's', state: 'completed' }],
};

function loadError(scenario: unknown): { file: string; message: string } {
  const file = write(scenario);
  try {
    loadScenario(file);
  } catch (e) {
    return { file, message: (e as Error).message };
  }
  throw new Error(`${file} was accepted: ${JSON.stringify(scenario)}`);
}

describe('scenario validation', () => {
  it('accepts every shipped scenario', () => {
    const files = readdirSync(shipped).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(13);
    for (const f of files) expect(() => loadScenario(join(shipped, f)), f).not.toThrow();
  });

  it('takes its enums and reader behaviours from their sources', () => {
    type Node = { properties: Record<string, Node>; items: Node; enum: unknown[] };
    const schema = scenarioSchema() as unknown as Node;
    expect(schema.properties['card']!.enum).toEqual(cardIds());
    expect(cardIds()).toContain('visa-token-applepay');
    const reader = schema.properties['steps']!.items.properties['reader']!.properties;
    expect(Object.keys(reader).sort()).toEqual(Object.keys(DEFAULT_BEHAVIOUR).sort());
    const zvt = schema.properties['steps']!.items.properties['zvt']!.properties;
    expect(Object.keys(zvt).sort()).toEqual(Object.keys(DEFAULT_ZVT_BEHAVIOUR).sort());
    expect(zvt['card']!.enum).toEqual(cardIds());
  });

  it('rejects a misspelt card name, listing the cards of cards.json', () => {
    const { file, message } = loadError({ ...ok, card: 'cup-debt-chip' });
    expect(message).toContain(file);
    expect(message).toMatch(/\bcard: must be one of .*cup-debit-chip.*visa-chip/);
    expect(message).toContain('"cup-debt-chip"');
  });

  it('rejects a misspelt card in a reader step', () => {
    const { message } = loadError({ ...ok, steps: [{ reader: { card: 'visa-chp' } }, ...ok.steps] });
    expect(message).toMatch(/steps\[0\]\.reader\.card: must be one of .*visa-chip/);
  });

  it('rejects a misspelt step key, naming the step kinds', () => {
    const { file, message } = loadError({
      ...ok,
      steps: [{ hostFalt: { action: 'drop_response', times: 1 } }, ...ok.steps],
    });
    expect(message).toContain(file);
    expect(message).toMatch(
      /steps\[0\]\.hostFalt: unknown key; allowed: hostFault, reader, zvt, pay, cancel/,
    );
  });

  it('rejects a step with two actions (their order would be implicit)', () => {
    const { message } = loadError({
      ...ok,
      steps: [{ sleep: 10, pay: { key: 's', amount: 10000 } }],
    });
    expect(message).toMatch(/steps\[0\]: a step has exactly one of hostFault, .*\(got sleep, pay\)/);
  });

  it('rejects an unknown fault action, listing the actions', () => {
    const { file, message } = loadError({
      ...ok,
      steps: [{ hostFault: { action: 'drop_respons', match: { mti: '0200' } } }, ...ok.steps],
    });
    expect(message).toContain(file);
    expect(message).toMatch(
      /steps\[0\]\.hostFault\.action: must be one of drop_response, delay, .*refuse_connections/,
    );
    expect(message).toContain('"drop_respons"');
  });

  it('rejects unknown keys inside faults, matches, behaviours and expectations', () => {
    expect(
      loadError({ ...ok, steps: [{ hostFault: { action: 'garbage', match: { mit: '0200' } } }, ...ok.steps] })
        .message,
    ).toMatch(/steps\[0\]\.hostFault\.match\.mit: unknown key; allowed: mti, /);
    expect(loadError({ ...ok, steps: [{ reader: { chipDecline: true } }, ...ok.steps] }).message).toMatch(
      /steps\[0\]\.reader\.chipDecline: unknown key; allowed: .*chipDeclines/,
    );
    expect(loadError({ ...ok, expect: [{ key: 's', stat: 'completed' }] }).message).toMatch(
      /expect\[0\]\.stat: unknown key; allowed: key, state, reason, host, zvt, consistent/,
    );
    expect(loadError({ ...ok, crad: 'visa-chip' }).message).toMatch(
      /: crad: unknown key; allowed: name, card/,
    );
  });

  it('checks values: fault fields, expected states, amounts', () => {
    expect(loadError({ ...ok, steps: [{ hostFault: { action: 'delay' } }, ...ok.steps] }).message).toMatch(
      /steps\[0\]\.hostFault\.delayMs: required/,
    );
    expect(
      loadError({ ...ok, steps: [{ hostFault: { action: 'garbage', delayMs: 5 } }, ...ok.steps] }).message,
    ).toMatch(/steps\[0\]\.hostFault\.delayMs: only for action "delay"/);
    expect(loadError({ ...ok, expect: [{ key: 's', state: ['completed', 'reversd'] }] }).message).toMatch(
      /expect\[0\]\.state\[1\]: must be one of completed, declined, reversed/,
    );
    expect(loadError({ ...ok, steps: [{ pay: { key: 's', amount: '100' } }] }).message).toMatch(
      /steps\[0\]\.pay\.amount: must be integer \(got "100"\)/,
    );
  });

  it('rejects an expectation with two checks or none', () => {
    expect(
      loadError({ ...ok, expect: [{ key: 's', state: 'completed', host: 'approved' }] }).message,
    ).toMatch(
      /expect\[0\]: an expectation has a key and exactly one of state, reason, host, zvt, consistent/,
    );
    expect(loadError({ ...ok, expect: [{ key: 's' }] }).message).toMatch(/expect\[0\]: an expectation/);
  });

  it('ZVT scenarios: terminal, zvt steps with the simulator behaviours, zvt checks, cancels', () => {
    const zvt = {
      name: 'zvt',
      terminal: 'zvt',
      steps: [
        { zvt: { approveThenDropCompletion: true, disabledCommands: ['06 31'], card: 'visa-chip' } },
        { pay: { key: 's', amount: 10000 } },
        { cancel: { key: 's', afterMs: 100 } },
        { kill: { afterMs: 10 } },
      ],
      expect: [
        { key: 's', zvt: ['approved', 'reversed'] },
        { key: 's', consistent: true },
      ],
    };
    expect(() => loadScenario(write(zvt))).not.toThrow();
    expect(loadError({ ...zvt, terminal: 'zvtt' }).message).toMatch(
      /: terminal: must be one of reader, zvt \(got "zvtt"\)/,
    );
    expect(loadError({ ...zvt, steps: [{ zvt: { approveThenDrop: true } }, ...zvt.steps] }).message).toMatch(
      /steps\[0\]\.zvt\.approveThenDrop: unknown key; allowed: card, approveThenDropCompletion, /,
    );
    const values = loadError({
      ...zvt,
      steps: [
        { zvt: { busy: 'yes', statusEveryMs: 5, disabledCommands: ['0631'], card: 'visa-chp' } },
        ...zvt.steps,
      ],
    }).message;
    expect(values).toMatch(/steps\[0\]\.zvt\.busy: must be boolean/);
    expect(values).toMatch(/steps\[0\]\.zvt\.statusEveryMs: must be >= 10/);
    expect(values).toMatch(/steps\[0\]\.zvt\.disabledCommands\[0\]: must be a ZVT command as two hex bytes/);
    expect(values).toMatch(/steps\[0\]\.zvt\.card: must be one of .*visa-chip/);
    expect(loadError({ ...zvt, expect: [{ key: 's', zvt: 'aproved' }] }).message).toMatch(
      /expect\[0\]\.zvt: must be one of approved, declined, reversed, refunded, none \(got "aproved"\)/,
    );
    expect(loadError({ ...zvt, steps: [...zvt.steps, { cancel: { key: 't' } }] }).message).toMatch(
      /steps\[4\]\.cancel\.key: no pay step before it has key "t"/,
    );
  });

  it("rejects steps and checks the scenario's terminal does not have", () => {
    const inZvt = loadError({
      ...ok,
      terminal: 'zvt',
      steps: [{ reader: { noCard: true } }, { hostFault: { action: 'garbage' } }, ...ok.steps],
      expect: [{ key: 's', host: 'approved' }],
    }).message;
    expect(inZvt).toMatch(/steps\[0\]\.reader: not in a ZVT scenario/);
    expect(inZvt).toMatch(/steps\[1\]\.hostFault: not in a ZVT scenario/);
    expect(inZvt).toMatch(/expect\[0\]\.host: not in a ZVT scenario/);
    const inReader = loadError({
      ...ok,
      steps: [{ zvt: { busy: true } }, ...ok.steps],
      expect: [{ key: 's', zvt: 'none' }],
    }).message;
    expect(inReader).toMatch(/steps\[0\]\.zvt: not in a reader scenario .*set "terminal": "zvt"/);
    expect(inReader).toMatch(/expect\[0\]\.zvt: not in a reader scenario/);
  });

  it('rejects keys that name no payment', () => {
    expect(loadError({ ...ok, steps: [...ok.steps, { settle: { key: 't' } }] }).message).toMatch(
      /steps\[1\]\.settle\.key: no pay step before it has key "t"/,
    );
    expect(loadError({ ...ok, expect: [{ key: 't', state: 'completed' }] }).message).toMatch(
      /expect\[0\]\.key: no pay step has key "t"/,
    );
    expect(loadError({ ...ok, steps: [...ok.steps, { pay: { key: 's', amount: 5 } }] }).message).toMatch(
      /steps\[1\]\.pay\.key: "s" is already used by steps\[0\]/,
    );
  });

  it('reports every problem of a file at once, and unreadable JSON', () => {
    const { message } = loadError({ ...ok, card: 'nope', steps: [{ hostFalt: {} }, ...ok.steps] });
    expect(message).toMatch(/2 problems/);
    expect(message).toContain('card: must be one of');
    expect(message).toContain('steps[0].hostFalt: unknown key');
    const bad = loadError('{ "name": "x", ');
    expect(bad.message).toContain(bad.file);
    expect(bad.message).toMatch(/not valid JSON/);
  });

  it('the CLI exits non-zero before starting anything when a file is invalid', async () => {
    const start = vi.spyOn(ScenarioRig, 'start').mockRejectedValue(new Error('the rig must not start'));
    const err: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      err.push(String(s));
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const good = write(ok);
    const bad = write({ ...ok, steps: [{ hostFault: { action: 'drop_respons' } }, ...ok.steps] });
    const code = await runScenarioCli([good, bad]);
    expect(code).toBe(2);
    expect(start).not.toHaveBeenCalled();
    expect(err.join('')).toContain(`${bad}: steps[0].hostFault.action: must be one of drop_response`);
    expect(err.join('')).not.toContain(good);
  });

  it('the CLI checks without running (--check) and prints the schema (--schema)', async () => {
    const start = vi.spyOn(ScenarioRig, 'start').mockRejectedValue(new Error('the rig must not start'));
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await runScenarioCli(['--check', write(ok)])).toBe(0);
    expect(await runScenarioCli(['--check', write({ ...ok, card: 'x' })])).toBe(2);
    expect(await runScenarioCli(['--schema'])).toBe(0);
    expect(start).not.toHaveBeenCalled();
    const schema = JSON.parse(out.slice(-1)[0]!) as { additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
  });
});
