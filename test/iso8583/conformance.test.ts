import { describe, expect, it } from 'vitest';
import { Pan, SensitiveBytes } from '../../src/card/index.js';
import {
  Composite,
  Iso8583Error,
  dialectFraming,
  encodeText,
  frame,
  loadDialect,
  unframe,
  type FieldValue,
  type Dialect,
} from '../../src/iso8583/index.js';
import { codecVectors, dialectFor, type CodecVector } from './vectors.js';

/** The vector's representation of a decoded value: hex for hexFields, else the text/digits. */
function asVectorForm(d: Dialect, mti: string, n: number, value: FieldValue, hex: boolean): string {
  const spec = d.fieldSpec(mti, n)!;
  let bytes: Buffer | undefined;
  let text: string | undefined;
  if (value instanceof Pan) text = value.reveal();
  else if (value instanceof SensitiveBytes) {
    if (spec.type === 'b') bytes = value.reveal();
    else text = value.reveal().toString('latin1');
  } else if (value instanceof Composite) text = value.wire;
  else if (Buffer.isBuffer(value)) bytes = value;
  else text = value;
  if (hex) {
    if (!bytes) bytes = spec.encoding === 'gbk' ? encodeText(text!, 'gbk')! : Buffer.from(text!, 'latin1');
    return bytes.toString('hex').toUpperCase();
  }
  if (bytes) return bytes.toString('latin1');
  // jPOS shows the track 2 separator nibble D as "="; we keep the nibble as D.
  return text!;
}

function framingOf(d: Dialect, v: CodecVector) {
  return dialectFraming(d, {
    lengthHeader: v.framing.lengthHeader,
    tpdu: v.framing.tpdu,
    header: v.framing.header,
  });
}

for (const file of ['cup-pos.json', 'iso87.json'] as const) {
  describe(`conformance: ${file}`, () => {
    for (const v of codecVectors(file)) {
      const d = loadDialect(dialectFor(v));
      const bytes = Buffer.from(v.hex, 'hex');
      if (v.expect === 'ok') {
        it(`${v.id} decodes to the listed fields and re-encodes byte-exactly`, () => {
          const { body, tpdu, header } = unframe(bytes, framingOf(d, v));
          if (v.framing.tpdu) expect(tpdu!.raw.toString('hex').toUpperCase()).toBe(v.framing.tpdu);
          if (v.framing.header) expect(header!.raw.toString('hex').toUpperCase()).toBe(v.framing.header);
          const msg = d.unpack(body);
          expect(msg.mti).toBe(v.fields!['0']);
          const expected = Object.keys(v.fields!)
            .filter((k) => k !== '0')
            .map(Number)
            .sort((a, b) => a - b);
          expect(Object.keys(msg.fields).map(Number)).toEqual(expected);
          for (const n of expected) {
            let want = v.fields![String(n)]!;
            const spec = d.fieldSpec(msg.mti, n)!;
            if (spec.type === 'z' && spec.encoding === 'bcd') want = want.replace(/=/g, 'D');
            expect(
              asVectorForm(d, msg.mti, n, msg.fields[n]!, v.hexFields?.includes(String(n)) ?? false),
              `field ${n}`,
            ).toBe(want);
          }
          // Card data comes back wrapped.
          if (msg.fields[2] !== undefined) expect(msg.fields[2]).toBeInstanceOf(Pan);
          for (const s of [14, 35, 36, 45, 52])
            if (msg.fields[s] !== undefined) expect(msg.fields[s]).toBeInstanceOf(SensitiveBytes);
          const repacked = d.pack(msg);
          expect(repacked.toString('hex').toUpperCase()).toBe(body.toString('hex').toUpperCase());
          const reframed = frame(repacked, framingOf(d, v));
          expect(reframed.equals(bytes)).toBe(true);
        });
      } else {
        it(`${v.id} is rejected as ${String(v.error!['kind'])}`, () => {
          const code = String(v.error!['kind']).replace(/-/g, '_');
          let err: unknown;
          try {
            const { body } = unframe(bytes, framingOf(d, v));
            d.unpack(body);
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(Iso8583Error);
          const e = err as Iso8583Error;
          expect(e.code).toBe(code);
          if (v.error!['field'] !== undefined) expect(e.field).toBe(v.error!['field']);
          if (v.error!['offsetOfFieldData'] !== undefined)
            expect(e.offset).toBe(v.error!['offsetOfFieldData']);
          if (v.error!['declaredLength'] !== undefined) expect(e.expected).toBe(v.error!['declaredLength']);
          if (v.error!['available'] !== undefined) expect(e.actual).toBe(v.error!['available']);
          if (v.error!['declared'] !== undefined) expect(e.expected).toBe(v.error!['declared']);
        });
      }
    }
  });
}
