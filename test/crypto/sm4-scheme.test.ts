import { describe, expect, it } from 'vitest';
import { SensitiveBytes } from '../../src/card/index.js';
import {
  buildPinBlockSm4,
  CryptoError,
  decryptPinBlockSm4,
  encryptPinBlockSm4,
  generateWorkingKeys,
  requireKeyScheme,
  SoftwareSecurityModule,
  Sm4Key,
  sm4CupMac,
  sm4EcbDecrypt,
  sm4KeyCheckValue,
  unwrapWorkingKeys,
  verifyPinBlockSm4,
  wrapWorkingKeys,
  type GmSupport,
} from '../../src/crypto/index.js';
import { hex, readVectors, seededRandom, toHex } from './helpers.js';

interface Vector {
  masterKey: string;
  encryptedWorkingKey: string;
  checkValue8: string;
  clearWorkingKey: string;
  pin: string;
  pan: string;
  clearPinBlock: string;
}
const v = readVectors<Vector>('sm4-scheme/unionpay-sm4-pin.json');
const NO_SM4: GmSupport = { sm4: false, sm3: true, openssl: '3.0.0-nosm4' };
const TMK = hex('0123456789ABCDEFFEDCBA9876543210');

describe('SM4 key scheme: the published worked example', () => {
  it('the working key decrypts under the SM4 master key and its check value is SM4_K(0^16)', () => {
    const clear = sm4EcbDecrypt(hex(v.masterKey), hex(v.encryptedWorkingKey));
    expect(toHex(clear)).toBe(v.clearWorkingKey);
    expect(toHex(sm4KeyCheckValue(clear, 8))).toBe(v.checkValue8);
    expect(toHex(Sm4Key.from(clear).checkValue(4))).toBe(v.checkValue8.slice(0, 8));
  });

  it('the 16-byte PIN block: PIN field widened with F, PAN XORed into the second half', () => {
    expect(toHex(buildPinBlockSm4(v.pin, v.pan).reveal())).toBe(v.clearPinBlock);
    const pik = hex(v.clearWorkingKey);
    const enc = encryptPinBlockSm4(v.pin, v.pan, pik);
    expect(enc.length).toBe(16);
    expect(toHex(sm4EcbDecrypt(pik, enc.reveal()))).toBe(v.clearPinBlock);
    expect(decryptPinBlockSm4(enc, v.pan, pik).reveal().toString('latin1')).toBe(v.pin);
    expect(verifyPinBlockSm4(enc, v.pan, pik, v.pin)).toBe(true);
    expect(verifyPinBlockSm4(enc, v.pan, pik, '123655')).toBe(false);
  });

  it('a block read with the wrong PAN or an 8-byte block is bad_pin_block, naming the reason', () => {
    const pik = hex(v.clearWorkingKey);
    const enc = encryptPinBlockSm4(v.pin, v.pan, pik);
    expect(() => decryptPinBlockSm4(enc, '6230606601007726896', pik)).toThrow(
      expect.objectContaining({ code: 'bad_pin_block', reason: 'filler' }),
    );
    expect(() => decryptPinBlockSm4(Buffer.alloc(8), v.pan, pik)).toThrow(
      expect.objectContaining({ code: 'bad_pin_block', reason: 'size' }),
    );
  });
});

describe('SM4 working keys in field 62', () => {
  it('wrap and unwrap round-trip with SM4 check values; a flipped bit is kcv_mismatch naming the key', () => {
    const rnd = seededRandom('sm4 field 62');
    for (let i = 0; i < 20; i++) {
      const tmk = rnd.bytes(16);
      const keys = { pik: rnd.bytes(16), mak: rnd.bytes(16), tdk: rnd.bytes(16) };
      const f62 = wrapWorkingKeys(tmk, keys, 'double', 'sm4');
      expect(f62.length).toBe(60);
      expect(toHex(f62.subarray(16, 20))).toBe(toHex(sm4KeyCheckValue(keys.pik)));
      const back = unwrapWorkingKeys(tmk, f62, 'double', 'sm4');
      expect(toHex(back.mak.reveal())).toBe(toHex(keys.mak));
      expect(back.kcv.tdk).toBe(toHex(sm4KeyCheckValue(keys.tdk)));
      const bad = Buffer.from(f62);
      bad[20 + rnd.int(16)]! ^= 1 << rnd.int(8);
      expect(() => unwrapWorkingKeys(tmk, bad, 'double', 'sm4')).toThrow(
        expect.objectContaining({ code: 'kcv_mismatch', key: 'mak' }),
      );
    }
  });

  it('SM4 keys come only in the double layout; a DES-wrapped field 62 does not load as SM4', () => {
    expect(() => generateWorkingKeys('single', { scheme: 'sm4' })).toThrow(
      expect.objectContaining({ code: 'bad_layout' }),
    );
    const desField = wrapWorkingKeys(TMK, generateWorkingKeys('double'), 'double');
    expect(() => unwrapWorkingKeys(TMK, desField, 'double', 'sm4')).toThrow(
      expect.objectContaining({ code: 'kcv_mismatch', key: 'pik' }),
    );
  });

  it('the software module under sm4: KCVs, UnionPay SM4 MAC, 16-byte PIN blocks', async () => {
    const keys = generateWorkingKeys('double', { scheme: 'sm4' });
    const f62 = wrapWorkingKeys(TMK, keys, 'double', 'sm4');
    const sm = new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb', keyScheme: 'sm4' });
    const kcv = await sm.loadWorkingKeys(f62, 'double');
    expect(kcv.mak).toBe(toHex(sm4KeyCheckValue(keys.mak)));
    expect(kcv.tmk).toBe(toHex(sm4KeyCheckValue(TMK)));
    const data = Buffer.from('0200 some message bytes to MAC, not a multiple of sixteen');
    const mac = await sm.mac(data);
    expect(mac.toString('latin1')).toBe(sm4CupMac(keys.mak.reveal(), data).toString('latin1'));
    expect(mac.toString('latin1')).toMatch(/^[0-9A-F]{8}$/);
    expect(await sm.verifyMac(data, mac)).toBe(true);
    const flipped = Buffer.from(data);
    flipped[3]! ^= 1;
    expect(await sm.verifyMac(flipped, mac)).toBe(false);
    const pinBlock = await sm.encryptPinBlock('123456', '6212340000000000019');
    expect(pinBlock.length).toBe(16);
    expect(await sm.verifyPinBlock(pinBlock, '6212340000000000019', '123456')).toBe(true);
    expect(String(sm)).toContain('sm4');
    expect(JSON.stringify(sm)).not.toContain(toHex(keys.pik.reveal()));
    await expect(sm.encryptTrack(SensitiveBytes.fromText('6212340000000000019=3012'))).rejects.toMatchObject({
      code: 'bad_algorithm',
    });
  });

  it('without OpenSSL SM4: a typed bad_algorithm naming the OpenSSL version, before any key is used', () => {
    let err: unknown;
    try {
      new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb', keyScheme: 'sm4', gmSupport: NO_SM4 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CryptoError);
    expect(err).toMatchObject({ code: 'bad_algorithm', reason: 'unsupported', expected: 'sm4-ecb' });
    expect((err as Error).message).toContain('3.0.0-nosm4');
    expect(() => requireKeyScheme('sm4', NO_SM4)).toThrow(/no sm4-ecb/);
    expect(requireKeyScheme('des', NO_SM4)).toBe('des');
    expect(() => requireKeyScheme('aes')).toThrow(expect.objectContaining({ code: 'bad_algorithm' }));
    expect(() => new SoftwareSecurityModule(TMK, { macAlgorithm: 'x9.19', keyScheme: 'sm4' })).toThrow(
      expect.objectContaining({ code: 'bad_algorithm', expected: 'cup-ecb' }),
    );
  });
});
