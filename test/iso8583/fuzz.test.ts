import { describe, expect, it } from 'vitest';
import { FUZZ_DIALECTS, fuzzIso8583 } from '../fuzz/iso8583-fuzz.js';
import { seedFromEnv } from '../support/prng.js';

describe('fuzz: 10,000 mutated and random frames per dialect', () => {
  for (const name of Object.keys(FUZZ_DIALECTS)) {
    it(`${name}: only Iso8583Error, no hang, no PAN in messages`, () => {
      const seed = seedFromEnv(`iso8583 fuzz ${name}`);
      const stats = fuzzIso8583(name, 10_000, seed);
      // The mutations must exercise both paths, or the fuzz proves nothing.
      expect(stats.decoded).toBeGreaterThan(50);
      expect(Object.keys(stats.rejected).length).toBeGreaterThan(3);
      expect(stats.slowestMs).toBeLessThan(250);
    });
  }
});
