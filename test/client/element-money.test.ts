// <posbridge-pay>'s amounts (packages/client/src/element/money.ts): integer fen in, exact money text out,
// everything else an error value naming the attribute. Includes a randomised round trip (seed printed).
import { describe, expect, it } from 'vitest';
import {
  MAX_AMOUNT,
  formatMoney,
  parseAmount,
  parseCurrency,
  parseOrder,
} from '../../packages/client/src/element/money.js';

describe('parseAmount', () => {
  it('takes digits (attribute) or an integer (property), in fen', () => {
    expect(parseAmount('1280000')).toEqual({ ok: true, amount: 1_280_000 });
    expect(parseAmount(' 1 '.trim())).toEqual({ ok: true, amount: 1 });
    expect(parseAmount(1_280_000)).toEqual({ ok: true, amount: 1_280_000 });
    expect(parseAmount(String(MAX_AMOUNT))).toEqual({ ok: true, amount: MAX_AMOUNT });
  });

  it.each([
    ['12800.00', '"12800.00"'],
    ['12,800', '"12,800"'],
    ['-100', '"-100"'],
    ['0', 'got 0'],
    ['1e6', '"1e6"'],
    ['0x10', '"0x10"'],
    ['', 'none was given'],
    [undefined, 'none was given'],
    [12.5, 'got 12.5'],
    [Number.NaN, 'got NaN'],
    [Number.POSITIVE_INFINITY, 'got Infinity'],
    [String(MAX_AMOUNT + 1), 'more than'],
    ['1234567890123456', 'too large'],
    [true, 'got a boolean'],
  ])('refuses %j, saying what it got', (value, said) => {
    const r = parseAmount(value);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('invalid_amount');
    expect(r.error.field).toBe('amount');
    expect(r.error.message).toContain('whole number of minor units (fen)');
    expect(r.error.message).toContain(said);
  });
});

describe('formatMoney', () => {
  it('shows exact amounts with the currency symbol and thousands separators', () => {
    expect(formatMoney(1_280_000, 'CNY')).toBe('¥12,800.00');
    expect(formatMoney(99_999_999, 'CNY')).toBe('¥999,999.99');
    expect(formatMoney(1, 'CNY')).toBe('¥0.01');
    expect(formatMoney(10, 'CNY')).toBe('¥0.10');
    expect(formatMoney(0, 'CNY')).toBe('¥0.00');
    expect(formatMoney(MAX_AMOUNT, 'CNY')).toBe('¥9,999,999,999.99');
    expect(formatMoney(12_345, undefined)).toBe('123.45');
    expect(formatMoney(500, 'CHF')).toBe('CHF 5.00');
    expect(formatMoney(1_500, 'JPY')).toBe('JP¥1,500');
    expect(formatMoney(-1_250, 'USD')).toBe('-$12.50');
  });

  it('round-trips every amount exactly (randomised; the seed is printed)', () => {
    const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
    console.log(`element-money round trip seed=${seed} (SEED=${seed} to repeat)`);
    let x = seed || 1;
    const next = (): number => {
      // xorshift32: small and reproducible
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    for (let i = 0; i < 2000; i++) {
      const fen = (next() * 1000 + (next() % 1000)) % (MAX_AMOUNT + 1);
      const text = formatMoney(fen, 'CNY');
      expect(text).toMatch(/^¥\d{1,3}(,\d{3})*\.\d{2}$/);
      expect(Number(text.slice(1).replace(/[,.]/g, ''))).toBe(fen);
    }
  });
});

describe('order and currency', () => {
  it('checks them and names the attribute', () => {
    expect(parseOrder('CAR-1')).toEqual({ ok: true, order: 'CAR-1' });
    expect(parseOrder('')).toMatchObject({ ok: false, error: { code: 'invalid_order', field: 'order' } });
    expect(parseOrder('x'.repeat(65))).toMatchObject({ ok: false });
    expect(parseOrder('订单1')).toMatchObject({ ok: false });
    expect(parseCurrency('cny')).toEqual({ ok: true, currency: 'CNY' });
    expect(parseCurrency(undefined)).toEqual({ ok: true, currency: undefined });
    expect(parseCurrency('156')).toMatchObject({
      ok: false,
      error: { code: 'invalid_currency', field: 'currency' },
    });
  });
});
