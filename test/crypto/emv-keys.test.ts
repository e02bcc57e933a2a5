/**
 * EMV issuer-side key derivation and ARPC (src/crypto/emv-keys.ts, emv-arpc.ts, emv-cvn.ts) against
 * published vectors (test/vectors/emv-keys/README.md says which source each comes from): pyemv's
 * vectors, the two published PBOC/UICS worked examples, and pyemv's output for 17-19 digit PANs.
 */
import { describe, expect, it } from 'vitest';
import {
  applicationCryptogram,
  arpcMethod1,
  arpcMethod2,
  CryptoError,
  CVN_SCHEMES,
  cryptogramIadPart,
  cryptogramSessionKey,
  cvnOfIad,
  cvnScheme,
  deriveCommonSessionKey,
  deriveIccMasterKey,
  deriveIccMasterKeyA,
  deriveIccMasterKeyB,
  deriveSessionKey,
  emvCommonSessionKey,
  issuerAuthenticationData,
  keyCheckValueHex,
  optionBDigits,
  pbocSessionKey,
  schemeForIad,
  verifyIssuerAuthenticationData,
  type AcPadding,
  type CvnScheme,
  type MasterKeyOption,
} from '../../src/crypto/index.js';
import { hex, readVectors, toHex } from './helpers.js';

interface Arpc1 {
  arc: string;
  arpc: string;
}
interface Arpc2 {
  csu: string;
  proprietary: string;
  arpc: string;
}
interface PyemvVectors {
  issuerMasterKey: string;
  masterKeys: {
    from: string;
    option: MasterKeyOption;
    pan: string;
    psn: string | null;
    mk?: string;
    kcv?: string;
  }[];
  commonSessionKeys: { from: string; mk: string; r: string; sk: string }[];
  chains: {
    from: string;
    option: MasterKeyOption;
    pan: string;
    psn: string | null;
    r: string;
    mkKcv?: string;
    skKcv: string;
    data: string;
    padding: AcPadding;
    arqc: string;
    arpc1Sk?: Arpc1;
    arpc1Mk?: Arpc1;
    arpc2?: Arpc2;
  }[];
  cryptograms: {
    from: string;
    sk: string;
    data: string;
    padding: AcPadding;
    arqc: string;
    arpc1: Arpc1;
    arpc2: Arpc2;
  }[];
  cvn: {
    from: string;
    cvn: string;
    imk: string;
    pan: string;
    psn: string;
    mkKcv?: string;
    skKcv?: string;
    tags: Record<string, string>;
    arqc: string;
    responseCode?: string;
    csu?: string;
    issuerAuthenticationData: string;
  }[];
}
interface PbocVectors {
  examples: [
    {
      imk: string;
      pan: string;
      psn: string;
      tags: Record<string, string>;
      arqcData: string;
      arqc: string;
      arc: string;
      arpc: string;
    },
    { udk: string; atc: string; sk: string; arqcData: string; aip: string; cvr: string; arqc: string },
  ];
}
interface CrossCheck {
  imk: string;
  optionB: { pan: string; psn: string; mk: string; mkA: string }[];
  cvn18: {
    pan: string;
    psn: string;
    imk: string;
    tags: Record<string, string>;
    arqc: string;
    csu: string;
    arpc: string;
  }[];
}

const py = readVectors<PyemvVectors>('emv-keys/pyemv.json');
const pboc = readVectors<PbocVectors>('emv-keys/pboc.json');
const cross = readVectors<CrossCheck>('emv-keys/pyemv-crosscheck.json');
const kcv2 = (key: Uint8Array): string => keyCheckValueHex(key, 2);

/** The CDOL1 data in the order the schemes use, then the 9F10 part the scheme names. */
const CDOL1 = ['9F02', '9F03', '9F1A', '95', '5F2A', '9A', '9C', '9F37', '82', '9F36'];
function cryptogramData(scheme: CvnScheme, tags: Record<string, string>): Buffer {
  return Buffer.concat([...CDOL1.map((t) => hex(tags[t]!)), cryptogramIadPart(scheme, hex(tags['9F10']!))]);
}

describe('pyemv vectors', () => {
  const imk = hex(py.issuerMasterKey);

  it('ICC master keys, options A and B', () => {
    expect(py.masterKeys.length).toBeGreaterThanOrEqual(10);
    for (const v of py.masterKeys) {
      const mk = deriveIccMasterKey(v.option, imk, v.pan, v.psn);
      if (v.mk) expect(toHex(mk), v.from).toBe(v.mk);
      if (v.kcv) expect(kcv2(mk), v.from).toBe(v.kcv);
    }
  });

  it('EMV common session key', () => {
    for (const v of py.commonSessionKeys)
      expect(toHex(deriveCommonSessionKey(hex(v.mk), hex(v.r))), v.from).toBe(v.sk);
  });

  it('master key -> session key -> cryptogram -> ARPC method 1 and 2 chains', () => {
    for (const v of py.chains) {
      const mk = deriveIccMasterKey(v.option, imk, v.pan, v.psn);
      if (v.mkKcv) expect(kcv2(mk), v.from).toBe(v.mkKcv);
      const sk = deriveCommonSessionKey(mk, hex(v.r));
      expect(kcv2(sk), v.from).toBe(v.skKcv);
      const arqc = applicationCryptogram(sk, hex(v.data), v.padding);
      expect(toHex(arqc), v.from).toBe(v.arqc);
      if (v.arpc1Sk) expect(toHex(arpcMethod1(sk, arqc, hex(v.arpc1Sk.arc))), v.from).toBe(v.arpc1Sk.arpc);
      if (v.arpc1Mk) expect(toHex(arpcMethod1(mk, arqc, hex(v.arpc1Mk.arc))), v.from).toBe(v.arpc1Mk.arpc);
      if (v.arpc2) {
        const arpc = arpcMethod2(sk, arqc, hex(v.arpc2.csu), hex(v.arpc2.proprietary));
        expect(toHex(arpc), v.from).toBe(v.arpc2.arpc);
        const iad = Buffer.concat([arpc, hex(v.arpc2.csu), hex(v.arpc2.proprietary)]);
        expect(verifyIssuerAuthenticationData(2, sk, arqc, iad), v.from).toBe(true);
      }
    }
  });

  it('cryptogram and ARPC from a given session key (ac.py docstring)', () => {
    for (const v of py.cryptograms) {
      const sk = hex(v.sk);
      const arqc = applicationCryptogram(sk, hex(v.data), v.padding);
      expect(toHex(arqc)).toBe(v.arqc);
      expect(toHex(arpcMethod1(sk, arqc, hex(v.arpc1.arc)))).toBe(v.arpc1.arpc);
      expect(toHex(arpcMethod2(sk, arqc, hex(v.arpc2.csu)))).toBe(v.arpc2.arpc);
    }
  });

  it('Visa CVN 10 and CVN 18 end to end through the CVN table', () => {
    for (const v of py.cvn) {
      const iad = hex(v.tags['9F10']!);
      const found = schemeForIad(iad);
      if (!found.ok) throw new Error(`${v.from}: ${found.message}`);
      expect(found.scheme.cvn).toBe(v.cvn);
      const scheme = found.scheme;
      if (v.mkKcv) expect(kcv2(deriveIccMasterKey(scheme.masterKey, hex(v.imk), v.pan, v.psn))).toBe(v.mkKcv);
      const sk = cryptogramSessionKey(scheme, hex(v.imk), v.pan, v.psn, hex(v.tags['9F36']!));
      if (v.skKcv) expect(kcv2(sk), v.from).toBe(v.skKcv);
      const arqc = applicationCryptogram(sk, cryptogramData(scheme, v.tags), scheme.acPadding);
      expect(toHex(arqc), v.from).toBe(v.arqc);
      const input =
        scheme.arpc === 1
          ? ({ method: 1, arc: hex(v.responseCode!) } as const)
          : ({ method: 2, csu: hex(v.csu!) } as const);
      const iad91 = issuerAuthenticationData(sk, arqc, input);
      expect(toHex(iad91), v.from).toBe(v.issuerAuthenticationData);
      expect(verifyIssuerAuthenticationData(scheme.arpc, sk, arqc, iad91)).toBe(true);
    }
  });
});

describe('PBOC / UICS CVN 01 worked examples', () => {
  it('example 1: issuer key -> UDK -> SKAC -> ARQC -> ARPC over ARC "01", through CVN 01', () => {
    const ex = pboc.examples[0];
    const found = schemeForIad(hex(ex.tags['9F10']!));
    if (!found.ok) throw new Error(found.message);
    expect(found.scheme).toBe(CVN_SCHEMES['01']);
    const data = cryptogramData(found.scheme, ex.tags);
    expect(toHex(data)).toBe(ex.arqcData);
    const sk = cryptogramSessionKey(found.scheme, hex(ex.imk), ex.pan, ex.psn, hex(ex.tags['9F36']!));
    const arqc = applicationCryptogram(sk, data, found.scheme.acPadding);
    expect(toHex(arqc)).toBe(ex.arqc);
    expect(toHex(arqc)).toBe(ex.tags['9F26']);
    const iad91 = issuerAuthenticationData(sk, arqc, { method: 1, arc: hex(ex.arc) });
    expect(toHex(iad91)).toBe(ex.arpc + ex.arc);
    expect(verifyIssuerAuthenticationData(1, sk, arqc, iad91)).toBe(true);
    // The EMV common session key (what posbridge's simulators used before) does not verify it.
    const mk = deriveIccMasterKeyA(hex(ex.imk), ex.pan, ex.psn);
    expect(toHex(applicationCryptogram(emvCommonSessionKey(mk, hex(ex.tags['9F36']!)), data))).not.toBe(
      ex.arqc,
    );
  });

  it('example 2: UDK + ATC -> SKAC (no parity adjustment) -> ARQC', () => {
    const ex = pboc.examples[1];
    const sk = pbocSessionKey(hex(ex.udk), hex(ex.atc));
    expect(toHex(sk)).toBe(ex.sk);
    expect(toHex(deriveSessionKey('pboc', hex(ex.udk), hex(ex.atc)))).toBe(ex.sk);
    const data = Buffer.concat([hex(ex.arqcData), hex(ex.aip), hex(ex.atc), hex(ex.cvr)]);
    expect(toHex(applicationCryptogram(sk, data))).toBe(ex.arqc);
  });
});

describe('option B for 17-19 digit PANs (cross-checked with pyemv)', () => {
  const imk = hex(cross.imk);

  it('matches pyemv derive_icc_mk_b, differs from option A, and equals option A up to 16 digits', () => {
    const lengths = new Set<number>();
    for (const v of cross.optionB) {
      lengths.add(v.pan.length);
      expect(toHex(deriveIccMasterKeyB(imk, v.pan, v.psn)), v.pan.length.toString()).toBe(v.mk);
      expect(toHex(deriveIccMasterKeyA(imk, v.pan, v.psn))).toBe(v.mkA);
      expect(v.mk).not.toBe(v.mkA);
    }
    expect([...lengths].sort()).toEqual([17, 19]);
    expect(toHex(deriveIccMasterKeyB(imk, '1234567890123456', '01'))).toBe(
      toHex(deriveIccMasterKeyA(imk, '1234567890123456', '01')),
    );
  });

  it('takes 16 decimal digits of SHA-1(PAN || PSN), decimalising letters when short', () => {
    // pyemv test_derive_icc_mk_b_sha_pad: the digest has fewer than 16 digits.
    const digits = optionBDigits('000000000000000005', '23');
    expect(digits).toMatch(/^[0-9]{16}$/);
    expect(toHex(deriveIccMasterKeyB(imk, '000000000000000005', '23')).length).toBe(32);
    // A PSN of null is "00".
    expect(optionBDigits('12345678901234567', null)).toBe(optionBDigits('12345678901234567', '00'));
  });

  it('Visa CVN 18 with 18- and 19-digit PANs: ARQC and ARPC method 2 as pyemv computes them', () => {
    for (const v of cross.cvn18) {
      const scheme = cvnScheme('12')!;
      const sk = cryptogramSessionKey(scheme, hex(v.imk), v.pan, v.psn, hex(v.tags['9F36']!));
      const arqc = applicationCryptogram(sk, cryptogramData(scheme, v.tags), scheme.acPadding);
      expect(toHex(arqc), v.pan).toBe(v.arqc);
      expect(toHex(arpcMethod2(sk, arqc, hex(v.csu)))).toBe(v.arpc);
    }
  });
});

describe('the CVN table', () => {
  it('selects every method by CVN, as data', () => {
    expect(CVN_SCHEMES['01']).toMatchObject({ masterKey: 'A', sessionKey: 'pboc', acIad: 'cvr', arpc: 1 });
    expect(CVN_SCHEMES['0A']).toMatchObject({
      masterKey: 'A',
      sessionKey: 'none',
      acPadding: 'method-1',
      arpc: 1,
    });
    expect(CVN_SCHEMES['12']).toMatchObject({
      masterKey: 'B',
      sessionKey: 'emv-common',
      acIad: 'iad',
      arpc: 2,
    });
    for (const [key, scheme] of Object.entries(CVN_SCHEMES)) expect(scheme.cvn).toBe(key);
    expect(Object.isFrozen(CVN_SCHEMES)).toBe(true);
  });

  it('reads the CVN from byte 3 of 9F10 and returns typed errors for unknown or short data', () => {
    expect(cvnOfIad(hex('07010103A00000'))).toBe('01');
    expect(cvnOfIad(hex('06011203A0B800'))).toBe('12');
    expect(cvnScheme('0a')).toBe(CVN_SCHEMES['0A']);
    expect(cvnScheme('toString')).toBeUndefined();
    expect(schemeForIad(hex('0701'))).toMatchObject({ ok: false, code: 'bad_iad', path: '9F10', offset: 2 });
    expect(schemeForIad(hex('07017703A00000'))).toMatchObject({
      ok: false,
      code: 'unknown_cvn',
      path: '9F10',
      offset: 2,
      cvn: '77',
    });
  });

  it('takes the CVR (bytes 4-7) or the whole 9F10 into the cryptogram input', () => {
    const iad = hex('07010103A0400201');
    expect(toHex(cryptogramIadPart(CVN_SCHEMES['01']!, iad))).toBe('03A04002');
    expect(toHex(cryptogramIadPart(CVN_SCHEMES['12']!, iad))).toBe('07010103A0400201');
    expect(toHex(cryptogramIadPart(CVN_SCHEMES['01']!, hex('0701')))).toBe('0701');
  });
});

describe('bad input is a typed error naming what was expected', () => {
  const imk = hex(py.issuerMasterKey);
  const catchErr = (f: () => unknown): CryptoError => {
    try {
      f();
    } catch (err) {
      if (err instanceof CryptoError) return err;
      throw err;
    }
    throw new Error('did not throw');
  };

  it('PAN, PSN, keys, ATC, ARQC, CSU and proprietary data', () => {
    expect(catchErr(() => deriveIccMasterKeyA(imk, '12345x', '01')).code).toBe('bad_pan');
    expect(catchErr(() => deriveIccMasterKeyB(imk, '1'.repeat(20), '01')).code).toBe('bad_pan');
    expect(catchErr(() => deriveIccMasterKeyA(imk, '1234567890123456', '1')).reason).toBe('psn');
    expect(catchErr(() => deriveIccMasterKeyA(imk.subarray(0, 8), '1234567890123456', '01')).code).toBe(
      'bad_key_length',
    );
    expect(catchErr(() => pbocSessionKey(imk, hex('01'))).reason).toBe('9F36');
    expect(catchErr(() => emvCommonSessionKey(imk, hex('000102'))).reason).toBe('9F36');
    expect(catchErr(() => deriveCommonSessionKey(imk, hex('00'))).reason).toBe('R');
    expect(catchErr(() => arpcMethod1(imk, hex('00'), hex('3030'))).reason).toBe('ARQC');
    expect(catchErr(() => arpcMethod1(imk, Buffer.alloc(8), hex('30'))).reason).toBe('ARC');
    expect(catchErr(() => arpcMethod2(imk, Buffer.alloc(8), hex('00'))).reason).toBe('CSU');
    expect(catchErr(() => arpcMethod2(imk, Buffer.alloc(8), Buffer.alloc(4), Buffer.alloc(9))).reason).toBe(
      'proprietary',
    );
    // Messages never carry the PAN digits.
    expect(catchErr(() => deriveIccMasterKeyA(imk, '123456789012345x', '01')).message).not.toContain(
      '123456789',
    );
  });
});

describe('issuer authentication data verification never throws and rejects every altered bit', () => {
  const sk = hex('29B33180E567CE38EA4CBC9D753B0E61');
  const arqc = hex('FA624250B008B59A');

  function everyBitFlip(value: Buffer): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < value.length * 8; i++) {
      const b = Buffer.from(value);
      b[i >> 3] = b[i >> 3]! ^ (0x80 >> (i & 7));
      out.push(b);
    }
    return out;
  }

  it('method 2: every single-bit flip of tag 91 (ARPC, CSU, proprietary data) fails', () => {
    for (const proprietary of [Buffer.alloc(0), hex('12345678'), hex('1234567890ABCDEF')]) {
      const good = issuerAuthenticationData(sk, arqc, { method: 2, csu: hex('00800000'), proprietary });
      expect(good.length).toBe(8 + proprietary.length);
      expect(verifyIssuerAuthenticationData(2, sk, arqc, good)).toBe(true);
      const flips = everyBitFlip(good);
      expect(flips.length).toBe(good.length * 8);
      for (const f of flips) expect(verifyIssuerAuthenticationData(2, sk, arqc, f), toHex(f)).toBe(false);
    }
  });

  it('method 1: every single-bit flip of tag 91 (ARPC, ARC) fails', () => {
    const good = issuerAuthenticationData(sk, arqc, { method: 1, arc: hex('3030') });
    expect(verifyIssuerAuthenticationData(1, sk, arqc, good)).toBe(true);
    for (const f of everyBitFlip(good)) expect(verifyIssuerAuthenticationData(1, sk, arqc, f)).toBe(false);
  });

  it('wrong lengths, the other method, another ARQC or key: false, never a throw', () => {
    const m2 = issuerAuthenticationData(sk, arqc, { method: 2, csu: hex('00000000') });
    const m1 = issuerAuthenticationData(sk, arqc, { method: 1, arc: hex('3030') });
    const cases: [1 | 2, Buffer, Buffer][] = [
      [2, m2.subarray(0, 7), arqc],
      [2, Buffer.concat([m2, Buffer.alloc(9)]), arqc],
      [2, Buffer.alloc(0), arqc],
      [2, m1, arqc],
      [1, m2, arqc],
      [1, m1.subarray(0, 9), arqc],
      [2, m2, arqc.subarray(0, 7)],
      [2, m2, Buffer.alloc(8)],
      [1, m1, Buffer.alloc(8)],
    ];
    for (const [method, iad, a] of cases) {
      expect(() => verifyIssuerAuthenticationData(method, sk, a, iad)).not.toThrow();
      expect(verifyIssuerAuthenticationData(method, sk, a, iad)).toBe(false);
    }
    expect(verifyIssuerAuthenticationData(2, hex('0123456789ABCDEFFEDCBA9876543210'), arqc, m2)).toBe(false);
  });
});
