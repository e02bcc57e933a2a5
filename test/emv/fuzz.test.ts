import { describe, expect, it } from 'vitest';
import { seedFromEnv } from '../support/prng.js';
import { fuzzTlv } from './fuzz-tlv.js';

describe('fuzz: 10,000 mutated and random TLV blobs', () => {
  it('only TlvError, exact re-encoding, no hang, nothing sensitive in messages or descriptions', () => {
    const seed = seedFromEnv('emv tlv fuzz');
    const stats = fuzzTlv(10_000, seed);
    // Both paths must be exercised, or the fuzz proves nothing.
    expect(stats.parsed).toBeGreaterThan(500);
    expect(Object.keys(stats.rejected).length).toBeGreaterThanOrEqual(4);
    expect(stats.warnings['opaque_container'] ?? 0).toBeGreaterThan(10);
    expect(stats.slowestMs).toBeLessThan(250);
  });
});
