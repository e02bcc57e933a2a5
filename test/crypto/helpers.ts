import { readFileSync } from 'node:fs';

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

export function readVectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
}

/** Seeded PRNG (mulberry32) so randomised tests can be rerun: set CRYPTO_TEST_SEED to repeat a run. */
export function seededRandom(label: string): {
  seed: number;
  bytes: (n: number) => Buffer;
  int: (max: number) => number;
} {
  const seed = process.env.CRYPTO_TEST_SEED
    ? Number(process.env.CRYPTO_TEST_SEED)
    : (Date.now() ^ 0x5eed) >>> 0;
  console.log(`${label}: seed ${seed} (rerun with CRYPTO_TEST_SEED=${seed})`);
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    int: (max) => Math.floor(next() * max),
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}
