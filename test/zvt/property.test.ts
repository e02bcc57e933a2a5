/**
 * Property tests (fast-check; the seed is printed, FUZZ_SEED=n replays): random APDUs, DLE-heavy serial
 * frames in random chunking, BMP lists and TLV trees round-trip byte for byte; a flipped bit in a frame
 * is never delivered as a frame.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ApduReassembler,
  ECR_CLASSES,
  FrameReader,
  decodeApdu,
  decodeBmps,
  decodeTlv,
  encodeApdu,
  encodeBmps,
  encodeFrame,
  encodeTlv,
  loadZvtTables,
  type Bmp,
  type FrameEvent,
  type TlvNode,
} from '../../src/terminal/zvt/index.js';
import { seedFromEnv } from '../support/prng.js';

const seed = seedFromEnv('zvt property');
const params = { seed, numRuns: 300 };
const tables = loadZvtTables();

const dleHeavyBytes = (max: number): fc.Arbitrary<Uint8Array> =>
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(0x10, 0x02, 0x03, 0x06, 0x15) },
        fc.integer({ min: 0, max: 255 }),
      ),
      {
        maxLength: max,
      },
    )
    .map((a) => Uint8Array.from(a));

const apduArb = fc.record({
  cls: fc.constantFrom(...ECR_CLASSES),
  ins: fc.integer({ min: 0, max: 255 }),
  data: fc.oneof(
    { weight: 5, arbitrary: dleHeavyBytes(60) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 250, maxLength: 700 }) },
  ),
  extended: fc.boolean(),
});

function chunks(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(buf.subarray(from, p));
    from = p;
  }
  out.push(buf.subarray(from));
  return out;
}

describe('property: APDUs', () => {
  it('encode → decode is the identity, and the TCP reassembler finds every APDU in any segmentation', () => {
    fc.assert(
      fc.property(
        fc.array(apduArb, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (list, cuts) => {
          const wire = list.map((a) => encodeApdu({ ...a, data: Buffer.from(a.data) }));
          for (const [i, w] of wire.entries()) {
            const back = decodeApdu(w);
            expect(back.data.equals(Buffer.from(list[i]!.data))).toBe(true);
            expect(encodeApdu(back).equals(w)).toBe(true);
          }
          const r = new ApduReassembler(ECR_CLASSES);
          const got = chunks(Buffer.concat(wire), cuts).flatMap((c) => r.push(c));
          expect(got.map((a) => encodeApdu(a).toString('hex'))).toEqual(wire.map((w) => w.toString('hex')));
          expect(r.pending).toBe(0);
        },
      ),
      params,
    );
  });
});

describe('property: serial frames', () => {
  it('DLE-heavy APDUs frame and unframe exactly, in any chunking, between ACK/NAK bytes', () => {
    fc.assert(
      fc.property(
        fc.array(apduArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (list, cuts) => {
          const apdus = list.map((a) => encodeApdu({ ...a, data: Buffer.from(a.data) }));
          const wire = Buffer.concat(apdus.flatMap((a) => [Buffer.from([0x06]), encodeFrame(a)]));
          const r = new FrameReader();
          const events = chunks(wire, cuts).flatMap((c) => r.push(c));
          const frames = events.filter(
            (e): e is Extract<FrameEvent, { type: 'frame' }> => e.type === 'frame',
          );
          expect(frames.map((f) => f.apdu.toString('hex'))).toEqual(apdus.map((a) => a.toString('hex')));
          expect(events.filter((e) => e.type === 'ack')).toHaveLength(apdus.length);
          expect(events.some((e) => e.type === 'bad' || e.type === 'noise')).toBe(false);
        },
      ),
      params,
    );
  });

  it('a flipped bit in a data byte is NAKed (bad), never delivered', () => {
    fc.assert(
      fc.property(apduArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (a, at, bit) => {
        const frame = Buffer.from(encodeFrame(encodeApdu({ ...a, data: Buffer.from(a.data) })));
        // Data bytes between DLE STX and DLE ETX whose flip keeps the framing (neither side is DLE).
        const candidates: number[] = [];
        for (let i = 2; i < frame.length - 4; i++) {
          if (frame[i] !== 0x10 && frame[i - 1] !== 0x10 && (frame[i]! ^ (1 << bit)) !== 0x10)
            candidates.push(i);
        }
        fc.pre(candidates.length > 0);
        const i = candidates[at % candidates.length]!;
        frame[i] = frame[i]! ^ (1 << bit);
        const events = new FrameReader().push(frame);
        expect(events.some((e) => e.type === 'frame')).toBe(false);
        expect(events.some((e) => e.type === 'bad')).toBe(true);
      }),
      params,
    );
  });
});

const bmpSpecs = [
  0x01, 0x04, 0x0b, 0x0c, 0x0d, 0x19, 0x22, 0x27, 0x29, 0x2a, 0x3b, 0x3c, 0x49, 0x60, 0x87, 0x8b, 0x06, 0x9a,
]
  .map((c) => tables.bmp(c)!)
  .filter(Boolean);

const bmpArb: fc.Arbitrary<Bmp> = fc.constantFrom(...bmpSpecs).chain((spec) => {
  const code = parseInt(spec.bmp, 16);
  const len =
    spec.format === 'fixed'
      ? fc.constant(spec.length!)
      : spec.format === 'llvar'
        ? fc.integer({ min: 0, max: 99 })
        : spec.format === 'lllvar'
          ? fc.integer({ min: 0, max: 300 })
          : fc.integer({ min: 0, max: 400 });
  return len.chain((n) =>
    dleHeavyBytes(n).map((v) => ({
      bmp: code,
      value: Buffer.concat([Buffer.from(v), Buffer.alloc(n - v.length)]),
    })),
  );
});

describe('property: BMPs and TLV', () => {
  it('random BMP lists encode and decode back to the same list', () => {
    fc.assert(
      fc.property(fc.array(bmpArb, { maxLength: 6 }), (list) => {
        const enc = encodeBmps(list, tables);
        const back = decodeBmps(enc, 0, tables);
        expect(back.map((b) => [b.bmp, b.value.toString('hex')])).toEqual(
          list.map((b) => [b.bmp, b.value.toString('hex')]),
        );
        expect(encodeBmps(back, tables).equals(enc)).toBe(true);
      }),
      params,
    );
  });

  const tagArb = (constructed: boolean): fc.Arbitrary<string> =>
    fc.oneof(
      fc
        .integer({ min: 0, max: 30 })
        .map((n) =>
          ((constructed ? 0x20 : 0) | (n & 0x1f) | 0x40).toString(16).toUpperCase().padStart(2, '0'),
        ),
      fc
        .integer({ min: 1, max: 0x7f })
        .map((n) => `${constructed ? '3F' : '1F'}${n.toString(16).toUpperCase().padStart(2, '0')}`),
    );
  const { tree } = fc.letrec<{ tree: TlvNode; leaf: TlvNode; node: TlvNode }>((tie) => ({
    tree: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('node')),
    leaf: fc
      .tuple(tagArb(false), fc.oneof(dleHeavyBytes(20), fc.uint8Array({ minLength: 130, maxLength: 300 })))
      .map(([t, v]) => ({
        tag: t,
        value: Buffer.from(v),
      })),
    node: fc.tuple(tagArb(true), fc.array(tie('tree'), { minLength: 1, maxLength: 3 })).map(([t, c]) => {
      const value = encodeTlv(c);
      return { tag: t, value, children: c };
    }),
  }));

  it('random TLV trees (every length form) decode to the same tree and re-encode exactly', () => {
    const shape = (ns: readonly TlvNode[]): unknown =>
      ns.map((n) => (n.children ? [n.tag, shape(n.children)] : [n.tag, n.value.toString('hex')]));
    fc.assert(
      fc.property(fc.array(tree, { minLength: 1, maxLength: 4 }), (nodes) => {
        const enc = encodeTlv(nodes);
        const back = decodeTlv(enc);
        expect(shape(back)).toEqual(shape(nodes));
        expect(encodeTlv(back).equals(enc)).toBe(true);
      }),
      params,
    );
  });
});
