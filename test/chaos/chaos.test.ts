import { describe, expect, it } from 'vitest';
import { seedFromEnv } from '../support/prng.js';
import { chaosRun } from './chaos-run.js';

// Issue 7's acceptance test. `npm run soak` runs the long version (10,000 payments, 300 kills).
describe('chaos: payments under random faults with the engine process killed and restarted', () => {
  it(
    'every operation ends final, the journal and the host ledger agree, no double charge, no PAN at rest or in logs',
    async () => {
      const seed = seedFromEnv('chaos');
      const payments = Number(process.env['CHAOS_PAYMENTS'] ?? 300);
      const kills = Number(process.env['CHAOS_KILLS'] ?? 30);
      const report = await chaosRun({ payments, kills, seed });
      console.log(
        `[chaos] seed ${seed}: ${JSON.stringify({ kills: report.kills, cancels: report.cancels, states: report.states, hostApproved: report.hostApproved, dir: report.dir })}`,
      );
      expect(report.problems).toEqual([]);
      expect(report.kills).toBeGreaterThanOrEqual(kills);
      expect(report.cancels, 'the operator cancelled some payments at random moments').toBeGreaterThan(0);
      const total = Object.values(report.states).reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(payments / 3);
    },
    15 * 60_000,
  );
});
