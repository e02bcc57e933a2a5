/**
 * fen ↔ yuan, exactly (fast-check; the seed is printed, FUZZ_SEED=n replays), and China-time formats.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AmountError,
  MAX_FEN,
  cstCompact,
  cstDate,
  cstDateTime,
  cstRfc3339,
  fenToYuan,
  parseCst,
  providerTimeToIso,
  yuanToFen,
  yuanValueToFen,
} from '../../src/qr/index.js';
import { seedFromEnv } from '../support/prng.js';

const seed = seedFromEnv('qr money');
const params = { seed, numRuns: 2000 };

describe('fen ↔ yuan', () => {
  it('known values', () => {
    expect(fenToYuan(0)).toBe('0.00');
    expect(fenToYuan(1)).toBe('0.01');
    expect(fenToYuan(10)).toBe('0.10');
    expect(fenToYuan(100)).toBe('1.00');
    expect(fenToYuan(123456)).toBe('1234.56');
    expect(fenToYuan(MAX_FEN)).toBe('100000000.00');
    expect(yuanToFen('0.01')).toBe(1);
    expect(yuanToFen('0.1')).toBe(10);
    expect(yuanToFen('12.3')).toBe(1230);
    expect(yuanToFen('100')).toBe(10000);
    expect(yuanToFen('0.29')).toBe(29); // 0.29 * 100 = 28.999999999999996 in binary floating point
    expect(yuanToFen('1.15')).toBe(115); // 114.99999999999999
    expect(yuanToFen('-0.05', { allowNegative: true })).toBe(-5);
    expect(yuanValueToFen(0.29)).toBe(29);
    expect(yuanValueToFen(19.99)).toBe(1999);
    expect(yuanValueToFen(undefined)).toBeUndefined();
  });

  it('refuses what is not an exact amount', () => {
    for (const bad of [
      '',
      '.5',
      '1.',
      '1.234',
      '01.00',
      '1e2',
      ' 1.00',
      '1,00',
      '+1',
      '-1',
      'NaN',
      '0x10',
      '１.00',
    ])
      expect(() => yuanToFen(bad), bad).toThrow(AmountError);
    for (const bad of [-1, 1.5, Number.NaN, MAX_FEN + 1, 2 ** 53])
      expect(() => fenToYuan(bad), String(bad)).toThrow(AmountError);
    expect(yuanValueToFen(1e21)).toBeUndefined();
  });

  it('round-trips every fen amount', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_FEN }), (fen) => {
        const y = fenToYuan(fen);
        expect(y).toMatch(/^(0|[1-9][0-9]*)\.[0-9]{2}$/);
        expect(yuanToFen(y)).toBe(fen);
      }),
      params,
    );
  });

  it('agrees with decimal arithmetic on every 0–2 decimal yuan string (BigInt reference)', () => {
    const yuan = fc
      .tuple(
        fc.bigInt({ min: 0n, max: 100_000_000n }),
        fc.constantFrom(0, 1, 2),
        fc.integer({ min: 0, max: 99 }),
      )
      .map(([whole, decimals, frac]) => {
        const f =
          decimals === 0 ? '' : decimals === 1 ? `.${frac % 10}` : `.${String(frac).padStart(2, '0')}`;
        const fen =
          whole * 100n + (decimals === 0 ? 0n : decimals === 1 ? BigInt(frac % 10) * 10n : BigInt(frac));
        return { text: `${whole}${f}`, fen };
      })
      .filter(({ fen }) => fen <= BigInt(MAX_FEN));
    fc.assert(
      fc.property(yuan, ({ text, fen }) => {
        expect(yuanToFen(text)).toBe(Number(fen));
        // a JSON number with the same text reads the same
        expect(yuanValueToFen(Number(text))).toBe(Number(fen));
      }),
      params,
    );
  });
});

describe('China time', () => {
  const d = new Date('2024-05-13T09:49:20.500Z');
  it('formats UTC+8 whatever the machine zone', () => {
    expect(cstDateTime(d)).toBe('2024-05-13 17:49:20');
    expect(cstCompact(d)).toBe('20240513174920');
    expect(cstRfc3339(d)).toBe('2024-05-13T17:49:20+08:00');
    expect(cstDate(new Date('2024-05-13T16:30:00Z'))).toBe('2024-05-14');
  });
  it('parses it back', () => {
    expect(parseCst('2024-05-13 17:49:20')?.toISOString()).toBe('2024-05-13T09:49:20.000Z');
    expect(parseCst('20240513174920')?.toISOString()).toBe('2024-05-13T09:49:20.000Z');
    expect(providerTimeToIso('2024-05-13T17:49:20+08:00')).toBe('2024-05-13T09:49:20.000Z');
    expect(parseCst('13/05/2024')).toBeUndefined();
    expect(providerTimeToIso(undefined)).toBeUndefined();
  });
  it('round-trips any second', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800 }), (s) => {
        const t = new Date(s * 1000);
        expect(parseCst(cstDateTime(t))?.getTime()).toBe(t.getTime());
        expect(providerTimeToIso(cstRfc3339(t))).toBe(t.toISOString());
      }),
      { seed, numRuns: 500 },
    );
  });
});
