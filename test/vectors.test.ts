import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Tests read only test/vectors (a user's clone has no ../shared). When the shared vectors are beside
// the checkout, the copies must match them byte for byte.
const here = dirname(fileURLToPath(import.meta.url));
const local = join(here, 'vectors');
const shared = join(here, '..', '..', 'shared', 'vectors');

describe('test/vectors', () => {
  const files = readdirSync(local).filter((f) => f.endsWith('.json'));

  it('holds the conformance vector files the tests use', () => {
    expect(files).toEqual(
      expect.arrayContaining(['cup-pos.json', 'iso87.json', 'emv-field55.json', 'mac.json']),
    );
  });

  it.runIf(existsSync(shared))('copies match ../shared/vectors', () => {
    for (const f of readdirSync(shared).filter((x) => x.endsWith('.json'))) {
      expect(existsSync(join(local, f)), `${f} copied`).toBe(true);
      expect(readFileSync(join(local, f)).equals(readFileSync(join(shared, f))), `${f} identical`).toBe(true);
    }
  });
});
