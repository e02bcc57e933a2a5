import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  aesDukptDerivationData,
  aesDukptWorkingKey,
  checkAesDukptCounter,
  deriveAesDukptInitialKey,
  deriveAesDukptKey,
  deriveAesDukptTransactionKey,
  parseAesKsn,
  checkDukptCounter,
  counterOneBits,
  deriveDukptIpek,
  deriveDukptKey,
  deriveDukptTransactionKey,
  desCbcEncrypt,
  dukptWorkingKey,
  encryptPinBlockIso0,
  ksnWithCounter,
  parseKsn,
  x919Mac,
} from '../../src/crypto/index.js';
import { hex, readVectors, toHex } from './helpers.js';

interface TdesVectors {
  ipek: { bdkHex: string; ksnHex: string; ipekHex: string };
  moov: {
    pin: string;
    pan: string;
    dataAscii: string;
    vectors: {
      ksnHex: string;
      transactionKeyHex: string;
      encryptedPinBlockHex: string;
      dataRequestHex: string;
      dataResponseHex: string;
      macRequestHex: string;
      macResponseHex: string;
    }[];
  };
  jmps: {
    pin: string;
    pan: string;
    clearPinBlockHex: string;
    macDataAscii: string;
    vectors: {
      ksnHex: string;
      pinKeyHex: string;
      macRequestKeyHex: string;
      encryptedPinBlockHex: string;
      mac4Hex: string;
    }[];
  };
  openemv: {
    bdkHex: string;
    initialKsnHex: string;
    ipekHex: string;
    clearPinBlockHex: string;
    macDataAscii: string;
    initialSequence: {
      ksnHex: string;
      transactionKeyHex: string;
      encryptedPinBlockHex: string;
      macRequestHex: string;
      macResponseHex: string;
    }[];
    rolloverSequence: { ksnHex: string; transactionKeyHex: string; encryptedPinBlockHex: string }[];
  };
}

interface AesVectors {
  bdkHex: string;
  initialKeyIdHex: string;
  initialKeyHex: string;
  pinFieldHex: string;
  panFieldHex: string;
  vectors: {
    ksnHex: string;
    transactionKeyHex: string;
    pinKeyHex: string;
    macGenerationKeyHex: string;
    dataEncryptKeyHex: string;
    encryptedPinBlockHex: string;
  }[];
  transactionKeyVectors: { ksnHex: string; transactionKeyHex: string }[];
}

const V = readVectors<TdesVectors>('dukpt/tdes-x9.24-1-2009.json');
const A = readVectors<AesVectors>('dukpt/aes128-x9.24-3-2017.json');
const BDK = hex(V.ipek.bdkHex);
const IPEK = hex(V.ipek.ipekHex);

function zeroPad(ascii: string): Buffer {
  const b = Buffer.from(ascii, 'latin1');
  const out = Buffer.alloc(Math.ceil(b.length / 8) * 8);
  b.copy(out);
  return out;
}

function expectCryptoError(fn: () => unknown, code: string, reason?: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CryptoError);
    expect((err as CryptoError).code).toBe(code);
    if (reason) expect((err as CryptoError).reason).toBe(reason);
    return;
  }
  throw new Error('expected a CryptoError');
}

describe('TDES DUKPT (ANSI X9.24-1:2009)', () => {
  it('derives the Annex A IPEK', () => {
    expect(toHex(deriveDukptIpek(BDK, hex(V.ipek.ksnHex)))).toBe(V.ipek.ipekHex);
    // The counter is masked off: any KSN of the device gives the same IPEK.
    expect(toHex(deriveDukptIpek(BDK, hex('FFFF9876543210E00001')))).toBe(V.ipek.ipekHex);
    expect(toHex(deriveDukptIpek(BDK, hex('FFFF9876543210FFF800')))).toBe(V.ipek.ipekHex);
  });

  describe('moov-io/dukpt A.4.2 initial sequence', () => {
    for (const v of V.moov.vectors) {
      it(`KSN ${v.ksnHex}`, () => {
        const ksn = hex(v.ksnHex);
        const tk = deriveDukptTransactionKey(IPEK, ksn);
        expect(toHex(tk)).toBe(v.transactionKeyHex);

        const pinKey = dukptWorkingKey(tk, 'pin');
        expect(toHex(deriveDukptKey(BDK, ksn, 'pin'))).toBe(toHex(pinKey));
        expect(toHex(encryptPinBlockIso0(V.moov.pin, V.moov.pan, pinKey).reveal())).toBe(
          v.encryptedPinBlockHex,
        );

        const data = zeroPad(V.moov.dataAscii);
        expect(toHex(desCbcEncrypt(dukptWorkingKey(tk, 'data-request'), data))).toBe(v.dataRequestHex);
        expect(toHex(desCbcEncrypt(dukptWorkingKey(tk, 'data-response'), data))).toBe(v.dataResponseHex);
        expect(toHex(x919Mac(dukptWorkingKey(tk, 'mac-request'), data))).toBe(v.macRequestHex);
        expect(toHex(x919Mac(dukptWorkingKey(tk, 'mac-response'), data))).toBe(v.macResponseHex);
      });
    }
  });

  describe('jmps-public dukpt2000 verify table (38 KSNs, counters up to 10 one-bits)', () => {
    for (const v of V.jmps.vectors) {
      it(`KSN ${v.ksnHex}`, () => {
        const ksn = hex(v.ksnHex);
        expect(counterOneBits(parseKsn(ksn).counter)).toBeLessThanOrEqual(10);
        const pinKey = deriveDukptKey(BDK, ksn, 'pin');
        expect(toHex(pinKey)).toBe(v.pinKeyHex);
        const macKey = deriveDukptKey(BDK, ksn, 'mac-request');
        expect(toHex(macKey)).toBe(v.macRequestKeyHex);
        const epb = encryptPinBlockIso0(V.jmps.pin, V.jmps.pan, pinKey).reveal();
        expect(toHex(epb)).toBe(v.encryptedPinBlockHex);
        const mac = x919Mac(macKey, zeroPad(V.jmps.macDataAscii));
        expect(toHex(mac.subarray(0, 4))).toBe(v.mac4Hex);
      });
    }

    it('clear PIN block is 041274EDCBA9876F', () => {
      // Sanity link between the vector's PIN/PAN and its clear block.
      const pinKey = hex(V.jmps.vectors[0]!.pinKeyHex);
      const epb = encryptPinBlockIso0(V.jmps.pin, V.jmps.pan, pinKey).reveal();
      expect(toHex(epb)).toBe(V.jmps.vectors[0]!.encryptedPinBlockHex);
      expect(V.jmps.clearPinBlockHex).toBe('041274EDCBA9876F');
    });
  });

  describe('openemv/dukpt A.4.2 initial and A.4.3 rollover sequences', () => {
    it('IPEK and clear PIN block agree with the other sources', () => {
      expect(V.openemv.bdkHex).toBe(V.ipek.bdkHex);
      expect(toHex(deriveDukptIpek(hex(V.openemv.bdkHex), hex(V.openemv.initialKsnHex)))).toBe(
        V.openemv.ipekHex,
      );
      expect(V.openemv.clearPinBlockHex).toBe(V.jmps.clearPinBlockHex);
    });

    const rows = [
      ...V.openemv.initialSequence,
      ...V.openemv.rolloverSequence.map((r) => ({ ...r, macRequestHex: '', macResponseHex: '' })),
    ];
    for (const v of rows) {
      it(`KSN ${v.ksnHex}`, () => {
        const ksn = hex(v.ksnHex);
        const tk = deriveDukptTransactionKey(IPEK, ksn);
        expect(toHex(tk)).toBe(v.transactionKeyHex);
        const epb = encryptPinBlockIso0(V.jmps.pin, V.jmps.pan, dukptWorkingKey(tk, 'pin')).reveal();
        expect(toHex(epb)).toBe(v.encryptedPinBlockHex);
        if (v.macRequestHex) {
          const data = zeroPad(V.openemv.macDataAscii);
          const n = v.macRequestHex.length / 2;
          expect(toHex(x919Mac(dukptWorkingKey(tk, 'mac-request'), data).subarray(0, n))).toBe(
            v.macRequestHex,
          );
          expect(toHex(x919Mac(dukptWorkingKey(tk, 'mac-response'), data).subarray(0, n))).toBe(
            v.macResponseHex,
          );
        }
      });
    }
  });

  describe('KSN helpers', () => {
    it('parses counter and initial KSN', () => {
      // E = 1110: the top 3 bits of byte 7 belong to the initial KSN, bit 20 of the counter is 0.
      const p = parseKsn(hex('FFFF9876543210EFF801'));
      expect(p.counter).toBe(0x0ff801);
      expect(toHex(p.initialKsn)).toBe('FFFF9876543210E00000');
      expect(parseKsn(hex('FFFF9876543210F00000')).counter).toBe(0x100000);
      expect(toHex(ksnWithCounter(hex('FFFF9876543210E00000'), 0x0ff801))).toBe('FFFF9876543210EFF801');
      expect(toHex(ksnWithCounter(hex('FFFF9876543210EFF801'), 0x100000))).toBe('FFFF9876543210F00000');
      expect(counterOneBits(0x0ffc00)).toBe(10);
    });

    it('leaves the caller buffers untouched', () => {
      const bdk = Buffer.from(BDK);
      const ksn = hex('FFFF9876543210E00003');
      deriveDukptKey(bdk, ksn, 'data-request');
      expect(bdk.equals(BDK)).toBe(true);
      expect(toHex(ksn)).toBe('FFFF9876543210E00003');
    });
  });

  describe('typed errors', () => {
    it('rejects a BDK that is not 16 bytes', () => {
      expectCryptoError(() => deriveDukptIpek(hex('0123456789ABCDEF'), hex(V.ipek.ksnHex)), 'bad_key_length');
      expectCryptoError(() => deriveDukptIpek(Buffer.alloc(24, 1), hex(V.ipek.ksnHex)), 'bad_key_length');
    });

    it('rejects an IPEK or transaction key that is not 16 bytes', () => {
      expectCryptoError(
        () => deriveDukptTransactionKey(Buffer.alloc(8), hex('FFFF9876543210E00001')),
        'bad_key_length',
      );
      expectCryptoError(() => dukptWorkingKey(Buffer.alloc(24), 'pin'), 'bad_key_length');
    });

    it('rejects a KSN that is not 10 bytes', () => {
      expectCryptoError(() => deriveDukptIpek(BDK, hex('9876543210E00001')), 'bad_data', 'bad_ksn');
      expectCryptoError(
        () => deriveDukptTransactionKey(IPEK, hex('FFFFFF9876543210E00001')),
        'bad_data',
        'bad_ksn',
      );
    });

    it('rejects counter zero', () => {
      expectCryptoError(
        () => deriveDukptTransactionKey(IPEK, hex('FFFF9876543210E00000')),
        'bad_data',
        'ksn_counter_zero',
      );
    });

    it('rejects a counter with more than 10 one-bits', () => {
      // 0x0FFE00 has 11 one-bits; 0x0FFC00 (10) is fine (KSN …EFFC00 in the jmps table).
      expectCryptoError(
        () => deriveDukptTransactionKey(IPEK, hex('FFFF9876543210EFFE00')),
        'bad_data',
        'ksn_counter_bits',
      );
      expectCryptoError(() => checkDukptCounter(0x1fffff), 'bad_data', 'ksn_counter_bits');
      expectCryptoError(() => ksnWithCounter(hex(V.ipek.ksnHex), 0x7ff), 'bad_data', 'ksn_counter_bits');
      expect(checkDukptCounter(0x0ffc00)).toBe(0x0ffc00);
      // Opt-in for interop: derivable, but counter zero stays an error.
      const ksn = hex('FFFF9876543210EFFE00');
      expect(deriveDukptTransactionKey(IPEK, ksn, { allowAnyCounter: true })).toHaveLength(16);
      expectCryptoError(
        () => deriveDukptTransactionKey(IPEK, hex(V.ipek.ksnHex), { allowAnyCounter: true }),
        'bad_data',
        'ksn_counter_zero',
      );
    });

    it('rejects counters outside 21 bits', () => {
      expectCryptoError(() => checkDukptCounter(0x200000), 'bad_data', 'ksn_counter_range');
      expectCryptoError(() => checkDukptCounter(-1), 'bad_data', 'ksn_counter_range');
      expectCryptoError(() => checkDukptCounter(1.5), 'bad_data', 'ksn_counter_range');
    });

    it('rejects an unknown usage', () => {
      expectCryptoError(() => dukptWorkingKey(IPEK, 'kek' as never), 'bad_algorithm');
    });
  });
});

function aesEcb(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return c.update(block);
}

describe('AES DUKPT (ANSI X9.24-3:2017), AES-128', () => {
  const BDK_AES = hex(A.bdkHex);
  const IKID = hex(A.initialKeyIdHex);
  const IK = hex(A.initialKeyHex);

  it('derives the initial key, derivation data as in the standard', () => {
    expect(toHex(aesDukptDerivationData(0x8001, IKID))).toBe('01018001000200801234567890123456');
    expect(toHex(deriveAesDukptInitialKey(BDK_AES, IKID))).toBe(A.initialKeyHex);
  });

  for (const v of A.vectors) {
    it(`KSN ${v.ksnHex}: transaction, PIN, MAC and data keys; format 4 PIN block`, () => {
      const ksn = hex(v.ksnHex);
      const tk = deriveAesDukptTransactionKey(IK, ksn);
      expect(toHex(tk)).toBe(v.transactionKeyHex);
      const pinKey = aesDukptWorkingKey(tk, ksn, 'pin');
      expect(toHex(pinKey)).toBe(v.pinKeyHex);
      expect(toHex(deriveAesDukptKey(BDK_AES, ksn, 'pin'))).toBe(v.pinKeyHex);
      expect(toHex(aesDukptWorkingKey(tk, ksn, 'mac-generation'))).toBe(v.macGenerationKeyHex);
      expect(toHex(aesDukptWorkingKey(tk, ksn, 'data-encrypt'))).toBe(v.dataEncryptKeyHex);
      const inner = aesEcb(pinKey, hex(A.pinFieldHex));
      const xored = Buffer.from(inner.map((b, i) => b ^ (hex(A.panFieldHex)[i] as number)));
      expect(toHex(aesEcb(pinKey, xored))).toBe(v.encryptedPinBlockHex);
    });
  }

  for (const v of A.transactionKeyVectors) {
    it(`KSN ${v.ksnHex}: transaction key`, () => {
      expect(toHex(deriveAesDukptTransactionKey(IK, hex(v.ksnHex)))).toBe(v.transactionKeyHex);
    });
  }

  it('typed errors', () => {
    expectCryptoError(() => deriveAesDukptInitialKey(Buffer.alloc(24), IKID), 'bad_key_length');
    expectCryptoError(
      () => deriveAesDukptInitialKey(BDK_AES, Buffer.alloc(10)),
      'bad_data',
      'bad_initial_key_id',
    );
    expectCryptoError(() => parseAesKsn(hex('FFFF9876543210E00001')), 'bad_data', 'bad_ksn');
    expectCryptoError(
      () => deriveAesDukptTransactionKey(IK, hex('123456789012345600000000')),
      'bad_data',
      'ksn_counter_zero',
    );
    // 0x0001FFFF has 17 one-bits (the supplement lists it; X9.24-3 forbids it).
    expectCryptoError(
      () => deriveAesDukptTransactionKey(IK, hex('12345678901234560001FFFF')),
      'bad_data',
      'ksn_counter_bits',
    );
    expect(checkAesDukptCounter(0xffff0000)).toBe(0xffff0000);
    expectCryptoError(() => checkAesDukptCounter(2 ** 32), 'bad_data', 'ksn_counter_range');
    expectCryptoError(() => aesDukptWorkingKey(IK, hex(A.vectors[0]!.ksnHex), 'x' as never), 'bad_algorithm');
  });
});
