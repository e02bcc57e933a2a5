/** `npm run fuzz`: the long fuzz runs (100,000 cases per target). Seeds are printed; FUZZ_SEED replays. */
import { FUZZ_DIALECTS, fuzzIso8583 } from './iso8583-fuzz.js';
import { seedFromEnv } from '../support/prng.js';

const iterations = Number(process.env['FUZZ_ITERATIONS'] ?? 100_000);
const targets: { name: string; run: (seed: number) => unknown }[] = Object.keys(FUZZ_DIALECTS).map(
  (name) => ({
    name: `iso8583 ${name}`,
    run: (seed: number) => fuzzIso8583(name, iterations, seed),
  }),
);
for (const extra of ['../emv/fuzz-tlv.js']) {
  try {
    const mod = (await import(extra)) as { fuzzTlv?: (iterations: number, seed: number) => unknown };
    if (mod.fuzzTlv) targets.push({ name: 'emv tlv', run: (seed) => mod.fuzzTlv!(iterations, seed) });
  } catch {
    // target not built yet
  }
}
let failed = false;
for (const t of targets) {
  const seed = seedFromEnv(t.name);
  const t0 = performance.now();
  try {
    const stats = t.run(seed);
    console.log(
      `${t.name}: ${iterations} cases in ${Math.round(performance.now() - t0)} ms`,
      JSON.stringify(stats),
    );
  } catch (e) {
    failed = true;
    console.error(`${t.name}: FAILED`, e);
  }
}
process.exit(failed ? 1 : 0);
