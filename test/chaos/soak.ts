/** `npm run soak`: the long chaos run. CHAOS_PAYMENTS / CHAOS_KILLS / FUZZ_SEED override. */
import { seedFromEnv } from '../support/prng.js';
import { chaosRun } from './chaos-run.js';

const seed = seedFromEnv('soak');
const payments = Number(process.env['CHAOS_PAYMENTS'] ?? 10_000);
const kills = Number(process.env['CHAOS_KILLS'] ?? 300);
const t0 = Date.now();
const report = await chaosRun({ payments, kills, seed, log: (l) => console.log(l) });
console.log(
  JSON.stringify(
    { ...report, seconds: Math.round((Date.now() - t0) / 1000), problems: report.problems.length },
    null,
    1,
  ),
);
for (const p of report.problems.slice(0, 50)) console.log(`problem: ${p}`);
process.exit(report.problems.length ? 1 : 0);
