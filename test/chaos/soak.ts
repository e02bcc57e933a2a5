/**
 * `npm run soak`: the long chaos runs, the card-reader lane, the ZVT lane, then the scan-to-pay lane
 * (`npm run soak -- iso`, `-- zvt` or `-- qr` runs one). CHAOS_PAYMENTS / CHAOS_KILLS (reader lane),
 * CHAOS_ZVT_PAYMENTS / CHAOS_ZVT_KILLS (ZVT lane), CHAOS_QR_PAYMENTS / CHAOS_QR_KILLS (QR lane) and
 * FUZZ_SEED override.
 */
import { seedFromEnv } from '../support/prng.js';
import { chaosRun, zvtChaosRun } from './chaos-run.js';
import { qrChaosRun } from './qr-chaos-run.js';

const lanes = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = lanes.filter((l) => l !== 'iso' && l !== 'zvt' && l !== 'qr');
if (unknown.length) {
  console.error(`unknown soak lane(s): ${unknown.join(', ')}; lanes: iso, zvt, qr`);
  process.exit(2);
}
const run = (lane: string): boolean => !lanes.length || lanes.includes(lane);
let failed = false;

if (run('iso')) {
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
  failed ||= report.problems.length > 0;
}

if (run('zvt')) {
  const seed = seedFromEnv('soak zvt');
  const payments = Number(process.env['CHAOS_ZVT_PAYMENTS'] ?? 5_000);
  const kills = Number(process.env['CHAOS_ZVT_KILLS'] ?? 300);
  const t0 = Date.now();
  const report = await zvtChaosRun({ payments, kills, seed, log: (l) => console.log(l) });
  console.log(
    JSON.stringify(
      { ...report, seconds: Math.round((Date.now() - t0) / 1000), problems: report.problems.length },
      null,
      1,
    ),
  );
  for (const p of report.problems.slice(0, 50)) console.log(`problem (zvt): ${p}`);
  failed ||= report.problems.length > 0;
}
if (run('qr')) {
  const seed = seedFromEnv('soak qr');
  const payments = Number(process.env['CHAOS_QR_PAYMENTS'] ?? 2_000);
  const kills = Number(process.env['CHAOS_QR_KILLS'] ?? 150);
  const report = await qrChaosRun({ payments, kills, seed, concurrency: 6, log: (l) => console.log(l) });
  console.log(JSON.stringify({ ...report, problems: report.problems.length }, null, 1));
  for (const p of report.problems.slice(0, 50)) console.log(`problem (qr): ${p}`);
  failed ||= report.problems.length > 0;
}
process.exit(failed ? 1 : 0);
