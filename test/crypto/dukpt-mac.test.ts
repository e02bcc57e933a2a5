/**
 * DUKPT MAC keys and MACs (src/crypto/dukpt-mac.ts) against test/vectors/dukpt/mac-keys.json (X9.24-3
 * supplement MAC generation keys, SP 800-38B / RFC 4493 CMACs, our cross-check values) and the
 * X9.24-1 Annex A MACs in tdes-x9.24-1-2009.json; then a seeded property test of reader -> host.
 */
import { describe, expect, it } from 'vitest';
import {
  AES_DUKPT_MAC_KEY_TYPES,
  DukptPinPad,
  aesCmac,
  aesDukptDerivationDataOfType,
  aesDukptWorkingKey,
  aesDukptWorkingKeyOfType,
  checkDukptCounter,
  computeDukptMac,
  counterOneBits,
  deriveAesDukptInitialKey,
  deriveAesDukptInitialKeyOfBdk,
  deriveAesDukptTransactionKey,
  deriveAesDukptTransactionKeyOfType,
  deriveDukptMacKey,
  dukptInitialKey,
  dukptTdesRequestMac,
  ksnWithCounter,
  tdesCmac,
  tdesDukptMacKeyFromTransactionKey,
  verifyDukptMac,
  type AesDukptMacKeyType,
  type DukptMacDirection,
} from '../../src/crypto/index.js';
import { hex, readVectors, seededRandom, toHex } from './helpers.js';
import { caught as cryptoError } from '../support/crypto-error.js';

interface BdkSet {
  bdkHex: string;
  initialKeyIdHex: string;
  initialKeyHex: string;
  vectors: ({ ksnHex: string; transactionKeyHex: string } & Record<string, string>)[];
  transactionKeyVectors?: { ksnHex: string; transactionKeyHex: string }[];
}

interface CmacSet {
  keyHex: string;
  tests: { length: number; messageHex: string; macHex: string }[];
}

interface MacKeyVectors {
  aes128Bdk: BdkSet;
  aes256Bdk: BdkSet;
  cmac: { vectors: Record<'aes128' | 'aes192' | 'aes256' | 'tdes2' | 'tdes3', CmacSet> };
  crossCheck: {
    messageAscii: string;
    aes: ({ bdk: 'aes128Bdk' | 'aes256Bdk'; ksnHex: string } & Record<string, string>)[];
  };
}

interface TdesVectors {
  ipek: { bdkHex: string; ipekHex: string };
  moov: {
    dataAscii: string;
    vectors: { ksnHex: string; transactionKeyHex: string; macRequestHex: string; macResponseHex: string }[];
  };
  jmps: { macDataAscii: string; vectors: { ksnHex: string; macRequestKeyHex: string; mac4Hex: string }[] };
  openemv: {
    macDataAscii: string;
    initialSequence: { ksnHex: string; macRequestHex: string; macResponseHex: string }[];
  };
}

const M = readVectors<MacKeyVectors>('dukpt/mac-keys.json');
const T = readVectors<TdesVectors>('dukpt/tdes-x9.24-1-2009.json');
const TDES_BDK = hex(T.ipek.bdkHex);

function zeroPad(ascii: string): Buffer {
  const b = Buffer.from(ascii, 'latin1');
  const out = Buffer.alloc(Math.ceil(b.length / 8) * 8);
  b.copy(out);
  return out;
}

describe('CMAC (NIST SP 800-38B Appendix D; RFC 4493 section 4)', () => {
  for (const [type, set] of Object.entries(M.cmac.vectors)) {
    it(`${type}: ${set.tests.length} examples`, () => {
      expect(set.tests.length).toBeGreaterThanOrEqual(4);
      for (const t of set.tests) {
        const f = type.startsWith('tdes') ? tdesCmac : aesCmac;
        expect(toHex(f(hex(set.keyHex), hex(t.messageHex))), `${type} length ${t.length}`).toBe(t.macHex);
      }
    });
  }

  it('rejects keys of the wrong length by name', () => {
    expect(cryptoError(() => aesCmac(Buffer.alloc(8), Buffer.alloc(1))).code).toBe('bad_key_length');
    expect(cryptoError(() => tdesCmac(Buffer.alloc(8), Buffer.alloc(1))).code).toBe('bad_key_length');
  });
});

describe('AES DUKPT MAC keys (ANSI X9.24-3:2017 supplement)', () => {
  const A = M.aes128Bdk;
  const bdk = hex(A.bdkHex);

  it('derivation data carries usage 2000/2001/2002 and the key type fields', () => {
    const ikid = hex(A.initialKeyIdHex);
    expect(toHex(aesDukptDerivationDataOfType(0x2000, 'aes128', ikid, 1))).toBe(
      '0101200000020080' + '9012345600000001',
    );
    expect(toHex(aesDukptDerivationDataOfType(0x2001, 'tdes2', ikid, 2))).toBe(
      '0101200100000080' + '9012345600000002',
    );
    expect(toHex(aesDukptDerivationDataOfType(0x2002, 'tdes3', ikid, 3))).toBe(
      '01012002000100C0' + '9012345600000003',
    );
    expect(toHex(aesDukptDerivationDataOfType(0x2000, 'aes192', ikid, 4))).toBe(
      '01012000000300C0' + '9012345600000004',
    );
    expect(toHex(aesDukptDerivationDataOfType(0x2000, 'aes256', ikid, 5))).toBe(
      '0101200000040100' + '9012345600000005',
    );
  });

  it('AES-128 BDK: the published MAC generation keys, host (BDK) and reader (initial key) side', () => {
    expect(A.vectors).toHaveLength(8);
    expect(toHex(deriveAesDukptInitialKeyOfBdk(bdk, hex(A.initialKeyIdHex)))).toBe(A.initialKeyHex);
    const ik = hex(A.initialKeyHex);
    for (const v of A.vectors) {
      const ksn = hex(v.ksnHex);
      expect(toHex(deriveAesDukptTransactionKeyOfType(ik, ksn))).toBe(v.transactionKeyHex);
      expect(toHex(deriveDukptMacKey({ bdk }, ksn))).toBe(v.macGenerationKeyHex);
      expect(
        toHex(deriveDukptMacKey({ initialKey: ik }, ksn, { direction: 'request', keyType: 'aes128' })),
      ).toBe(v.macGenerationKeyHex);
    }
  });

  it('AES-128 BDK: the general derivation equals dukpt-aes.ts for every MAC usage', () => {
    for (const v of A.vectors) {
      const ksn = hex(v.ksnHex);
      const tk = deriveAesDukptTransactionKey(deriveAesDukptInitialKey(bdk, hex(A.initialKeyIdHex)), ksn);
      const pairs: [DukptMacDirection, 'mac-generation' | 'mac-verification' | 'mac-both'][] = [
        ['request', 'mac-generation'],
        ['response', 'mac-verification'],
        ['both', 'mac-both'],
      ];
      for (const [direction, usage] of pairs) {
        expect(toHex(deriveDukptMacKey({ bdk }, ksn, { direction }))).toBe(
          toHex(aesDukptWorkingKey(tk, ksn, usage)),
        );
      }
    }
  });

  it('AES-256 BDK: initial key, transaction keys and the published AES-128 / AES-256 MAC, PIN and data keys', () => {
    const B = M.aes256Bdk;
    const bdk256 = hex(B.bdkHex);
    expect(toHex(deriveAesDukptInitialKeyOfBdk(bdk256, hex(B.initialKeyIdHex)))).toBe(B.initialKeyHex);
    const ik = hex(B.initialKeyHex);
    for (const v of [...B.vectors, ...(B.transactionKeyVectors ?? [])]) {
      expect(toHex(deriveAesDukptTransactionKeyOfType(ik, hex(v.ksnHex)))).toBe(v.transactionKeyHex);
    }
    const fields: [string, number, AesDukptMacKeyType][] = [
      ['pinKeyAes128Hex', 0x1000, 'aes128'],
      ['pinKeyAes256Hex', 0x1000, 'aes256'],
      ['dataEncryptKeyAes128Hex', 0x3000, 'aes128'],
      ['dataEncryptKeyAes256Hex', 0x3000, 'aes256'],
    ];
    for (const v of B.vectors) {
      const ksn = hex(v.ksnHex);
      expect(toHex(deriveDukptMacKey({ bdk: bdk256 }, ksn))).toBe(v.macGenerationKeyAes128Hex);
      expect(toHex(deriveDukptMacKey({ initialKey: ik }, ksn, { keyType: 'aes256' }))).toBe(
        v.macGenerationKeyAes256Hex,
      );
      for (const [field, usage, type] of fields) {
        expect(toHex(aesDukptWorkingKeyOfType(hex(v.transactionKeyHex), ksn, usage, type)), field).toBe(
          v[field],
        );
      }
    }
  });

  it('our cross-check values (Python cryptography, mac-crosscheck.py): other usages, key types and CMACs', () => {
    const msg = Buffer.from(M.crossCheck.messageAscii, 'latin1');
    expect(M.crossCheck.aes.length).toBeGreaterThanOrEqual(5);
    for (const r of M.crossCheck.aes) {
      const source = { bdk: hex(M[r.bdk].bdkHex) };
      const ksn = hex(r.ksnHex);
      const key = (direction: DukptMacDirection, keyType: AesDukptMacKeyType): string =>
        toHex(deriveDukptMacKey(source, ksn, { direction, keyType }));
      expect(key('request', 'aes128')).toBe(r.requestKeyAes128Hex);
      expect(key('response', 'aes128')).toBe(r.responseKeyAes128Hex);
      expect(key('both', 'aes128')).toBe(r.bothKeyAes128Hex);
      expect(key('request', 'tdes2')).toBe(r.requestKeyTdes2Hex);
      expect(key('request', 'tdes3')).toBe(r.requestKeyTdes3Hex);
      expect(toHex(computeDukptMac(source, ksn, msg))).toBe(r.requestCmacAes128Hex);
      expect(toHex(computeDukptMac(source, ksn, msg, { direction: 'response' }))).toBe(
        r.responseCmacAes128Hex,
      );
      expect(toHex(computeDukptMac(source, ksn, msg, { keyType: 'tdes2' }))).toBe(r.requestCmacTdes2Hex);
      if (r.bdk === 'aes256Bdk') {
        expect(key('request', 'aes192')).toBe(r.requestKeyAes192Hex);
        expect(key('request', 'aes256')).toBe(r.requestKeyAes256Hex);
        expect(toHex(computeDukptMac(source, ksn, msg, { keyType: 'aes256' }))).toBe(r.requestCmacAes256Hex);
      }
    }
  });

  it('refuses a MAC key stronger than the BDK, a bad KSN and a bad MAC length', () => {
    const ksn = hex(A.vectors[0]!.ksnHex);
    const tooStrong = cryptoError(() => deriveDukptMacKey({ bdk }, ksn, { keyType: 'aes256' }));
    expect(tooStrong.code).toBe('bad_algorithm');
    expect(tooStrong.reason).toBe('key_too_strong');
    expect(cryptoError(() => deriveDukptMacKey({ bdk }, Buffer.alloc(11, 1))).reason).toBe('bad_ksn');
    expect(cryptoError(() => deriveDukptMacKey({ bdk }, hex('123456789012345600000000'))).reason).toBe(
      'ksn_counter_zero',
    );
    expect(cryptoError(() => computeDukptMac({ bdk }, ksn, Buffer.alloc(3), { macLength: 3 })).reason).toBe(
      'bad_mac_length',
    );
    expect(cryptoError(() => deriveDukptMacKey({ bdk: Buffer.alloc(20) }, ksn)).code).toBe('bad_key_length');
    const unknown = cryptoError(() =>
      deriveDukptMacKey({ bdk }, ksn, { keyType: 'hmac' as unknown as AesDukptMacKeyType }),
    );
    expect(unknown.code).toBe('bad_algorithm');
  });
});

describe('TDES DUKPT MAC (ANSI X9.24-1:2009 Annex A)', () => {
  it('request / response keys are the X9.24-1 MAC variants of the transaction key', () => {
    for (const v of T.moov.vectors) {
      const tk = hex(v.transactionKeyHex);
      const xor = (variant: string): string => {
        const out = Buffer.from(tk);
        const m = hex(variant);
        for (let i = 0; i < 16; i++) out[i] = out[i]! ^ m[i]!;
        return toHex(out);
      };
      expect(toHex(tdesDukptMacKeyFromTransactionKey(tk, 'request'))).toBe(
        xor('000000000000FF00000000000000FF00'),
      );
      expect(toHex(tdesDukptMacKeyFromTransactionKey(tk, 'response'))).toBe(
        xor('00000000FF00000000000000FF000000'),
      );
    }
  });

  it('moov-io/dukpt: X9.19 request and response MACs from the BDK, and the reader computes the same', () => {
    const data = zeroPad(T.moov.dataAscii);
    const ipek = hex(T.ipek.ipekHex);
    for (const v of T.moov.vectors) {
      const ksn = hex(v.ksnHex);
      expect(toHex(computeDukptMac({ bdk: TDES_BDK }, ksn, data))).toBe(v.macRequestHex);
      expect(toHex(computeDukptMac({ bdk: TDES_BDK }, ksn, data, { direction: 'response' }))).toBe(
        v.macResponseHex,
      );
      expect(toHex(computeDukptMac({ initialKey: ipek }, ksn, data))).toBe(v.macRequestHex);
      expect(toHex(dukptTdesRequestMac(TDES_BDK, ksn, data))).toBe(v.macRequestHex);
      expect(verifyDukptMac({ bdk: TDES_BDK }, ksn, data, hex(v.macRequestHex))).toBe(true);
      expect(verifyDukptMac({ bdk: TDES_BDK }, ksn, data, hex(v.macResponseHex))).toBe(false);
    }
  });

  it('jmps-public: Annex A MAC request keys and 4-byte MACs', () => {
    const data = zeroPad(T.jmps.macDataAscii);
    for (const v of T.jmps.vectors) {
      const ksn = hex(v.ksnHex);
      expect(toHex(deriveDukptMacKey({ bdk: TDES_BDK }, ksn))).toBe(v.macRequestKeyHex);
      expect(toHex(computeDukptMac({ bdk: TDES_BDK }, ksn, data, { macLength: 4 }))).toBe(v.mac4Hex);
      expect(verifyDukptMac({ bdk: TDES_BDK }, ksn, data, hex(v.mac4Hex))).toBe(true);
      expect(verifyDukptMac({ bdk: TDES_BDK }, ksn, data, hex(v.mac4Hex), { macLength: 4 })).toBe(true);
      // A host that pins 8-byte MACs does not accept a 4-byte truncation, even a correct one.
      expect(verifyDukptMac({ bdk: TDES_BDK }, ksn, data, hex(v.mac4Hex), { macLength: 8 })).toBe(false);
      expect(verifyDukptMac({ bdk: TDES_BDK }, ksn, data, hex(v.mac4Hex).subarray(0, 3))).toBe(false);
    }
  });

  it('openemv/dukpt: request and response MACs of the initial sequence', () => {
    const data = zeroPad(T.openemv.macDataAscii);
    for (const v of T.openemv.initialSequence) {
      const ksn = hex(v.ksnHex);
      const n = v.macRequestHex.length / 2;
      expect(toHex(computeDukptMac({ bdk: TDES_BDK }, ksn, data, { macLength: n }))).toBe(v.macRequestHex);
      expect(
        toHex(computeDukptMac({ bdk: TDES_BDK }, ksn, data, { direction: 'response', macLength: n })),
      ).toBe(v.macResponseHex);
    }
  });

  it('has no both-ways key and no key type option', () => {
    const ksn = hex(T.moov.vectors[0]!.ksnHex);
    expect(cryptoError(() => deriveDukptMacKey({ bdk: TDES_BDK }, ksn, { direction: 'both' })).code).toBe(
      'bad_algorithm',
    );
    expect(cryptoError(() => deriveDukptMacKey({ bdk: TDES_BDK }, ksn, { keyType: 'aes128' })).code).toBe(
      'bad_algorithm',
    );
  });
});

describe('property: the reader MACs with its initial key, the host verifies with the BDK', () => {
  const rnd = seededRandom('dukpt-mac property');

  function randomCounter(bits: number, maxOnes: number): number {
    for (;;) {
      const c = Math.floor((rnd.int(0x10000) * 0x10000 + rnd.int(0x10000)) / 2 ** (32 - bits));
      if (c > 0 && counterOneBits(c) <= maxOnes) return c;
    }
  }

  function flipOneBit(data: Buffer): Buffer {
    const out = Buffer.from(data);
    const bit = rnd.int(out.length * 8);
    out[bit >> 3] = out[bit >> 3]! ^ (0x80 >> (bit & 7));
    return out;
  }

  function roundTrip(
    label: string,
    bdk: Buffer,
    initialKey: Buffer,
    ksn: Buffer,
    options: { keyType?: AesDukptMacKeyType; macLength?: number },
  ): void {
    const data = rnd.bytes(1 + rnd.int(200));
    const ctx = `${label} ksn ${toHex(ksn)} (seed ${rnd.seed})`;
    // Request: reader computes, host verifies.
    const mac = computeDukptMac({ initialKey }, ksn, data, options);
    expect(verifyDukptMac({ bdk }, ksn, data, mac, { keyType: options.keyType }), ctx).toBe(true);
    expect(verifyDukptMac({ bdk }, ksn, flipOneBit(data), mac, { keyType: options.keyType }), ctx).toBe(
      false,
    );
    // The response key is a different key: a request MAC does not verify as a response.
    expect(
      verifyDukptMac({ bdk }, ksn, data, mac, { keyType: options.keyType, direction: 'response' }),
      ctx,
    ).toBe(false);
    // Response: host computes, reader verifies.
    const rmac = computeDukptMac({ bdk }, ksn, data, { ...options, direction: 'response' });
    expect(
      verifyDukptMac({ initialKey }, ksn, data, rmac, { keyType: options.keyType, direction: 'response' }),
      ctx,
    ).toBe(true);
    expect(
      verifyDukptMac({ initialKey }, ksn, flipOneBit(data), rmac, {
        keyType: options.keyType,
        direction: 'response',
      }),
      ctx,
    ).toBe(false);
  }

  it('TDES DUKPT (X9.19), random BDKs, KSNs and counters', () => {
    for (let i = 0; i < 40; i++) {
      const bdk = rnd.bytes(16);
      const ksn = ksnWithCounter(rnd.bytes(10), checkDukptCounter(randomCounter(21, 10)));
      const ipek = dukptInitialKey(bdk, ksn);
      roundTrip('tdes', bdk, ipek, ksn, { macLength: rnd.int(2) ? 8 : 4 });
    }
  });

  it('AES DUKPT (CMAC), AES-128 and AES-256 BDKs, every MAC key type the BDK allows', () => {
    for (let i = 0; i < 40; i++) {
      const big = rnd.int(2) === 1;
      const bdk = rnd.bytes(big ? 32 : 16);
      const ksn = Buffer.concat([rnd.bytes(8), Buffer.alloc(4)]);
      ksn.writeUInt32BE(randomCounter(32, 16), 8);
      const allowed = AES_DUKPT_MAC_KEY_TYPES.filter((t) => big || (t !== 'aes192' && t !== 'aes256'));
      const keyType = allowed[rnd.int(allowed.length)]!;
      const ik = deriveAesDukptInitialKeyOfBdk(bdk, ksn.subarray(0, 8));
      if (!big) expect(toHex(ik)).toBe(toHex(dukptInitialKey(bdk, ksn)));
      roundTrip(`aes ${big ? 256 : 128} ${keyType}`, bdk, ik, ksn, { keyType });
    }
  });

  it('a reader (DukptPinPad) and its MAC share the KSN of the transaction', () => {
    const bdk = rnd.bytes(16);
    for (const ksn0 of [ksnWithCounter(rnd.bytes(10), 1), Buffer.concat([rnd.bytes(8), hex('00000001')])]) {
      const initialKey = dukptInitialKey(bdk, ksn0);
      const pad = new DukptPinPad({ initialKey, ksn: ksn0 });
      let previous: Buffer | undefined;
      for (let n = 0; n < 3; n++) {
        const { ksn } = pad.encryptPin('1234', '4012345678909');
        const data = rnd.bytes(37);
        const mac = computeDukptMac({ initialKey }, ksn, data, { macLength: 8 });
        expect(verifyDukptMac({ bdk }, ksn, data, mac)).toBe(true);
        // The previous transaction's KSN gives another key: the MAC does not verify under it.
        if (previous) expect(verifyDukptMac({ bdk }, previous, data, mac)).toBe(false);
        previous = ksn;
      }
      pad.destroy();
    }
  });
});
