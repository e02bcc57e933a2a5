/**
 * The element's amount: read from an attribute as integer minor units (fen) and shown as money text
 * ("¥12,800.00"). Integer arithmetic only (no division into floats), so what is shown is the exact amount
 * that is charged. DOM-free.
 */

/** Where an attribute was wrong and what was expected (shown on the element and sent as its `error` event). */
export interface InputError {
  code: 'invalid_amount' | 'invalid_order' | 'invalid_currency';
  /** The attribute / property: `amount`, `order`, `currency`. */
  field: string;
  /** For developers (English): what was expected and what was given. */
  message: string;
}

/** The largest amount taken: 12 digits of fen (¥9,999,999,999.99), well inside a safe integer. */
export const MAX_AMOUNT = 999_999_999_999;

/**
 * Integer fen from the `amount` attribute (a string of digits) or property (a number). Anything else
 * (decimals, "12,800", negative, zero, exponent, NaN) is an InputError naming the attribute.
 */
export function parseAmount(value: unknown): { ok: true; amount: number } | { ok: false; error: InputError } {
  const bad = (why: string): { ok: false; error: InputError } => ({
    ok: false,
    error: {
      code: 'invalid_amount',
      field: 'amount',
      message: `amount must be a positive whole number of minor units (fen), e.g. "1280000" for 12,800.00; ${why}`,
    },
  });
  if (value === undefined || value === null || value === '') return bad('none was given');
  let n: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return bad(`got ${String(value)}`);
    n = value;
  } else if (typeof value === 'string') {
    const s = value.trim();
    if (!/^\d+$/.test(s)) return bad(`got "${value}"`);
    if (s.length > 15) return bad(`got "${value}" (too large)`);
    n = Number(s);
  } else return bad(`got a ${typeof value}`);
  if (n <= 0) return bad(`got ${n}`);
  if (n > MAX_AMOUNT) return bad(`got ${n} (more than ${MAX_AMOUNT})`);
  return { ok: true, amount: n };
}

/** An ISO 4217 alphabetic code, upper-cased; undefined = the terminal's currency. */
export function parseCurrency(
  value: unknown,
): { ok: true; currency: string | undefined } | { ok: false; error: InputError } {
  if (value === undefined || value === null || value === '') return { ok: true, currency: undefined };
  if (typeof value === 'string' && /^[A-Za-z]{3}$/.test(value.trim()))
    return { ok: true, currency: value.trim().toUpperCase() };
  return {
    ok: false,
    error: {
      code: 'invalid_currency',
      field: 'currency',
      message: `currency must be a three-letter ISO 4217 code such as "CNY"; got "${String(value)}"`,
    },
  };
}

/** The CRM's order reference: non-empty, printable, at most 64 characters (the API's limit). */
export function parseOrder(value: unknown): { ok: true; order: string } | { ok: false; error: InputError } {
  if (typeof value === 'string' && /^[\x21-\x7e][\x20-\x7e]{0,63}$/.test(value.trim()))
    return { ok: true, order: value.trim() };
  return {
    ok: false,
    error: {
      code: 'invalid_order',
      field: 'order',
      message: `order must be the CRM's order reference (1-64 printable ASCII characters); got ${
        value === undefined || value === null || value === '' ? 'none' : `"${String(value)}"`
      }`,
    },
  };
}

/** Symbols cashiers expect; other currencies show their code. Digits after the point per ISO 4217. */
const CURRENCIES: Record<string, { symbol: string; digits: number }> = {
  CNY: { symbol: '¥', digits: 2 },
  HKD: { symbol: 'HK$', digits: 2 },
  USD: { symbol: '$', digits: 2 },
  EUR: { symbol: '€', digits: 2 },
  GBP: { symbol: '£', digits: 2 },
  JPY: { symbol: 'JP¥', digits: 0 },
  KRW: { symbol: '₩', digits: 0 },
};

/** "¥12,800.00" for 1280000 CNY; "12,800.00" without a currency; "CHF 5.00" for an unlisted one. */
export function formatMoney(minor: number, currency: string | undefined): string {
  const c = currency ? CURRENCIES[currency] : undefined;
  const digits = c ? c.digits : 2;
  const negative = minor < 0;
  const s = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, '0');
  const whole = s.slice(0, s.length - digits).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const text = digits > 0 ? `${whole}.${s.slice(s.length - digits)}` : whole;
  const sign = negative ? '-' : '';
  if (!currency) return sign + text;
  return c ? `${sign}${c.symbol}${text}` : `${sign}${currency} ${text}`;
}
