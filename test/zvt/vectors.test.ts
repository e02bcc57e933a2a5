/**
 * Every golden vector of test/vectors/zvt.json (sources in the file): serial frames unframe with a
 * matching CRC and reframe byte for byte; APDUs decode into the fields, BMPs and TLV items the vector
 * lists and re-encode byte for byte; the vectors marked `error` are rejected by the strict decoder and
 * never crash the tolerant readers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ApduReassembler,
  FrameReader,
  PT_CLASSES,
  ECR_CLASSES,
  ZvtError,
  decodeApdu,
  decodeFrame,
  decodeMessage,
  decodeText,
  decodeTlv,
  encodeApdu,
  encodeFrame,
  encodeMessage,
  encodeTlv,
  frameCrc,
  hex2,
  type TlvNode,
  type ZvtMessage,
} from '../../src/terminal/zvt/index.js';

interface VField {
  name: string;
  hex?: string;
  text?: string;
}
interface VTlv {
  tag: string;
  hex?: string;
  items?: VTlv[];
}
interface VBmp {
  bmp: string;
  hex: string;
  tlv?: VTlv[];
}
interface VDecoded {
  class: string;
  instr: string;
  extendedLength?: boolean;
  fields?: VField[];
  bitmaps?: VBmp[] | null;
  apdu?: VDecoded;
  crcBytesInFrame?: string;
}
interface Vector {
  id: string;
  name: string;
  kind: 'apdu' | 'serial-frame' | 'sequence';
  direction?: string;
  status: 'ok' | 'error';
  hex: string | string[];
  decoded?: VDecoded;
  steps?: { direction: string; hex: string; decoded?: VDecoded }[];
}

const file = JSON.parse(readFileSync(new URL('../vectors/zvt.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
};
const vectors = file.vectors;
const H = (b: Buffer): string => b.toString('hex').toUpperCase();

function tlvShape(nodes: readonly TlvNode[]): VTlv[] {
  return nodes.map((n) =>
    n.children ? { tag: n.tag, items: tlvShape(n.children) } : { tag: n.tag, hex: H(n.value) },
  );
}

function vTlvShape(items: readonly VTlv[]): VTlv[] {
  return items.map((i) =>
    i.items ? { tag: i.tag, items: vTlvShape(i.items) } : { tag: i.tag, hex: i.hex ?? '' },
  );
}

/** Decodes like a receiver: the Status-Enquiry completion layout where the vector shows one. */
function decodeAs(apdu: Buffer, d: VDecoded | undefined, direction?: string): ZvtMessage {
  const after = d?.fields?.some((f) => f.name === 'terminal-status-code') ? '05 01' : undefined;
  const lenient = d !== undefined && d.bitmaps === null;
  return decodeMessage(apdu, {
    ...(after ? { after } : {}),
    ...(direction === 'ECR->PT' || direction === 'PT->ECR' ? { direction } : {}),
    lenient,
  });
}

function checkAgainst(m: ZvtMessage, d: VDecoded): void {
  expect(hex2(m.cls)).toBe(d.class);
  expect(hex2(m.ins)).toBe(d.instr);
  if (d.fields) {
    const mine = [...m.fields.map((f) => H(f.value)), ...(m.text ? [H(m.text)] : [])];
    // An empty print-line text is listed as a field with no bytes: the same block.
    const theirs = d.fields
      .map((f) => f.hex ?? H(Buffer.from(f.text ?? '', 'latin1')))
      .filter((h) => h !== '');
    expect(mine).toEqual(theirs);
  }
  if (Array.isArray(d.bitmaps)) {
    expect(m.bmps.map((b) => [hex2(b.bmp), H(b.value)])).toEqual(d.bitmaps.map((b) => [b.bmp, b.hex]));
    for (const b of d.bitmaps) {
      if (!b.tlv) continue;
      const mine = m.bmps.find((x) => hex2(x.bmp) === b.bmp)!;
      expect(tlvShape(decodeTlv(mine.value))).toEqual(vTlvShape(b.tlv));
    }
  }
}

describe('golden vectors (test/vectors/zvt.json)', () => {
  it('the file is there and holds ok and error vectors of every kind', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(80);
    for (const kind of ['apdu', 'serial-frame', 'sequence'])
      expect(vectors.some((v) => v.kind === kind)).toBe(true);
  });

  const ok = vectors.filter((v) => v.status === 'ok');
  const frames = ok.filter((v) => v.kind === 'serial-frame');

  it.each(frames.map((v) => [v.id, v] as const))(
    'serial frame %s: CRC matches, unframes and reframes exactly',
    (_id, v) => {
      const wire = Buffer.from(v.hex as string, 'hex');
      const apdu = decodeFrame(wire);
      expect(H(frameCrc(apdu))).toBe(v.decoded!.crcBytesInFrame);
      expect(H(encodeFrame(apdu))).toBe(v.hex);
      const m = decodeAs(apdu, v.decoded!.apdu, v.direction);
      checkAgainst(m, v.decoded!.apdu!);
      expect(H(encodeMessage(m))).toBe(H(apdu));
    },
  );

  const apdus = ok.filter((v) => v.kind === 'apdu');
  it.each(apdus.map((v) => [v.id, v] as const))(
    'APDU %s: decodes as listed and re-encodes exactly',
    (_id, v) => {
      const wire = Buffer.from(v.hex as string, 'hex');
      const a = decodeApdu(wire);
      expect(H(encodeApdu(a))).toBe(v.hex);
      if (v.decoded?.extendedLength !== undefined)
        expect(a.extended === true || a.data.length > 254).toBe(v.decoded.extendedLength);
      const m = decodeAs(wire, v.decoded, v.direction);
      checkAgainst(m, v.decoded!);
      expect(H(encodeMessage(m))).toBe(v.hex);
      for (const b of m.bmps.filter((x) => x.bmp === 0x06))
        expect(H(encodeTlv(decodeTlv(b.value)))).toBe(H(b.value));
    },
  );

  const sequences = ok.filter((v) => v.kind === 'sequence');
  it.each(sequences.map((v) => [v.id, v] as const))('sequence %s: every step round-trips', (_id, v) => {
    let after: string | undefined;
    for (const step of v.steps!) {
      const wire = Buffer.from(step.hex, 'hex');
      const m = decodeMessage(wire, { direction: step.direction as 'ECR->PT', ...(after ? { after } : {}) });
      if (step.decoded) checkAgainst(m, step.decoded);
      expect(H(encodeMessage(m))).toBe(step.hex);
      if (step.direction === 'ECR->PT' && m.cls !== 0x80 && m.cls !== 0x84)
        after = step.hex.slice(0, 2) + ' ' + step.hex.slice(2, 4);
    }
  });

  const bad = vectors.filter((v) => v.status === 'error');
  it.each(bad.map((v) => [v.id, v] as const))(
    'error vector %s: strict decoding rejects it or reads it tolerantly',
    (id, v) => {
      const wire = Buffer.from(v.hex as string, 'hex');
      if (id === 'spec-intermediate-status-no-timeout-tlv') {
        // The spec's own example leaves out the timeout byte §3.7 requires; a tolerant reader accepts it.
        const m = decodeMessage(wire);
        expect(m.fields.map((f) => f.name)).toEqual(['intermediate-status']);
        expect(H(m.bmps[0]!.value)).toBe('1F7303000002');
        expect(H(encodeMessage(m))).toBe(v.hex);
        return;
      }
      let err: unknown;
      try {
        decodeMessage(wire);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ZvtError);
      expect((err as ZvtError).code).toMatch(/^bad_/);
      // The stream readers never throw on it.
      const r = new ApduReassembler(v.direction === 'ECR->PT' ? ECR_CLASSES : PT_CLASSES);
      expect(() => r.push(wire)).not.toThrow();
      expect(() => new FrameReader().push(encodeFrame(wire))).not.toThrow();
      // The data block with the length its bytes give: read leniently, any failure is a typed ZvtError.
      const header = wire[2] === 0xff ? 5 : 3;
      try {
        decodeMessage({ cls: wire[0]!, ins: wire[1]!, data: wire.subarray(header) }, { lenient: true });
      } catch (e) {
        expect(e).toBeInstanceOf(ZvtError);
      }
    },
  );

  it('text in print lines decodes in either character set (C4 is Ä only in Latin-1)', () => {
    const v = vectors.find((x) => x.id === 'portalum-print-line-with-tlv')!;
    const m = decodeMessage(Buffer.from(v.hex as string, 'hex'));
    expect(decodeText(m.text!, 'latin1')).toBe('** HÄNDLERBELEG **');
    expect(decodeText(m.text!, 'cp437')).toBe('** H─NDLERBELEG **');
  });
});
