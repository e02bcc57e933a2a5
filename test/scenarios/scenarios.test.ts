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
