/** SM4 / SM3 (GM/T 0002-2012, GM/T 0004-2012) key schemes: every vector of test/vectors/gm/sm4-sm3.json. */
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  gmSupport,
  requireGm,
  sm3,
  sm4CbcMac,
  sm4CupMac,
  sm4CupMacTrace,
  sm4EcbDecrypt,
  sm4EcbEncrypt,
  sm4KeyCheckValue,
  sm4KeyCheckValueHex,
} from '../../src/crypto/index.js';
import { hex, readVectors, seededRandom, toHex } from './helpers.js';

interface GmVector {
  id: string;
  algorithm: string;
  keyHex?: string;
  dataHex?: string;
  iterations?: number;
  expectedHex: string;
  xorBlockHex?: string;
  hexAscii?: string;
  macAscii?: string;
  source: string;
  published?: { value?: string; xorBlockHex?: string; matches: boolean };
}

const file = readVectors<{ vectors: GmVector[] }>('gm/sm4-sm3.json');
const byId = (id: string): GmVector => {
  const v = file.vectors.find((x) => x.id === id);
  if (!v) throw new Error(`no vector ${id}`);
  return v;
};
const support = gmSupport();
console.log(`GM support: OpenSSL ${support.openssl}, sm4-ecb ${support.sm4}, sm3 ${support.sm3}`);

describe('gm support', () => {
  it('reports what this OpenSSL offers (Node 20 bundles OpenSSL 3 with both)', () => {
    expect(typeof support.openssl).toBe('string');
    expect(support).toEqual(gmSupport());
    expect(support.sm4).toBe(true);
    expect(support.sm3).toBe(true);
  });

  it('requireGm throws a typed bad_algorithm error naming the OpenSSL version when SM4 or SM3 is missing', () => {
    const none = { sm4: false, sm3: false, openssl: '3.9.9' };
    const e = captureError(() => requireGm('sm4', none));
    expect(e.code).toBe('bad_algorithm');
    expect(e.reason).toBe('unsupported');
    expect(e.message).toContain(
      "this Node's OpenSSL (3.9.9) has no sm4-ecb: SM4 key schemes need an OpenSSL build with SM4",
    );
    expect(captureError(() => requireGm('sm3', none)).message).toContain('has no sm3');
    expect(() => requireGm('sm4', { ...none, sm4: true })).not.toThrow();
  });
});

describe('SM4 ECB (GM/T 0002-2012 appendix A)', () => {
  it('example 1: one encryption, and decryption back', () => {
    const v = byId('sm4-gmt0002-example1');
    expect(v.published?.value).toBe('681EDF34D206965E86B3E94F536E4246');
    const c = sm4EcbEncrypt(hex(v.keyHex!), hex(v.dataHex!));
    expect(toHex(c)).toBe(v.expectedHex);
    expect(toHex(sm4EcbDecrypt(hex(v.keyHex!), c))).toBe(v.dataHex);
  });

  // About 4.5 s through sm4EcbEncrypt on the machine this was written on (a fresh OpenSSL context per
  // call); well under the 60 s test timeout.
  it('example 2: 1,000,000 encryptions', () => {
    const v = byId('sm4-gmt0002-example2-1e6');
    expect(v.published?.value).toBe('595298C7C6FD271F0402F804C33D3F66');
    const key = hex(v.keyHex!);
    let x: Buffer = hex(v.dataHex!);
    for (let i = 0; i < v.iterations!; i++) x = sm4EcbEncrypt(key, x);
    expect(toHex(x)).toBe(v.expectedHex);
  });

  it('ECB is block by block and round-trips random multi-block data', () => {
    const rnd = seededRandom('sm4 ecb');
    const key = rnd.bytes(16);
    const data = rnd.bytes(16 * (1 + rnd.int(8)));
    const c = sm4EcbEncrypt(key, data);
    expect(c.length).toBe(data.length);
    for (let i = 0; i < data.length; i += 16) {
      expect(toHex(c.subarray(i, i + 16))).toBe(toHex(sm4EcbEncrypt(key, data.subarray(i, i + 16))));
    }
    expect(toHex(sm4EcbDecrypt(key, c))).toBe(toHex(data));
  });

  it('rejects bad key and data lengths with typed errors that carry no key bytes', () => {
    const k = hex('0123456789ABCDEFFEDCBA9876543210');
    const shortKey = captureError(() => sm4EcbEncrypt(k.subarray(0, 8), Buffer.alloc(16)));
    expect(shortKey.code).toBe('bad_key_length');
    expect(shortKey.expected).toBe(16);
    expect(shortKey.actual).toBe(8);
    expect(shortKey.message).not.toMatch(/0123456789/i);
    expect(captureError(() => sm4EcbEncrypt(Buffer.alloc(24), Buffer.alloc(16))).code).toBe('bad_key_length');
    for (const n of [0, 8, 15, 17, 40]) {
      const e = captureError(() => sm4EcbEncrypt(k, Buffer.alloc(n)));
      expect(e.code).toBe('bad_block');
      expect(e.actual).toBe(n);
      expect(captureError(() => sm4EcbDecrypt(k, Buffer.alloc(n))).code).toBe('bad_block');
    }
  });
});

describe('SM3 (GM/T 0004-2012 appendix A)', () => {
  it.each(['sm3-gmt0004-abc', 'sm3-gmt0004-abcd16'])('%s', (id) => {
    const v = byId(id);
    expect(v.published?.value).toBe(v.expectedHex);
    const d = sm3(hex(v.dataHex!));
    expect(d.length).toBe(32);
    expect(toHex(d)).toBe(v.expectedHex);
  });

  it('the published digests themselves', () => {
    expect(toHex(sm3(Buffer.from('abc')))).toBe(
      '66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0',
    );
    expect(toHex(sm3(Buffer.from('abcd'.repeat(16))))).toBe(
      'DEBE9FF92275B8A138604889C18E5A4D6FDB70E5387E5765293DCBA39C0C5732',
    );
  });
});

describe('SM4 key check value', () => {
  it('is the leftmost bytes of SM4_K(16 zero bytes)', () => {
    const v = byId('sm4-kcv-gmt0002-key');
    const k = hex(v.keyHex!);
    expect(sm4KeyCheckValueHex(k)).toBe(v.expectedHex);
    expect(toHex(sm4KeyCheckValue(k, 16))).toBe(toHex(sm4EcbEncrypt(k, Buffer.alloc(16))));
    expect(toHex(sm4KeyCheckValue(k, 3))).toBe(v.expectedHex.slice(0, 6));
    expect(captureError(() => sm4KeyCheckValue(k, 17)).code).toBe('bad_data');
    expect(captureError(() => sm4KeyCheckValue(k, 0)).code).toBe('bad_data');
  });
});

describe('UnionPay POS SM4 MAC', () => {
  it.each(['sm4-cup-mac-blog-example', 'sm4-cup-mac-pos-0200'])('%s', (id) => {
    const v = byId(id);
    const t = sm4CupMacTrace(hex(v.keyHex!), hex(v.dataHex!));
    expect(toHex(t.xorBlock)).toBe(v.xorBlockHex);
    expect(t.hexAscii.toString('latin1')).toBe(v.hexAscii);
    expect(t.mac.toString('latin1')).toBe(v.macAscii);
    expect(toHex(sm4CupMac(hex(v.keyHex!), hex(v.dataHex!)))).toBe(v.expectedHex);
    if (v.published?.xorBlockHex) expect(toHex(t.xorBlock)).toBe(v.published.xorBlockHex);
  });

  it('follows the steps: XOR 16-byte blocks, hex-expand, SM4, XOR second half, SM4, 8 hex characters', () => {
    const rnd = seededRandom('sm4 cup mac');
    const key = rnd.bytes(16);
    const data = rnd.bytes(1 + rnd.int(200));
    const padded = Buffer.alloc(Math.ceil(data.length / 16) * 16);
    data.copy(padded);
    const r = Buffer.alloc(16);
    for (let i = 0; i < padded.length; i++) r[i % 16] = (r[i % 16] as number) ^ (padded[i] as number);
    const h = Buffer.from(toHex(r), 'latin1');
    const e1 = sm4EcbEncrypt(key, h.subarray(0, 16));
    const e2 = sm4EcbEncrypt(key, Buffer.from(e1.map((b, i) => b ^ (h[16 + i] as number))));
    const mac = sm4CupMac(key, data);
    expect(mac.toString('latin1')).toBe(toHex(e2).slice(0, 8));
    expect(mac.toString('latin1')).toMatch(/^[0-9A-F]{8}$/);
    // Trailing zero bytes up to the block boundary do not change it (zero padding).
    expect(toHex(sm4CupMac(key, padded))).toBe(toHex(mac));
  });

  it('needs a 16-byte MAK', () => {
    const e = captureError(() => sm4CupMac(Buffer.alloc(8), Buffer.from('x')));
    expect(e.code).toBe('bad_key_length');
    expect(e.key).toBe('mak');
  });
});

describe('SM4 CBC-MAC (ISO/IEC 9797-1 algorithm 1, derived)', () => {
  it('matches the vector and a chain of single-block ECB calls', () => {
    const v = byId('sm4-cbc-mac-gmt-key');
    const key = hex(v.keyHex!);
    const data = hex(v.dataHex!);
    expect(toHex(sm4CbcMac(key, data))).toBe(v.expectedHex);
    const rnd = seededRandom('sm4 cbc mac');
    for (const n of [0, 1, 15, 16, 17, 33 + rnd.int(100)]) {
      const d = rnd.bytes(n);
      const p = Buffer.alloc(Math.max(16, Math.ceil(n / 16) * 16));
      d.copy(p);
      let c: Buffer = Buffer.alloc(16);
      for (let i = 0; i < p.length; i += 16) {
        c = sm4EcbEncrypt(key, Buffer.from(c.map((b, j) => b ^ (p[i + j] as number))));
      }
      expect(toHex(sm4CbcMac(key, d)), `length ${n}`).toBe(toHex(c));
    }
    // Independent of our code path: OpenSSL sm4-cbc directly.
    const raw = createCipheriv('sm4-cbc', key, Buffer.alloc(16)).setAutoPadding(false).update(data);
    expect(toHex(sm4CbcMac(key, data))).toBe(toHex(raw.subarray(raw.length - 16)));
  });
});

function captureError(fn: () => unknown): CryptoError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CryptoError) return e;
    throw e;
  }
  throw new Error('expected a CryptoError');
}
