import { describe, expect, it } from 'vitest';
import { BIN_RANGES, Pan, schemeOfBin, type CardScheme } from '../../src/card/index.js';
import { PAN16, PAN19 } from './fixtures.js';

const CASES: Array<[string, CardScheme]> = [
  // UnionPay, including the Discover co-branded 622126-622925 overlap
  ['620000', 'unionpay'],
  ['622126', 'unionpay'],
  ['622500', 'unionpay'],
  ['622925', 'unionpay'],
  ['629999', 'unionpay'],
  ['810000', 'unionpay'],
  ['817100', 'unionpay'],
  // Visa
  ['400000', 'visa'],
  ['476173', 'visa'],
  ['499999', 'visa'],
  // Mastercard 51-55 and 2221-2720
  ['510000', 'mastercard'],
  ['559999', 'mastercard'],
  ['500000', 'unknown'],
  ['560000', 'unknown'],
  ['222100', 'mastercard'],
  ['272099', 'mastercard'],
  ['222099', 'unknown'],
  ['272100', 'unknown'],
  // Amex
  ['340000', 'amex'],
  ['370000', 'amex'],
  ['350000', 'unknown'],
  // JCB 3528-3589
  ['352800', 'jcb'],
  ['358999', 'jcb'],
  ['352799', 'unknown'],
  ['359000', 'unknown'],
  // Discover 6011, 644-649, 65
  ['601100', 'discover'],
  ['601200', 'unknown'],
  ['644000', 'discover'],
  ['649999', 'discover'],
  ['643999', 'unknown'],
  ['650000', 'discover'],
  // Diners 300-305, 36, 38-39
  ['300000', 'diners'],
  ['305999', 'diners'],
  ['306000', 'unknown'],
  ['360000', 'diners'],
  ['380000', 'diners'],
  ['399999', 'diners'],
  // others
  ['100000', 'unknown'],
  ['900000', 'unknown'],
];

describe('schemeOfBin', () => {
  it.each(CASES)('%s -> %s', (bin, scheme) => {
    expect(schemeOfBin(bin)).toBe(scheme);
    expect(schemeOfBin(`${bin}1234567890`)).toBe(scheme); // full PAN
  });

  it('full PANs, masked PANs and Pan values', () => {
    expect(schemeOfBin(PAN19)).toBe('unionpay');
    expect(schemeOfBin(PAN16)).toBe('visa');
    expect(schemeOfBin('622848*********0018')).toBe('unionpay');
    expect(schemeOfBin(Pan.fromDigits(PAN19))).toBe('unionpay');
    expect(schemeOfBin('5105105105105100')).toBe('mastercard');
    expect(schemeOfBin('2223000048400011')).toBe('mastercard');
    expect(schemeOfBin('378282246310005')).toBe('amex');
    expect(schemeOfBin('3530111333300000')).toBe('jcb');
    expect(schemeOfBin('6011111111111117')).toBe('discover');
    expect(schemeOfBin('30569309025904')).toBe('diners');
  });

  it('fewer than six leading digits or junk is unknown, never a throw', () => {
    expect(schemeOfBin('62284')).toBe('unknown');
    expect(schemeOfBin('4')).toBe('unknown');
    expect(schemeOfBin('')).toBe('unknown');
    expect(schemeOfBin('abcdef')).toBe('unknown');
    expect(schemeOfBin('4761**')).toBe('unknown');
    expect(schemeOfBin(undefined as unknown as string)).toBe('unknown');
  });

  it('the table is well formed', () => {
    for (const r of BIN_RANGES) {
      expect(r.from).toMatch(/^[0-9]+$/);
      expect(r.to).toHaveLength(r.from.length);
      expect(Number(r.from)).toBeLessThanOrEqual(Number(r.to));
    }
  });
});
