import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Pan, SensitiveBytes } from '../../src/card/index.js';
import {
  cupEcbMac,
  CryptoError,
  decryptPinBlockIso0,
  generateWorkingKeys,
  keyCheckValueHex,
  SoftwareSecurityModule,
  wrapWorkingKeys,
  x919Mac,
  x99Mac,
  type SecurityModule,
  type WorkingKeys,
} from '../../src/crypto/index.js';
import { hex, readVectors, toHex } from './helpers.js';

const TMK = hex('0123456789ABCDEFFEDCBA9876543210');
const MESSAGE = Buffer.from('0200702406C000C09A31196217973910000725090000000000000000558800002323', 'hex');

async function rejected(p: Promise<unknown>): Promise<CryptoError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CryptoError);
    return err as CryptoError;
  }
  throw new Error('expected a rejection');
}

function signedOn(
  layout: 'single' | 'double' | 'double-mak8',
  macAlgorithm: 'cup-ecb' | 'x9.19' | 'x9.9',
): { module: SoftwareSecurityModule; keys: WorkingKeys; f62: Buffer } {
  const keys = generateWorkingKeys(layout);
  const f62 = wrapWorkingKeys(TMK, keys, layout);
  return { module: new SoftwareSecurityModule(SensitiveBytes.from(TMK, 'tmk'), { macAlgorithm }), keys, f62 };
}

describe('SoftwareSecurityModule', () => {
  it('refuses to MAC before working keys are loaded', async () => {
    const sm: SecurityModule = new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb' });
    expect((await rejected(sm.mac(MESSAGE))).code).toBe('no_working_keys');
    expect((await rejected(sm.verifyMac(MESSAGE, Buffer.alloc(8)))).code).toBe('no_working_keys');
    expect(await sm.keyCheckValues()).toEqual({ tmk: '08D7B4FB' });
  });

  it('loads working keys from field 62 and reports their check values', async () => {
    const { module, keys, f62 } = signedOn('double', 'cup-ecb');
    const kcv = await module.loadWorkingKeys(f62, 'double');
    expect(kcv).toEqual({
      tmk: '08D7B4FB',
      pik: keyCheckValueHex(keys.pik),
      mak: keyCheckValueHex(keys.mak),
      tdk: keyCheckValueHex(keys.tdk as SensitiveBytes),
    });
    expect(await module.keyCheckValues()).toEqual(kcv);
    expect(module.hasWorkingKeys).toBe(true);
    const three = new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb', kcvLength: 3 });
    expect((await three.loadWorkingKeys(f62, 'double')).mak).toBe(keyCheckValueHex(keys.mak, 3));
  });

  for (const [layout, alg, reference] of [
    ['single', 'cup-ecb', cupEcbMac],
    ['double', 'cup-ecb', cupEcbMac],
    ['double-mak8', 'cup-ecb', cupEcbMac],
    ['double', 'x9.19', x919Mac],
    ['single', 'x9.9', x99Mac],
  ] as const) {
    it(`${alg} with the ${layout} layout: mac equals the standalone algorithm, verifyMac round trip and tamper`, async () => {
      const { module, keys, f62 } = signedOn(layout, alg);
      await module.loadWorkingKeys(f62, layout);
      const mac = await module.mac(MESSAGE);
      expect(mac).toEqual(reference(keys.mak, MESSAGE));
      expect(mac).toHaveLength(8);
      expect(await module.verifyMac(MESSAGE, mac)).toBe(true);
      // Any single bit of data or MAC changed -> false.
      for (let i = 0; i < MESSAGE.length; i += 7) {
        const data = Buffer.from(MESSAGE);
        data[i] = (data[i] as number) ^ 0x04;
        expect(await module.verifyMac(data, mac)).toBe(false);
      }
      for (let i = 0; i < mac.length; i++) {
        const bad = Buffer.from(mac);
        bad[i] = (bad[i] as number) ^ 0x01;
        expect(await module.verifyMac(MESSAGE, bad)).toBe(false);
      }
      expect(await module.verifyMac(MESSAGE, mac.subarray(0, 4))).toBe(false);
      expect(await module.verifyMac(MESSAGE, Buffer.concat([mac, hex('00')]))).toBe(false);
    });
  }

  it('cup-ecb MAC is 8 ASCII hex characters and matches the mac.json scandemo vector with that MAK loaded', async () => {
    const mak = hex('0123456789ABCDEFFEDCBA9876543210');
    const keys = {
      pik: hex('89ABCDEF0123456776543210FEDCBA98'),
      mak,
      tdk: hex('FEDCBA98765432100123456789ABCDEF'),
    };
    const module = new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb' });
    await module.loadWorkingKeys(wrapWorkingKeys(TMK, keys, 'double'), 'double');
    const vectors = readVectors<{ vectors: Array<{ id: string; dataHex: string; expectedHex: string }> }>(
      'mac.json',
    );
    const v = vectors.vectors.find((x) => x.id === 'cup-ecb-mac-scandemo-0200-3des');
    if (!v) throw new Error('vector missing');
    const mac = await module.mac(hex(v.dataHex));
    expect(toHex(mac)).toBe(v.expectedHex);
    expect(mac.toString('latin1')).toBe('37BD16AE');
  });

  it('a failed load (bad KCV) names the key and keeps the previous keys', async () => {
    const { module, f62 } = signedOn('double', 'cup-ecb');
    await module.loadWorkingKeys(f62, 'double');
    const before = await module.mac(MESSAGE);
    const other = wrapWorkingKeys(TMK, generateWorkingKeys('double'), 'double');
    other[57] = (other[57] as number) ^ 0xff;
    const err = await rejected(module.loadWorkingKeys(other, 'double'));
    expect(err).toMatchObject({ code: 'kcv_mismatch', key: 'tdk' });
    expect(await module.mac(MESSAGE)).toEqual(before);
  });

  it('replaces keys on a new sign-on', async () => {
    const { module, f62 } = signedOn('double', 'cup-ecb');
    await module.loadWorkingKeys(f62, 'double');
    const before = await module.mac(MESSAGE);
    const next = generateWorkingKeys('double');
    await module.loadWorkingKeys(wrapWorkingKeys(TMK, next, 'double'), 'double');
    const after = await module.mac(MESSAGE);
    expect(after).not.toEqual(before);
    expect(after).toEqual(cupEcbMac(next.mak, MESSAGE));
  });

  it('rejects a layout whose MAK the algorithm cannot use, at load time', async () => {
    const { module, f62 } = signedOn('double-mak8', 'x9.19');
    const err = await rejected(module.loadWorkingKeys(f62, 'double-mak8'));
    expect(err).toMatchObject({ code: 'bad_key_length', key: 'mak', actual: 8 });
    expect(module.hasWorkingKeys).toBe(false);
  });

  it('validates its configuration', () => {
    expect(() => new SoftwareSecurityModule(TMK, { macAlgorithm: 'md5' as never })).toThrowError(
      expect.objectContaining({ code: 'bad_algorithm' }),
    );
    expect(() => new SoftwareSecurityModule(Buffer.alloc(10), { macAlgorithm: 'cup-ecb' })).toThrowError(
      expect.objectContaining({ code: 'bad_key_length', key: 'tmk' }),
    );
    expect(
      () => new SoftwareSecurityModule(TMK, { macAlgorithm: 'cup-ecb', kcvLength: 5 as never }),
    ).toThrowError(CryptoError);
  });

  it('clearWorkingKeys forgets the keys', async () => {
    const { module, f62 } = signedOn('single', 'cup-ecb');
    await module.loadWorkingKeys(f62, 'single');
    module.clearWorkingKeys();
    expect((await rejected(module.mac(MESSAGE))).code).toBe('no_working_keys');
    expect(await module.keyCheckValues()).toEqual({ tmk: '08D7B4FB' });
  });

  it('encrypts PIN blocks under the PIK and verifies them (simulators)', async () => {
    const { module, keys, f62 } = signedOn('double', 'cup-ecb');
    await module.loadWorkingKeys(f62, 'double');
    const pan = Pan.fromDigits('6217973910000725090');
    const block = await module.encryptPinBlock('123456', pan);
    expect(decryptPinBlockIso0(block, pan, keys.pik).reveal().toString('latin1')).toBe('123456');
    expect(await module.verifyPinBlock(block, pan, '123456')).toBe(true);
    expect(await module.verifyPinBlock(block, pan, '654321')).toBe(false);
  });

  it('encrypts and decrypts tracks with the TDK; no TDK -> no_track_key', async () => {
    const { module, f62 } = signedOn('double', 'cup-ecb');
    await module.loadWorkingKeys(f62, 'double');
    const track = SensitiveBytes.fromText('6226097806938388=49121010000012300000', 'track');
    const enc = await module.encryptTrack(track);
    const back = await module.decryptTrack(enc);
    expect(back.reveal().toString('latin1')).toBe('6226097806938388D49121010000012300000');

    const single = signedOn('single', 'cup-ecb');
    await single.module.loadWorkingKeys(single.f62, 'single');
    expect((await rejected(single.module.encryptTrack(track))).code).toBe('no_track_key');
  });

  it('never prints key material', async () => {
    const { module, keys, f62 } = signedOn('double', 'cup-ecb');
    await module.loadWorkingKeys(f62, 'double');
    const texts = [
      String(module),
      JSON.stringify({ module }),
      inspect(module, { depth: 10, showHidden: true }),
    ];
    for (const t of texts) {
      const upper = t.toUpperCase();
      expect(upper).not.toContain(toHex(TMK));
      for (const k of [keys.pik, keys.mak, keys.tdk as SensitiveBytes])
        expect(upper).not.toContain(toHex(k.reveal()));
    }
    expect(String(module)).toContain('working keys loaded');
  });
});
