import { describe, expect, it } from 'vitest';
import {
  computeMac,
  cupEcbMac,
  cupEcbMacTrace,
  DesKey,
  desEcbDecrypt,
  desEcbEncrypt,
  iso9797Alg1Mac,
  padIso9797Method1,
  tdesCbcMac,
  x919Mac,
  x99Mac,
} from '../../src/crypto/index.js';
import { hex, seededRandom, toHex } from './helpers.js';

const K = hex('0123456789ABCDEF');
const K2 = hex('FEDCBA9876543210');
const KK = Buffer.concat([K, K2]);

function xor8(a: Buffer, b: Uint8Array): Buffer {
  return Buffer.from(a.map((x, i) => x ^ (b[i] as number)));
}

/** ISO 9797-1 algorithms 1 and 3 from single-block ECB calls only (independent of the CBC path). */
function refAlg1(key: Buffer, data: Buffer): Buffer {
  const p = padIso9797Method1(data);
  let h: Buffer = Buffer.alloc(8);
  for (let i = 0; i < p.length; i += 8) h = desEcbEncrypt(key, xor8(h, p.subarray(i, i + 8)));
  return h;
}
function refAlg3(k: Buffer, k2: Buffer, data: Buffer): Buffer {
  const h = refAlg1(k, data);
  return desEcbEncrypt(k, desEcbDecrypt(k2, h));
}

describe('ISO 9797-1 padding method 1', () => {
  it('pads with zeros to a multiple of 8, adds nothing when aligned, one block for empty data', () => {
    expect(toHex(padIso9797Method1(hex('01')))).toBe('0100000000000000');
    const aligned = hex('0102030405060708');
    expect(padIso9797Method1(aligned)).toBe(aligned);
    expect(toHex(padIso9797Method1(Buffer.alloc(0)))).toBe('0000000000000000');
    expect(padIso9797Method1(Buffer.alloc(9))).toHaveLength(16);
  });
});

describe('MACs against step-by-step references', () => {
  const rnd = seededRandom('mac reference');
  const lengths = [0, 1, 7, 8, 9, 16, 22, 24, 63, 200, 201];

  it("X9.19 (algorithm 3) equals CBC-DES with K then D(K'), E(K), for many lengths", () => {
    for (const n of lengths) {
      const data = rnd.bytes(n);
      expect(x919Mac(KK, data)).toEqual(refAlg3(K, K2, data));
    }
  });

  it('X9.9 and the 3DES CBC-MAC equal chained ECB', () => {
    for (const n of lengths) {
      const data = rnd.bytes(n);
      expect(x99Mac(K, data)).toEqual(refAlg1(K, data));
      expect(tdesCbcMac(KK, data)).toEqual(refAlg1(KK, data));
      expect(iso9797Alg1Mac(K, data)).toEqual(refAlg1(K, data));
    }
  });

  it("X9.19 with K = K' degenerates to X9.9, and differs from the 3DES CBC-MAC on multi-block data", () => {
    const data = rnd.bytes(40);
    expect(x919Mac(Buffer.concat([K, K]), data)).toEqual(x99Mac(K, data));
    expect(x919Mac(KK, data)).not.toEqual(tdesCbcMac(KK, data));
    // Single block: algorithm 3 and 3DES CBC-MAC coincide.
    const one = rnd.bytes(8);
    expect(x919Mac(KK, one)).toEqual(tdesCbcMac(KK, one));
  });

  it('cup-ecb fast path equals the step-by-step trace for many lengths and keys', () => {
    for (const key of [K, KK]) {
      const prepared = DesKey.from(key);
      for (const n of lengths) {
        const data = rnd.bytes(n);
        const mac = cupEcbMac(prepared, data);
        expect(mac).toEqual(cupEcbMacTrace(key, data).mac);
        expect(mac.toString('latin1')).toMatch(/^[0-9A-F]{8}$/);
      }
    }
  });

  it('cup-ecb: a 16-byte MAK K|K equals the 8-byte MAK K; trailing zero bytes do not change it (a known weakness)', () => {
    const data = rnd.bytes(37);
    expect(cupEcbMac(Buffer.concat([K, K]), data)).toEqual(cupEcbMac(K, data));
    expect(cupEcbMac(K, Buffer.concat([data, Buffer.alloc(3)]))).toEqual(cupEcbMac(K, data));
    const flipped = Buffer.from(data);
    flipped[5] = (flipped[5] as number) ^ 0x01;
    expect(cupEcbMac(K, flipped)).not.toEqual(cupEcbMac(K, data));
  });

  it('a prepared key gives the same MACs as raw bytes, repeatedly', () => {
    const prepared = DesKey.from(KK);
    const data = rnd.bytes(200);
    const expected = x919Mac(KK, data);
    for (let i = 0; i < 5; i++) {
      expect(x919Mac(prepared, data)).toEqual(expected);
      expect(computeMac('x9.19', prepared, data)).toEqual(expected);
      expect(computeMac('cup-ecb', prepared, data)).toEqual(cupEcbMac(KK, data));
      expect(computeMac('x9.9', prepared, data)).toEqual(tdesCbcMac(KK, data));
    }
  });

  it('rejects key lengths an algorithm does not take', () => {
    expect(() => x99Mac(KK, hex('00'))).toThrowError(
      expect.objectContaining({ code: 'bad_key_length', actual: 16 }),
    );
    expect(() => x919Mac(K, hex('00'))).toThrowError(
      expect.objectContaining({ code: 'bad_key_length', actual: 8 }),
    );
    expect(() => tdesCbcMac(K, hex('00'))).toThrowError(expect.objectContaining({ code: 'bad_key_length' }));
    expect(() => cupEcbMac(Buffer.alloc(24, 1), hex('00'))).toThrowError(
      expect.objectContaining({ code: 'bad_key_length' }),
    );
    expect(() => computeMac('nope' as never, K, hex('00'))).toThrowError(
      expect.objectContaining({ code: 'bad_algorithm' }),
    );
  });
});
