/**
 * Seeded TLV fuzz core, shared by the 10,000-case test (test/emv/fuzz.test.ts) and `npm run fuzz`
 * (test/fuzz/run.ts, 100,000 cases). Inputs: the field 55 vectors and random TLV trees carrying a planted
 * PAN in 5A/57, mutated (bit flips, truncation, insertion, deletion, splices, hostile length bytes) or
 * replaced by random bytes. Checked for every input:
 * - only TlvError is thrown (lenient, strict and private-primitive modes);
 * - a parse that succeeds re-encodes to exactly the input;
 * - no input takes long (no hang);
 * - error messages never contain value bytes of the planted PAN;
 * - describeTlv never shows the value of a sensitive tag or an opaque container.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  TlvError,
  describeTlv,
  encodeTlv,
  loadTagDictionary,
  parseTlv,
  tlv,
  walkTlv,
  type ParseOptions,
  type Tlv,
} from '../../src/emv/index.js';
import { int, pick, prng } from '../support/prng.js';

const SECRET_PAN = '6217973910000725090';

export interface TlvFuzzStats {
  iterations: number;
  parsed: number;
  rejected: Record<string, number>;
  warnings: Record<string, number>;
  slowestMs: number;
}

const here = dirname(fileURLToPath(import.meta.url));

function vectorBlobs(): Buffer[] {
  const file = JSON.parse(readFileSync(join(here, '..', 'vectors', 'emv-field55.json'), 'utf8')) as {
    vectors: { hex: string }[];
  };
  return file.vectors.map((v) => Buffer.from(v.hex, 'hex'));
}

const TAGS_PRIMITIVE = [
  '9F26',
  '9F27',
  '9F10',
  '95',
  '9A',
  '9C',
  '9F02',
  '82',
  '84',
  'DF31',
  '9F6E',
  'DF8129',
  '8A',
  '86',
  '9F18',
];
const TAGS_TEMPLATE = ['70', '71', '72', '77', 'E1', 'FF8105', 'BF0C'];

function randomTree(rand: () => number, depth: number): Tlv {
  if (depth < 3 && rand() < 0.3) {
    const children: Tlv[] = [];
    const n = int(rand, 0, 4);
    for (let i = 0; i < n; i++) children.push(randomTree(rand, depth + 1));
    if (rand() < 0.3) children.push(tlv('57', Buffer.from(`${SECRET_PAN}D3012201`, 'hex')));
    return tlv(pick(rand, TAGS_TEMPLATE), children);
  }
  const len = rand() < 0.9 ? int(rand, 0, 24) : int(rand, 120, 300);
  const value = Buffer.alloc(len);
  for (let i = 0; i < len; i++) value[i] = int(rand, 0, 255);
  return tlv(pick(rand, TAGS_PRIMITIVE), value);
}

function randomBlob(rand: () => number): Buffer {
  const parts: Tlv[] = [tlv('5A', Buffer.from(`${SECRET_PAN}F`, 'hex'))];
  const n = int(rand, 1, 8);
  for (let i = 0; i < n; i++) parts.push(randomTree(rand, 0));
  for (let i = parts.length - 1; i > 0; i--) {
    const j = int(rand, 0, i);
    [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  }
  return encodeTlv(parts);
}

const HOSTILE = [0x00, 0x1f, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x8f, 0xff];

function mutate(rand: () => number, base: Buffer): Buffer {
  const b = Buffer.from(base);
  const kind = int(rand, 0, 7);
  if (b.length === 0 || kind === 7) {
    const out = Buffer.alloc(int(rand, 0, 48));
    for (let i = 0; i < out.length; i++) out[i] = rand() < 0.3 ? pick(rand, HOSTILE) : int(rand, 0, 255);
    return out;
  }
  switch (kind) {
    case 0: {
      const flips = int(rand, 1, 4);
      for (let i = 0; i < flips; i++) b[int(rand, 0, b.length - 1)]! ^= 1 << int(rand, 0, 7);
      return b;
    }
    case 1:
      return b.subarray(0, int(rand, 0, b.length - 1));
    case 2: {
      const at = int(rand, 0, b.length);
      const ins = Buffer.alloc(int(rand, 1, 6));
      for (let i = 0; i < ins.length; i++) ins[i] = pick(rand, HOSTILE);
      return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
    }
    case 3: {
      const at = int(rand, 0, b.length - 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + int(rand, 1, 8)))]);
    }
    case 4: {
      b[int(rand, 0, b.length - 1)] = pick(rand, HOSTILE);
      return b;
    }
    case 5: {
      const from = int(rand, 0, b.length - 1);
      const seg = b.subarray(from, Math.min(b.length, from + int(rand, 1, 32)));
      const at = int(rand, 0, b.length);
      return Buffer.concat([b.subarray(0, at), seg, b.subarray(at)]);
    }
    default: {
      // wrap the whole blob in a template, sometimes with a lying length
      const wrapped = encodeTlv([tlv(pick(rand, TAGS_TEMPLATE), b)]);
      if (rand() < 0.5 && wrapped.length > 2) wrapped[wrapped.length - b.length - 1] = int(rand, 0, 255);
      return wrapped;
    }
  }
}

/** Hex of every value that describeTlv must not show, and of every value it shows. */
function valueSets(elements: readonly Tlv[]): { hidden: string[]; shown: string[] } {
  const dict = loadTagDictionary();
  const hidden: string[] = [];
  const shown: string[] = [];
  walkTlv(elements, (t) => {
    const h = t.value.toString('hex').toUpperCase();
    if (dict.isSensitive(t.tag) || t.opaque) hidden.push(h);
    else if (!t.children) shown.push(h);
  });
  return { hidden, shown };
}

/** Runs `iterations` cases from `seed`. Throws (with seed, iteration and input) on the first violation. */
export function fuzzTlv(iterations: number, seed: number): TlvFuzzStats {
  const rand = prng(seed);
  const bases = [...vectorBlobs()];
  for (let i = 0; i < 24; i++) bases.push(randomBlob(rand));
  const stats: TlvFuzzStats = { iterations, parsed: 0, rejected: {}, warnings: {}, slowestMs: 0 };
  const modes: ParseOptions[] = [{}, { strict: true }, { privateTags: 'primitive' }];
  const secretHex = SECRET_PAN.slice(0, 12);
  for (let i = 0; i < iterations; i++) {
    const input = mutate(rand, bases[i % bases.length]!);
    const options = modes[i % modes.length]!;
    const where = (): string =>
      `iteration ${i} (seed ${seed}, options ${JSON.stringify(options)}): input ${input.toString('hex')}`;
    const t0 = performance.now();
    try {
      const { elements, warnings } = parseTlv(input, options);
      stats.parsed++;
      for (const w of warnings) stats.warnings[w.code] = (stats.warnings[w.code] ?? 0) + 1;
      if (!encodeTlv(elements).equals(input)) throw new Error(`${where()}: re-encoding differs`);
      if (i % 4 === 0) {
        const text = describeTlv(elements).toUpperCase();
        const { hidden, shown } = valueSets(elements);
        for (const h of hidden) {
          if (h.length >= 12 && text.includes(h) && !shown.some((s) => s.includes(h))) {
            throw new Error(`${where()}: describeTlv shows a sensitive or opaque value`);
          }
        }
      }
    } catch (e) {
      if (!(e instanceof TlvError)) {
        if (e instanceof Error && e.message.startsWith('iteration ')) throw e;
        throw new Error(`${where()}: non-TlvError ${String(e)}`);
      }
      if (e.message.includes(secretHex) || JSON.stringify(e).includes(secretHex)) {
        throw new Error(`${where()}: error message carries value bytes`);
      }
      stats.rejected[e.code] = (stats.rejected[e.code] ?? 0) + 1;
    }
    const ms = performance.now() - t0;
    if (ms > stats.slowestMs) stats.slowestMs = ms;
  }
  return stats;
}
