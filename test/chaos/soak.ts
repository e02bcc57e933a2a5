/**
 * `npm run soak`: the long chaos runs, the card-reader lane, the ZVT lane, the scan-to-pay lane, then
 * the key-scheme lanes (`npm run soak -- iso`, `-- zvt`, `-- qr`, `-- sm4`, `-- dukpt` runs one;
 * `-- dukpt-aes`, an AES DUKPT reader, runs only when named). CHAOS_PAYMENTS / CHAOS_KILLS (reader
 * lane), CHAOS_ZVT_PAYMENTS / CHAOS_ZVT_KILLS (ZVT lane), CHAOS_QR_PAYMENTS / CHAOS_QR_KILLS (QR lane),
 * CHAOS_SCHEME_PAYMENTS / CHAOS_SCHEME_KILLS (each key-scheme lane) and FUZZ_SEED override.
 */
import { seedFromEnv } from '../support/prng.js';
import { chaosRun, zvtChaosRun } from './chaos-run.js';
import { qrChaosRun } from './qr-chaos-run.js';

const lanes = process.argv.slice(2).filter((a) => !a.startsWith('-'));
/** The key-scheme lanes: the reader lane with another dialect / reader profile. */
const SCHEME_LANES: Record<string, { dialect: string; readerProfile: string; byDefault: boolean }> = {
  sm4: { dialect: 'cup-pos-sm4', readerProfile: 'posbridge', byDefault: true },
  dukpt: { dialect: 'cup-pos-dukpt', readerProfile: 'posbridge-dukpt-tdes', byDefault: true },
  'dukpt-aes': { dialect: 'cup-pos-dukpt', readerProfile: 'posbridge-dukpt-aes', byDefault: false },
};
const known = ['iso', 'zvt', 'qr', ...Object.keys(SCHEME_LANES)];
const unknown = lanes.filter((l) => !known.includes(l));
if (unknown.length) {
  console.error(`unknown soak lane(s): ${unknown.join(', ')}; lanes: ${known.join(', ')}`);
  process.exit(2);
}
const run = (lane: string): boolean =>
  lanes.length ? lanes.includes(lane) : (SCHEME_LANES[lane]?.byDefault ?? true);
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
for (const [lane, schemes] of Object.entries(SCHEME_LANES)) {
  if (!run(lane)) continue;
  const seed = seedFromEnv(`soak ${lane}`);
  const payments = Number(process.env['CHAOS_SCHEME_PAYMENTS'] ?? 1_000);
  const kills = Number(process.env['CHAOS_SCHEME_KILLS'] ?? 30);
  const t0 = Date.now();
  const report = await chaosRun({
    dialect: schemes.dialect,
    readerProfile: schemes.readerProfile,
    payments,
    kills,
    seed,
    log: (l) => console.log(`${lane} ${l}`),
  });
  console.log(
    JSON.stringify(
      { lane, ...report, seconds: Math.round((Date.now() - t0) / 1000), problems: report.problems.length },
      null,
      1,
    ),
  );
  for (const p of report.problems.slice(0, 50)) console.log(`problem (${lane}): ${p}`);
  failed ||= report.problems.length > 0;
}
process.exit(failed ? 1 : 0);
