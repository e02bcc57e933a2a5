import { createCipheriv, createDecipheriv } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SensitiveBytes } from '../../src/card/index.js';
import {
  CryptoError,
  DesKey,
  desCbcDecrypt,
  desCbcEncrypt,
  desEcbDecrypt,
  desEcbEncrypt,
  randomDesKeyBytes,
  withOddParity,
} from '../../src/crypto/index.js';
import { hex, seededRandom, toHex } from './helpers.js';

/** Reference: a fresh node context per call, key expanded by hand. */
function expand(key: Buffer): Buffer {
  if (key.length === 8) return Buffer.concat([key, key, key]);
  if (key.length === 16) return Buffer.concat([key, key.subarray(0, 8)]);
  return key;
}
function refCbc(key: Buffer, data: Buffer, iv: Buffer, decrypt = false): Buffer {
  const c = decrypt
    ? createDecipheriv('des-ede3-cbc', expand(key), iv)
    : createCipheriv('des-ede3-cbc', expand(key), iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}
function refEcb(key: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('des-ede3-ecb', expand(key), null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

const K8 = hex('0123456789ABCDEF');
const K16 = hex('0123456789ABCDEFFEDCBA9876543210');
const K24 = hex('0123456789ABCDEFFEDCBA987654321089ABCDEF01234567');

describe('DES / 3DES primitives', () => {
  it('encrypts and decrypts ECB for single, double and triple length keys', () => {
    const data = hex('4E6F77206973207468652074696D6520666F7220616C6C20');
    for (const key of [K8, K16, K24]) {
      const ct = desEcbEncrypt(key, data);
      expect(ct).toEqual(refEcb(key, data));
      expect(ct).not.toEqual(data);
      expect(desEcbDecrypt(key, ct)).toEqual(data);
    }
    // 3-key differs from 2-key, 2-key from single.
    expect(desEcbEncrypt(K24, data)).not.toEqual(desEcbEncrypt(K16, data));
    expect(desEcbEncrypt(K16, data)).not.toEqual(desEcbEncrypt(K8, data));
  });

  it('CBC with IV zero (default) and with an explicit IV matches a fresh node context', () => {
    const data = hex('4E6F77206973207468652074696D6520666F7220616C6C20');
    const iv = hex('1234567890ABCDEF');
    for (const key of [K8, K16, K24]) {
      expect(desCbcEncrypt(key, data)).toEqual(refCbc(key, data, Buffer.alloc(8)));
      expect(desCbcEncrypt(key, data, iv)).toEqual(refCbc(key, data, iv));
      expect(desCbcDecrypt(key, desCbcEncrypt(key, data, iv), iv)).toEqual(data);
    }
  });

  it('a long-lived DesKey gives the same results as fresh contexts across interleaved calls', () => {
    const rnd = seededRandom('des interleave');
    for (const key of [K8, K16, K24, randomDesKeyBytes(16)]) {
      const k = DesKey.from(key);
      for (let i = 0; i < 150; i++) {
        const data = rnd.bytes(8 * (1 + rnd.int(30)));
        const iv = rnd.int(2) ? rnd.bytes(8) : Buffer.alloc(8);
        switch (rnd.int(5)) {
          case 0:
            expect(k.encryptCbc(data, iv)).toEqual(refCbc(key, data, iv));
            break;
          case 1:
            expect(k.cbcMac(data)).toEqual(refCbc(key, data, Buffer.alloc(8)).subarray(-8));
            break;
          case 2:
            expect(k.encryptEcb(data)).toEqual(refEcb(key, data));
            break;
          case 3:
            expect(k.decryptEcb(refEcb(key, data))).toEqual(data);
            break;
          default:
            expect(k.decryptCbc(refCbc(key, data, iv), iv)).toEqual(data);
        }
      }
    }
  });

  it('does not modify its inputs', () => {
    const data = hex('00112233445566778899AABBCCDDEEFF');
    const copy = Buffer.from(data);
    const k = DesKey.from(K16);
    k.cbcMac(data);
    k.encryptCbc(data, hex('FFFFFFFFFFFFFFFF'));
    k.encryptEcb(data);
    expect(data).toEqual(copy);
  });

  it('takes keys as SensitiveBytes and copies Buffer keys', () => {
    const key = Buffer.from(K16);
    const k = DesKey.from(key);
    const block = hex('0000000000000000');
    const before = k.encryptEcb(block);
    key.fill(0); // the caller wipes its copy
    expect(k.encryptEcb(block)).toEqual(before);
    expect(DesKey.from(SensitiveBytes.from(K16, 'key')).encryptEcb(block)).toEqual(before);
    expect(toHex(before)).toBe('08D7B4FB629D0885');
  });

  it('leftHalf is K1 as single DES', () => {
    expect(DesKey.from(K16).leftHalf().encryptEcb(Buffer.alloc(8))).toEqual(
      desEcbEncrypt(K8, Buffer.alloc(8)),
    );
    const single = DesKey.from(K8);
    expect(single.leftHalf()).toBe(single);
  });

  it('rejects bad key lengths and partial blocks with typed errors', () => {
    for (const n of [0, 7, 9, 15, 17, 23, 25, 32]) {
      expect(() => DesKey.from(Buffer.alloc(n))).toThrowError(
        expect.objectContaining({ code: 'bad_key_length', actual: n }),
      );
    }
    const k = DesKey.from(K8);
    for (const n of [0, 1, 7, 9, 15]) {
      expect(() => k.encryptEcb(Buffer.alloc(n))).toThrowError(
        expect.objectContaining({ code: 'bad_block' }),
      );
      expect(() => k.encryptCbc(Buffer.alloc(n))).toThrowError(
        expect.objectContaining({ code: 'bad_block' }),
      );
      expect(() => k.decryptEcb(Buffer.alloc(n))).toThrowError(
        expect.objectContaining({ code: 'bad_block' }),
      );
    }
    expect(() => k.encryptCbc(Buffer.alloc(8), Buffer.alloc(7))).toThrowError(CryptoError);
    // A failed call leaves the chaining state intact.
    expect(k.cbcMac(hex('4E6F772069732074'))).toEqual(refCbc(K8, hex('4E6F772069732074'), Buffer.alloc(8)));
  });

  it('never prints key bytes', () => {
    const k = DesKey.from(K16, 'mak');
    const texts = [
      String(k),
      `${k}`,
      JSON.stringify({ k }),
      inspect(k),
      inspect({ nested: { k } }, { depth: 5 }),
    ];
    for (const t of texts) {
      expect(t).toContain('***');
      expect(t.toUpperCase()).not.toContain('0123456789ABCDEF');
      expect(t).not.toMatch(/01 23 45 67/);
    }
  });

  it('destroy makes the key unusable', () => {
    const k = DesKey.from(K8, 'pik');
    k.destroy();
    expect(k.destroyed).toBe(true);
    expect(() => k.encryptEcb(Buffer.alloc(8))).toThrowError(
      expect.objectContaining({ code: 'key_destroyed', key: 'pik' }),
    );
  });

  it('sets odd parity and makes random keys of the asked length with distinct halves', () => {
    expect(toHex(withOddParity(hex('0022446688AACCEE')))).toBe('0123456789ABCDEF');
    expect(toHex(withOddParity(hex('0123456789ABCDEF')))).toBe('0123456789ABCDEF');
    for (const len of [8, 16, 24] as const) {
      const key = randomDesKeyBytes(len);
      expect(key).toHaveLength(len);
      for (const b of key) {
        let ones = 0;
        for (let v = b; v; v >>= 1) ones += v & 1;
        expect(ones % 2).toBe(1);
      }
      if (len > 8) expect(key.subarray(0, 8)).not.toEqual(key.subarray(8, 16));
    }
  });
});
