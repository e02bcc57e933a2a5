import { describe, expect, it } from 'vitest';
import {
  explainCid,
  explainCvmResults,
  explainFormFactor,
  explainTag,
  explainTerminalCapabilities,
  explainTsi,
  explainTvr,
} from '../../src/emv/index.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('95 TVR', () => {
  it('decodes the scandemo TVR 008004E000', () => {
    const ex = explainTvr(hex('008004E000'));
    expect(ex.valid).toBe(true);
    expect(ex.details.bits).toHaveLength(40);
    expect(ex.details.set.map((b) => `${b.byte}.${b.bit}`)).toEqual(['2.8', '3.3', '4.8', '4.7', '4.6']);
    expect(ex.details.set.map((b) => b.meaning)).toEqual([
      'ICC and terminal have different application versions',
      'Online PIN entered (EMV 4.4: online CVM captured)',
      'Transaction exceeds floor limit',
      'Lower consecutive offline limit exceeded',
      'Upper consecutive offline limit exceeded',
    ]);
    expect(ex.text).toBe(
      [
        '95 Terminal Verification Results 008004E000',
        '  byte 2 bit 8: ICC and terminal have different application versions',
        '  byte 3 bit 3: Online PIN entered (EMV 4.4: online CVM captured)',
        '  byte 4 bit 8: Transaction exceeds floor limit',
        '  byte 4 bit 7: Lower consecutive offline limit exceeded',
        '  byte 4 bit 6: Upper consecutive offline limit exceeded',
      ].join('\n'),
    );
  });

  it('names every bit of every byte, including the first and last', () => {
    const all = explainTvr(hex('FFFFFFFFFF'));
    expect(all.details.set).toHaveLength(40);
    expect(all.details.set[0]!.meaning).toBe('Offline data authentication was not performed');
    expect(all.details.set.find((b) => b.byte === 5 && b.bit === 7)!.meaning).toBe(
      'Issuer authentication failed',
    );
    expect(all.details.set.filter((b) => b.rfu).map((b) => `${b.byte}.${b.bit}`)).toEqual(['2.3']);
    expect(explainTvr(hex('0000000000')).lines).toEqual(['no checks failed (all bits clear)']);
  });

  it('flags a wrong length', () => {
    const ex = explainTvr(hex('0080'));
    expect(ex.valid).toBe(false);
    expect(ex.problem).toBe('expected 5 bytes, got 2');
  });
});

describe('9B TSI, 9F27 CID, 9F34 CVM results, 9F33 terminal capabilities', () => {
  it('TSI E800', () => {
    expect(explainTsi(hex('E800')).details.set.map((b) => b.meaning)).toEqual([
      'Offline data authentication was performed',
      'Cardholder verification was performed',
      'Card risk management was performed',
      'Terminal risk management was performed',
    ]);
  });

  it('CID: ARQC, TC, AAC and advice bits', () => {
    expect(explainCid(hex('80')).details).toEqual({
      cryptogram: 'ARQC',
      paymentSystemBits: 0,
      adviceRequired: false,
      reason: { code: 0, meaning: 'No information given' },
    });
    expect(explainCid(hex('40')).details.cryptogram).toBe('TC');
    const aac = explainCid(hex('0A'));
    expect(aac.details).toMatchObject({
      cryptogram: 'AAC',
      adviceRequired: true,
      reason: { code: 2, meaning: 'PIN Try Limit exceeded' },
    });
    expect(explainCid(hex('8000')).valid).toBe(false);
  });

  it('CVM results 420300: online PIN, if terminal supports, result unknown', () => {
    const ex = explainCvmResults(hex('420300'));
    expect(ex.details).toEqual({
      method: { code: 2, name: 'Enciphered PIN verified online' },
      applySucceedingRuleIfUnsuccessful: true,
      condition: { code: 3, name: 'If terminal supports the CVM' },
      result: { code: 0, name: 'Unknown' },
    });
    expect(explainCvmResults(hex('1F0302')).details.method?.name).toBe('No CVM required');
    expect(explainCvmResults(hex('3F0000')).details.method?.name).toBe('No CVM performed');
    expect(explainCvmResults(hex('1E0001')).details.result?.name).toBe('Failed');
  });

  it('terminal capabilities E0E1C8', () => {
    const set = explainTerminalCapabilities(hex('E0E1C8')).details.set.map((b) => b.meaning);
    expect(set).toContain('Card data input: IC with contacts');
    expect(set).toContain('CVM: enciphered PIN for online verification');
    expect(set).toContain('Security: CDA');
    expect(set).not.toContain('Security: card capture');
    expect(set).toHaveLength(10);
  });
});

describe('9F6E form factor', () => {
  it('Visa FFI: version 1, consumer mobile phone, features and technology', () => {
    const ex = explainFormFactor(hex('23840000'), 'visa');
    expect(ex.details).toMatchObject({
      format: 'visa_ffi',
      version: 1,
      consumerDevice: true,
      deviceType: { code: '03', name: 'Consumer mobile phone' },
      features: ['Passcode capable', 'Cloud based payment credentials'],
      technology: 'Proximity contactless interface (ISO 14443, including NFC)',
    });
    expect(explainFormFactor(hex('20000000'), 'visa').details).toMatchObject({
      consumerDevice: false,
      deviceType: { name: 'Standard card' },
    });
  });

  it('Mastercard Third Party Data: device type from bytes 5-6', () => {
    const phone = explainFormFactor(hex('0840000030310000'), 'mastercard');
    expect(phone.details).toMatchObject({
      format: 'mastercard_third_party_data',
      countryCode: '840',
      consumerDevice: true,
      deviceType: { code: '01' },
    });
    expect(explainFormFactor(hex('08400000303000'), 'mastercard').details).toMatchObject({
      consumerDevice: false,
      deviceType: { name: 'Card' },
    });
    expect(explainFormFactor(hex('0840800000'), 'mastercard').details.deviceType).toBeUndefined();
  });

  it('Amex 9F6E is a terminal setting, never a device fact; no scheme means a length guess', () => {
    expect(explainFormFactor(hex('23840000'), 'amex').details).toEqual({
      format: 'amex_reader_capabilities',
      consumerDevice: false,
    });
    const guessed = explainFormFactor(hex('23840000'));
    expect(guessed.details.format).toBe('visa_ffi');
    expect(guessed.lines[0]).toMatch(/inferred from the length/);
    expect(explainFormFactor(hex('23'))).toMatchObject({ valid: false, details: { format: 'unknown' } });
  });
});

describe('explainTag', () => {
  it('dispatches by tag and returns undefined for tags without an explainer', () => {
    expect(explainTag('95', hex('0000000000'))?.name).toBe('Terminal Verification Results');
    expect(explainTag('9f27', hex('80'))?.tag).toBe('9F27');
    expect(explainTag('9F26', hex('0000000000000000'))).toBeUndefined();
  });
});
