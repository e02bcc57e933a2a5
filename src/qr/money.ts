/**
 * Exact conversions between integer fen and the providers' decimal yuan strings ("0.01", "12.3", "100").
 * No floating point: strings are split and parsed digit by digit.
 */

/** Largest amount handled: Alipay's limit is 100,000,000.00 yuan; this stays well inside 2^53. */
export const MAX_FEN = 10_000_000_000;

export class AmountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AmountError';
  }
}

/** 1 → "0.01", 100 → "1.00", 123456 → "1234.56". Throws on a negative, fractional or too large value. */
export function fenToYuan(fen: number): string {
  if (!Number.isSafeInteger(fen) || fen < 0 || fen > MAX_FEN)
    throw new AmountError(`amount must be an integer number of fen 0..${MAX_FEN}`);
  const s = String(fen).padStart(3, '0');
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

const YUAN = /^(0|[1-9][0-9]{0,10})(?:\.([0-9]{1,2}))?$/;

/**
 * "0.01" → 1, "12.3" → 1230, "100" → 10000, "-0.05" → -5 (bills write refunds negative; `allowNegative`).
 * Rejects more than two decimals, exponents, spaces, leading zeros ("01.00") and empty strings.
 */
export function yuanToFen(yuan: string, opts: { allowNegative?: boolean } = {}): number {
  let s = yuan;
  let sign = 1;
  if (opts.allowNegative && s.startsWith('-')) {
    sign = -1;
    s = s.slice(1);
  }
  const m = YUAN.exec(s);
  if (!m) throw new AmountError(`not a yuan amount: ${JSON.stringify(yuan.slice(0, 24))}`);
  const whole = Number(m[1]);
  const frac = Number((m[2] ?? '').padEnd(2, '0'));
  const fen = whole * 100 + frac;
  if (fen > MAX_FEN) throw new AmountError('amount too large');
  return sign * fen === 0 ? 0 : sign * fen;
}

/** Like yuanToFen for a value that may be a JSON number in a provider's answer (e.g. 0.01): read via its text. */
export function yuanValueToFen(v: unknown): number | undefined {
  if (typeof v === 'string' && v !== '') return yuanToFen(v);
  if (typeof v === 'number' && Number.isFinite(v)) {
    // A JSON number was already parsed as binary; its shortest decimal text is what the provider sent.
    const text = String(v);
    if (/e/i.test(text)) return undefined;
    return yuanToFen(text);
  }
  return undefined;
}
