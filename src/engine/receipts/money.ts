/** Amounts on receipts: minor units (fen) as decimal text by integer and string arithmetic only. */

const ALPHA: Readonly<Record<string, string>> = {
  '156': 'CNY',
  '344': 'HKD',
  '446': 'MOP',
  '901': 'TWD',
  '840': 'USD',
  '978': 'EUR',
  '826': 'GBP',
  '392': 'JPY',
  '410': 'KRW',
  '702': 'SGD',
  '036': 'AUD',
  '124': 'CAD',
  '764': 'THB',
  '458': 'MYR',
};

/** Currencies without minor units. */
const NO_MINOR: ReadonlySet<string> = new Set(['392', '410']);

/** ISO 4217 numeric → alphabetic ("156" → "CNY"); the numeric code when unknown. */
export function currencyCode(numeric: string): string {
  return ALPHA[numeric] ?? numeric;
}

/**
 * 12345600 fen → "123,456.00" (CNY, HKD, ...: exactly two decimals; JPY and KRW: none). Integer and
 * string arithmetic only: no floating point between the journal's integer and the printed digits.
 */
export function formatMinor(minor: number, currency = '156'): string {
  if (!Number.isSafeInteger(minor)) throw new RangeError('amounts are safe integers of minor units');
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor));
  const decimals = NO_MINOR.has(currency) ? 0 : 2;
  const padded = digits.padStart(decimals + 1, '0');
  const whole = padded.slice(0, padded.length - decimals);
  const frac = padded.slice(padded.length - decimals);
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ',');
  return `${sign}${grouped}${decimals ? `.${frac}` : ''}`;
}
