/** Every vector of test/vectors/mac.json, read with the file's own conventions. */
import { describe, expect, it } from 'vitest';
import {
  buildPinBlockIso0,
  cupEcbMac,
  cupEcbMacTrace,
  desEcbDecrypt,
  desEcbEncrypt,
  encryptPinBlockIso0,
  keyCheckValue,
  tdesCbcMac,
  x919Mac,
  x99Mac,
  decryptPinBlockIso0,
  decodePinBlockIso0,
  padIso9797Method1,
} from '../../src/crypto/index.js';
import { hex, readVectors, toHex } from './helpers.js';

interface MacVector {
  id: string;
  algorithm: string;
  keyHex?: string;
  dataHex?: string;
  dataAscii?: string;
  paddedDataHex?: string;
  expectedHex: string;
  macAscii?: string;
  f64Hex?: string;
  macInputFrom?: { vector: string; range: string };
  intermediate?: Record<string, string>;
  encryptedZerosHex?: string;
  kcv3?: string;
  kcv4?: string;
  pin?: string;
  pan?: string;
  pinField?: string;
  panField?: string;
}

interface CupVector {
  id: string;
  framing: { lengthHeader: string; tpdu: string; header: string };
  hex: string;
  fields: Record<string, string>;
}

const macFile = readVectors<{ conventions: Record<string, string>; vectors: MacVector[] }>('mac.json');
const cupFile = readVectors<{ vectors: CupVector[] }>('cup-pos.json');

/** What each vector id family is, so a vector of an unknown family fails instead of being skipped. */
function family(v: MacVector): string {
  const prefix = ['des-ecb', 'x9.19', 'x9.9', 'tdes-cbc-mac', 'cup-ecb-mac', 'kcv', 'pinblock-iso0'].find(
    (p) => v.id.startsWith(p),
  );
  if (!prefix) throw new Error(`vector ${v.id} has no handler`);
  if (prefix === 'pinblock-iso0') return v.keyHex ? 'pinblock-enc' : 'pinblock-clear';
  return prefix;
}

/** MAC input per the vector's macInputFrom.range: MTI..F63 of the cup-pos.json frame. */
function macInputFromFrame(v: MacVector): Buffer {
  const ref = v.macInputFrom;
  if (!ref) throw new Error(`${v.id}: no macInputFrom`);
  const [file, id] = ref.vector.split('#');
  expect(file).toBe('cup-pos.json');
  const frame = cupFile.vectors.find((c) => c.id === id);
  if (!frame) throw new Error(`${v.id}: ${ref.vector} not found`);
  const bytes = hex(frame.hex);
  const lengthHeader = frame.framing.lengthHeader === '2-byte-binary' ? 2 : 0;
  // The range text states exactly this: [2-byte length +] 5-byte TPDU + 6-byte header skipped, F64 dropped.
  expect(ref.range).toContain('skip');
  expect(ref.range.includes('2-byte length')).toBe(lengthHeader === 2);
  expect(ref.range).toContain('drop the 8-byte F64');
  if (lengthHeader) expect(bytes.readUInt16BE(0)).toBe(bytes.length - 2);
  const start = lengthHeader + 5 + 6;
  expect(toHex(bytes.subarray(lengthHeader, lengthHeader + 5))).toBe(frame.framing.tpdu);
  expect(toHex(bytes.subarray(lengthHeader + 5, start))).toBe(frame.framing.header);
  const f64 = frame.fields['64'];
  expect(f64).toBeDefined();
  expect(toHex(bytes.subarray(bytes.length - 8))).toBe(f64);
  return bytes.subarray(start, bytes.length - 8);
}

describe('mac.json conventions', () => {
  it('single DES is des-ede3 with K1|K1|K1 and a 16-byte key is K1|K2|K1', () => {
    expect(macFile.conventions.singleDes).toMatch(/K1\|K1\|K1/);
    const k1 = hex('0123456789ABCDEF');
    const k2 = hex('FEDCBA9876543210');
    const block = hex('4E6F772069732074');
    expect(desEcbEncrypt(Buffer.concat([k1, k1, k1]), block)).toEqual(desEcbEncrypt(k1, block));
    expect(desEcbEncrypt(Buffer.concat([k1, k2, k1]), block)).toEqual(
      desEcbEncrypt(Buffer.concat([k1, k2]), block),
    );
  });
});

describe('mac.json vectors', () => {
  const counts = new Map<string, number>();
  for (const v of macFile.vectors) counts.set(family(v), (counts.get(family(v)) ?? 0) + 1);

  it('has a handler for every vector (18, in the expected families)', () => {
    expect(macFile.vectors).toHaveLength(18);
    expect(Object.fromEntries(counts)).toEqual({
      'des-ecb': 1,
      'x9.9': 2,
      'x9.19': 2,
      'tdes-cbc-mac': 1,
      'cup-ecb-mac': 4,
      kcv: 4,
      'pinblock-clear': 2,
      'pinblock-enc': 2,
    });
  });

  for (const v of macFile.vectors) {
    it(`${v.id}`, () => {
      const key = v.keyHex ? hex(v.keyHex) : undefined;
      const need = <T>(x: T | undefined, what: string): T => {
        if (x === undefined) throw new Error(`${v.id}: missing ${what}`);
        return x;
      };
      let data = v.dataHex !== undefined ? hex(v.dataHex) : undefined;
      if (v.dataAscii !== undefined) expect(toHex(Buffer.from(v.dataAscii, 'latin1'))).toBe(v.dataHex);
      if (v.paddedDataHex !== undefined)
        expect(toHex(padIso9797Method1(need(data, 'data')))).toBe(v.paddedDataHex);

      switch (family(v)) {
        case 'des-ecb': {
          const ct = desEcbEncrypt(need(key, 'key'), need(data, 'data'));
          expect(toHex(ct)).toBe(v.expectedHex);
          expect(desEcbDecrypt(need(key, 'key'), ct)).toEqual(data);
          break;
        }
        case 'x9.9':
          expect(toHex(x99Mac(need(key, 'key'), need(data, 'data')))).toBe(v.expectedHex);
          break;
        case 'x9.19':
          expect(toHex(x919Mac(need(key, 'key'), need(data, 'data')))).toBe(v.expectedHex);
          break;
        case 'tdes-cbc-mac':
          expect(toHex(tdesCbcMac(need(key, 'key'), need(data, 'data')))).toBe(v.expectedHex);
          break;
        case 'cup-ecb-mac': {
          if (v.macInputFrom) {
            const fromFrame = macInputFromFrame(v);
            expect(toHex(fromFrame)).toBe(v.dataHex);
            data = fromFrame;
          }
          const mac = cupEcbMac(need(key, 'key'), need(data, 'data'));
          expect(toHex(mac)).toBe(v.expectedHex);
          expect(toHex(mac)).toBe(v.f64Hex);
          expect(mac.toString('latin1')).toBe(v.macAscii);
          const trace = cupEcbMacTrace(need(key, 'key'), need(data, 'data'));
          const im = need(v.intermediate, 'intermediate');
          expect(toHex(trace.xorBlock)).toBe(im.xorBlock);
          expect(toHex(trace.hexAscii)).toBe(im.hexAscii);
          expect(toHex(trace.e1)).toBe(im.e1);
          expect(toHex(trace.e1XorSecondHalf)).toBe(im.e1XorSecondHalf);
          expect(toHex(trace.e2)).toBe(im.e2);
          expect(trace.mac.toString('latin1')).toBe(im.macAscii);
          expect(toHex(trace.mac)).toBe(im.f64Hex);
          break;
        }
        case 'kcv': {
          expect(v.dataHex).toBe('0000000000000000');
          expect(toHex(keyCheckValue(need(key, 'key'), 8))).toBe(v.expectedHex);
          expect(toHex(keyCheckValue(need(key, 'key'), 8))).toBe(v.encryptedZerosHex);
          expect(toHex(keyCheckValue(need(key, 'key'), 3))).toBe(v.kcv3);
          expect(toHex(keyCheckValue(need(key, 'key'), 4))).toBe(v.kcv4);
          expect(toHex(keyCheckValue(need(key, 'key')))).toBe(v.kcv4);
          break;
        }
        case 'pinblock-clear': {
          const block = buildPinBlockIso0(need(v.pin, 'pin'), need(v.pan, 'pan'));
          expect(toHex(block.reveal())).toBe(v.expectedHex);
          // PIN field XOR PAN field, as the vector spells them out.
          const pinField = hex(need(v.pinField, 'pinField'));
          const panField = hex(need(v.panField, 'panField'));
          expect(toHex(pinField.map((b, i) => b ^ (panField[i] as number)))).toBe(v.expectedHex);
          expect(decodePinBlockIso0(block, need(v.pan, 'pan')).reveal().toString('latin1')).toBe(v.pin);
          break;
        }
        case 'pinblock-enc': {
          const enc = encryptPinBlockIso0(need(v.pin, 'pin'), need(v.pan, 'pan'), need(key, 'key'));
          expect(toHex(enc.reveal())).toBe(v.expectedHex);
          const pin = decryptPinBlockIso0(hex(v.expectedHex), need(v.pan, 'pan'), need(key, 'key'));
          expect(pin.reveal().toString('latin1')).toBe(v.pin);
          break;
        }
        default:
          throw new Error(`unhandled ${v.id}`);
      }
    });
  }
});
