import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadDialect } from '../../src/iso8583/index.js';
import { prng } from '../support/prng.js';
import { randomMessage } from './random-message.js';

const DIALECTS: Record<string, string[]> = {
  'cup-pos': ['0200', '0210', '0400', '0800', '0500'],
  'cup-pos-vfwz': ['0200', '0920', '0810'],
  'iso87-ascii': ['0100', '0200', '0800'],
  'iso87-binary': ['0100', '0200', '0800'],
};

describe('property: random valid messages round-trip byte-exactly', () => {
  for (const [name, mtis] of Object.entries(DIALECTS)) {
    it(name, () => {
      const d = loadDialect(name);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
          const msg = randomMessage(prng(seed), d, mtis);
          const body = d.pack(msg, { rules: false });
          const decoded = d.unpack(body);
          expect(decoded.mti).toBe(msg.mti);
          expect(Object.keys(decoded.fields).sort()).toEqual(Object.keys(msg.fields).sort());
          expect(d.pack(decoded, { rules: false }).equals(body)).toBe(true);
        }),
        { numRuns: 500 },
      );
    });
  }
});
