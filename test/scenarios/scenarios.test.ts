import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScenarioRig, formatResult, loadScenario } from '../../simulators/scenario.js';

// Every shipped QA scenario (one per failure case of docs/recovery.md), as `posbridge-sim run` runs them.
const dir = join(process.cwd(), 'simulators', 'scenarios');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
let rig: ScenarioRig;

beforeAll(async () => {
  rig = await ScenarioRig.start();
}, 60_000);
afterAll(async () => {
  await rig?.close();
});

describe('QA scenarios', () => {
  it('ships one scenario per failure case', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
  });
  it('ships the ZVT cases: lost completion, abort race, disconnect mid-transaction, not supported, crash', () => {
    const zvt = files.filter((f) => loadScenario(join(dir, f)).terminal === 'zvt');
    expect(zvt.length).toBeGreaterThanOrEqual(5);
  });
  for (const f of files) {
    it(
      f,
      async () => {
        const r = await rig.run(loadScenario(join(dir, f)));
        expect(r.pass, formatResult(r)).toBe(true);
      },
      60_000,
    );
  }
});

// A control API that answers an error during a run fails the scenario (it used to be ignored, so the
// run went on without the fault or behaviour and could PASS).
describe('QA scenario runner', () => {
  it('fails a scenario when a simulator answers 400, with the status and body', async () => {
    const r = await rig.run({
      name: 'duplicate fault id',
      steps: [
        { hostFault: { id: 'f', action: 'garbage', match: { mti: '0999' } } },
        { hostFault: { id: 'f', action: 'corrupt_mac', match: { mti: '0200' }, times: 1 } },
        { pay: { key: 's', amount: 10000 } },
      ],
      expect: [{ key: 's', state: 'completed' }],
    });
    expect(r.pass, formatResult(r)).toBe(false);
    expect(r.error).toMatch(/steps\[1\] \(hostFault\): host simulator POST \/faults answered 400: /);
    expect(r.error).toContain('a rule with id f exists');
  });

  it('fails a scenario with a misspelt card instead of running the default card', async () => {
    const r = await rig.run({
      name: 'misspelt card',
      card: 'cup-debt-chip',
      steps: [{ pay: { key: 's', amount: 10000 } }],
      expect: [{ key: 's', state: 'completed' }],
    });
    expect(r.pass, formatResult(r)).toBe(false);
    expect(r.error).toMatch(/card: must be one of .*cup-debit-chip/);
  });
});
