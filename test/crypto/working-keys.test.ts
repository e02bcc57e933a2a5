import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SensitiveBytes } from '../../src/card/index.js';
import {
  desEcbEncrypt,
  generateWorkingKeys,
  keyCheckValue,
  unwrapWorkingKeys,
  workingKeyLength,
  wrapWorkingKeys,
  type WorkingKeyLayout,
  type WorkingKeyName,
} from '../../src/crypto/index.js';
import { hex, toHex } from './helpers.js';
import { caught } from '../support/crypto-error.js';

const TMK16 = hex('0123456789ABCDEFFEDCBA9876543210');
const TMK8 = hex('2222222222222222');
const PIK8 = hex('1111111111111111');
const MAK8 = hex('0123456789ABCDEF');
const PIK16 = hex('89ABCDEF0123456776543210FEDCBA98');
const MAK16 = hex('0123456789ABCDEFFEDCBA9876543210');
const TDK16 = hex('FEDCBA98765432100123456789ABCDEF');

describe('field 62 layouts, built by hand', () => {
  it("'single': 24 bytes, PIK 8 + KCV 4, MAK 8 + KCV 4", () => {
    const f62 = Buffer.concat([
      desEcbEncrypt(TMK8, PIK8),
      keyCheckValue(PIK8, 4),
      desEcbEncrypt(TMK8, MAK8),
      keyCheckValue(MAK8, 4),
    ]);
    expect(f62).toHaveLength(24);
    expect(toHex(f62.subarray(20))).toBe('D5D44FF7'); // MAK 0123456789ABCDEF's KCV from mac.json
    const keys = unwrapWorkingKeys(TMK8, f62, 'single');
    expect(keys.pik.reveal()).toEqual(PIK8);
    expect(keys.mak.reveal()).toEqual(MAK8);
    expect(keys.tdk).toBeUndefined();
    expect(keys.kcv).toEqual({ pik: toHex(keyCheckValue(PIK8)), mak: 'D5D44FF7' });
    expect(wrapWorkingKeys(TMK8, { pik: PIK8, mak: MAK8 }, 'single')).toEqual(f62);
  });

  it("'double': 60 bytes, PIK/MAK/TDK 16 + KCV 4 each, MAK used as two-key 3DES", () => {
    const f62 = Buffer.concat([
      desEcbEncrypt(TMK16, PIK16),
      keyCheckValue(PIK16),
      desEcbEncrypt(TMK16, MAK16),
      keyCheckValue(MAK16),
      desEcbEncrypt(TMK16, TDK16),
      keyCheckValue(TDK16),
    ]);
    expect(f62).toHaveLength(60);
    expect(toHex(f62.subarray(36, 40))).toBe('08D7B4FB');
    const keys = unwrapWorkingKeys(TMK16, f62, 'double');
    expect(keys.pik.reveal()).toEqual(PIK16);
    expect(keys.mak.reveal()).toEqual(MAK16);
    expect(keys.tdk?.reveal()).toEqual(TDK16);
    expect(keys.kcv.mak).toBe('08D7B4FB');
    expect(keys.kcv.tdk).toBe(toHex(keyCheckValue(TDK16)));
    expect(wrapWorkingKeys(TMK16, { pik: PIK16, mak: MAK16, tdk: TDK16 }, 'double')).toEqual(f62);
    // 40 bytes: the same without the TDK.
    const short = unwrapWorkingKeys(TMK16, f62.subarray(0, 40), 'double');
    expect(short.tdk).toBeUndefined();
    expect(short.mak.reveal()).toEqual(MAK16);
    expect(wrapWorkingKeys(TMK16, { pik: PIK16, mak: MAK16 }, 'double')).toEqual(f62.subarray(0, 40));
  });

  it("'double-mak8': only the first 8 encrypted MAK bytes are used, single DES, KCV of that key", () => {
    const f62 = Buffer.concat([
      desEcbEncrypt(TMK16, PIK16),
      keyCheckValue(PIK16),
      desEcbEncrypt(TMK16, MAK8),
      hex('DEADBEEFDEADBEEF'), // second half of the slot: ignored
      keyCheckValue(MAK8),
      desEcbEncrypt(TMK16, TDK16),
      keyCheckValue(TDK16),
    ]);
    const keys = unwrapWorkingKeys(TMK16, f62, 'double-mak8');
    expect(keys.mak.reveal()).toEqual(MAK8);
    expect(keys.mak).toHaveLength(8);
    expect(keys.kcv.mak).toBe('D5D44FF7');
    // Read as 'double' the same bytes fail: the 16-byte MAK's KCV differs.
    expect(caught(() => unwrapWorkingKeys(TMK16, f62, 'double'))).toMatchObject({
      code: 'kcv_mismatch',
      key: 'mak',
    });
    // wrap sends the MAK as K|K, which a full double-length reader sees as the same single-DES key.
    const wrapped = wrapWorkingKeys(TMK16, { pik: PIK16, mak: MAK8, tdk: TDK16 }, 'double-mak8');
    expect(wrapped.subarray(28, 36)).toEqual(wrapped.subarray(20, 28));
    expect(unwrapWorkingKeys(TMK16, wrapped, 'double-mak8').mak.reveal()).toEqual(MAK8);
    const asDouble = unwrapWorkingKeys(TMK16, wrapped, 'double');
    expect(asDouble.mak.reveal()).toEqual(Buffer.concat([MAK8, MAK8]));
    expect(asDouble.kcv.mak).toBe(keys.kcv.mak);
  });

  it('reports key lengths per layout', () => {
    expect(workingKeyLength('single', 'mak')).toBe(8);
    expect(workingKeyLength('double', 'mak')).toBe(16);
    expect(workingKeyLength('double-mak8', 'mak')).toBe(8);
    expect(workingKeyLength('double-mak8', 'pik')).toBe(16);
    expect(workingKeyLength('single', 'tdk')).toBeUndefined();
  });
});

describe('wrap / unwrap round trip and KCV checks', () => {
  const cases: Array<[WorkingKeyLayout, Buffer, WorkingKeyName[]]> = [
    ['single', TMK8, ['pik', 'mak']],
    ['single', TMK16, ['pik', 'mak']],
    ['double', TMK16, ['pik', 'mak', 'tdk']],
    ['double-mak8', TMK16, ['pik', 'mak', 'tdk']],
  ];

  for (const [layout, tmk, names] of cases) {
    it(`${layout} with a ${tmk.length}-byte TMK: round trip, then each tampered KCV fails naming its key`, () => {
      const keys = generateWorkingKeys(layout);
      expect(Object.keys(keys).sort()).toEqual([...names].sort());
      const f62 = wrapWorkingKeys(tmk, keys, layout);
      const back = unwrapWorkingKeys(tmk, f62, layout);
      for (const n of names) {
        expect(back[n]?.reveal()).toEqual(keys[n]?.reveal());
        expect(back.kcv[n]).toBe(toHex(keyCheckValue(keys[n] as SensitiveBytes)));
      }
      const offsets: Record<WorkingKeyName, number> =
        layout === 'single' ? { pik: 8, mak: 20, tdk: -1 } : { pik: 16, mak: 36, tdk: 56 };
      for (const n of names) {
        const bad = Buffer.from(f62);
        bad[offsets[n] + 3] = (bad[offsets[n] + 3] as number) ^ 0x01;
        const err = caught(() => unwrapWorkingKeys(tmk, bad, layout));
        expect(err.code).toBe('kcv_mismatch');
        expect(err.key).toBe(n);
        expect(err.message).toContain(n.toUpperCase());
        // No key bytes or check values in the error, in any form.
        const text = `${err.message} ${JSON.stringify(err)} ${inspect(err)}`.toUpperCase();
        for (const k of names) {
          expect(text).not.toContain(toHex((keys[k] as SensitiveBytes).reveal()));
          expect(text).not.toContain(toHex(keyCheckValue(keys[k] as SensitiveBytes)));
        }
        expect(text).not.toContain(toHex(tmk));
      }
    });
  }

  it('a tampered encrypted key fails its KCV', () => {
    const f62 = wrapWorkingKeys(TMK16, generateWorkingKeys('double'), 'double');
    f62[25] = (f62[25] as number) ^ 0x80;
    expect(caught(() => unwrapWorkingKeys(TMK16, f62, 'double'))).toMatchObject({
      code: 'kcv_mismatch',
      key: 'mak',
    });
  });

  it('the wrong TMK fails on the first key', () => {
    const f62 = wrapWorkingKeys(TMK16, generateWorkingKeys('double'), 'double');
    expect(
      caught(() => unwrapWorkingKeys(hex('00112233445566778899AABBCCDDEEFF'), f62, 'double')),
    ).toMatchObject({
      code: 'kcv_mismatch',
      key: 'pik',
    });
  });

  it('rejects wrong field lengths, layouts and key lengths', () => {
    expect(caught(() => unwrapWorkingKeys(TMK16, Buffer.alloc(57), 'double'))).toMatchObject({
      code: 'bad_field62',
      expected: '40 or 60',
      actual: 57,
    });
    expect(caught(() => unwrapWorkingKeys(TMK8, Buffer.alloc(60), 'single'))).toMatchObject({
      code: 'bad_field62',
    });
    expect(caught(() => unwrapWorkingKeys(TMK8, Buffer.alloc(24), 'triple' as never)).code).toBe(
      'bad_layout',
    );
    expect(caught(() => unwrapWorkingKeys(Buffer.alloc(12), Buffer.alloc(24), 'single'))).toMatchObject({
      code: 'bad_key_length',
      key: 'tmk',
    });
    expect(caught(() => wrapWorkingKeys(TMK16, { pik: PIK16, mak: MAK16 }, 'single'))).toMatchObject({
      code: 'bad_key_length',
      key: 'pik',
    });
    expect(caught(() => wrapWorkingKeys(TMK16, { pik: PIK16, mak: MAK16 }, 'double-mak8'))).toMatchObject({
      code: 'bad_key_length',
      key: 'mak',
    });
    expect(caught(() => wrapWorkingKeys(TMK8, { pik: PIK8, mak: MAK8, tdk: PIK8 }, 'single')).code).toBe(
      'bad_layout',
    );
  });

  it('generateWorkingKeys can leave out the TDK', () => {
    const keys = generateWorkingKeys('double', { withTdk: false });
    expect(keys.tdk).toBeUndefined();
    expect(wrapWorkingKeys(TMK16, keys, 'double')).toHaveLength(40);
  });
});
