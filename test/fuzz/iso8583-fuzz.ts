import { Pan } from '../../src/card/index.js';
import { Iso8583Error, dialectFraming, frame, loadDialect, unframe } from '../../src/iso8583/index.js';
import { randomMessage } from '../iso8583/random-message.js';
import { int, prng } from '../support/prng.js';

export const FUZZ_DIALECTS: Record<string, string[]> = {
  'cup-pos': ['0200', '0210', '0400', '0800'],
  'iso87-ascii': ['0200', '0800'],
  'iso87-binary': ['0200', '0800'],
};

/** A PAN planted in every base message: no error message may ever contain it. */
const SECRET_PAN = '6217973910000725090';

export interface FuzzStats {
  iterations: number;
  decoded: number;
  rejected: Record<string, number>;
  slowestMs: number;
}

/**
 * Mutated and random frames through unframe + unpack. Only Iso8583Error may be thrown, each frame must
 * finish quickly, and no error message may contain the planted PAN. Throws on the first violation.
 */
export function fuzzIso8583(dialectName: string, iterations: number, seed: number): FuzzStats {
  const d = loadDialect(dialectName);
  const mtis = FUZZ_DIALECTS[dialectName] ?? ['0200'];
  const rand = prng(seed);
  const framing = dialectFraming(d);
  const stats: FuzzStats = { iterations, decoded: 0, rejected: {}, slowestMs: 0 };
  const bases: Buffer[] = [];
  for (let i = 0; i < 32; i++) {
    const m = randomMessage(rand, d, mtis);
    const fields = { ...m.fields } as Record<number, unknown>;
    if (d.fieldSpec(m.mti, 2)) fields[2] = Pan.fromDigits(SECRET_PAN);
    bases.push(frame(d.pack({ mti: m.mti, fields: fields as never }, { rules: false }), framing));
  }
  for (let i = 0; i < iterations; i++) {
    const input = mutate(rand, bases[i % bases.length]!);
    const t0 = performance.now();
    try {
      const { body } = unframe(input, {
        ...framing,
        lengthHeader: rand() < 0.5 ? framing.lengthHeader : 'none',
      });
      d.unpack(body);
      stats.decoded++;
    } catch (e) {
      if (!(e instanceof Iso8583Error)) {
        throw new Error(
          `iteration ${i} (seed ${seed}): non-codec error ${String(e)} for input ${input.toString('hex')}`,
        );
      }
      if (e.message.includes(SECRET_PAN) || e.message.includes(SECRET_PAN.slice(0, 12))) {
        throw new Error(`iteration ${i} (seed ${seed}): error message leaks the PAN`);
      }
      stats.rejected[e.code] = (stats.rejected[e.code] ?? 0) + 1;
    }
    const ms = performance.now() - t0;
    if (ms > stats.slowestMs) stats.slowestMs = ms;
  }
  return stats;
}

function mutate(rand: () => number, base: Buffer): Buffer {
  const kind = int(rand, 0, 6);
  if (kind === 0) {
    const out = Buffer.alloc(int(rand, 0, 400));
    for (let i = 0; i < out.length; i++) out[i] = int(rand, 0, 255);
    return out;
  }
  let b = Buffer.from(base);
  const edits = int(rand, 1, 4);
  for (let e = 0; e < edits; e++) {
    const at = int(rand, 0, Math.max(0, b.length - 1));
    switch (int(rand, 0, 4)) {
      case 0:
        if (b.length) b[at] = int(rand, 0, 255);
        break;
      case 1:
        if (b.length) b[at] = b[at]! ^ (1 << int(rand, 0, 7));
        break;
      case 2:
        b = b.subarray(0, at);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([int(rand, 0, 255)]), b.subarray(at)]);
        break;
      default:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + int(rand, 1, 8)))]);
    }
  }
  return b;
}
