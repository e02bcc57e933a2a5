import { Pan } from './pan.js';

/** Card schemes we tell apart by BIN. Anything else (Maestro, RuPay, Mir, private label ...) is 'unknown'. */
export type CardScheme =
  'unionpay' | 'visa' | 'mastercard' | 'amex' | 'jcb' | 'discover' | 'diners' | 'unknown';

/** One BIN range: the PAN's first `from.length` digits, read as a number, lie in [from, to]. */
export interface BinRange {
  readonly from: string;
  readonly to: string;
  readonly scheme: Exclude<CardScheme, 'unknown'>;
  readonly note?: string;
}

/**
 * BIN ranges as data. ORDER MATTERS: the first matching row wins. Rows are ordered so that the
 * deliberate overlap resolves as documented:
 *
 * - 622126-622925 is a Discover range *and* inside UnionPay's 62. Cards there are UnionPay cards
 *   (Discover accepts them through the network alliance, "co-branded" in Discover's IIN tables). On a
 *   UnionPay acquirer they are UnionPay, so the UnionPay 62 row comes before any Discover row and
 *   `schemeOfBin('622126...')` is 'unionpay'.
 *
 * There is no other overlap in this table (JCB 3528-3589 sits between Amex 34 and Diners 36; Diners
 * 300-305, 36, 38-39; Mastercard 2221-2720 and 51-55).
 */
export const BIN_RANGES: readonly BinRange[] = [
  { from: '62', to: '62', scheme: 'unionpay', note: 'includes Discover co-branded 622126-622925' },
  { from: '81', to: '81', scheme: 'unionpay' },
  { from: '4', to: '4', scheme: 'visa' },
  { from: '51', to: '55', scheme: 'mastercard' },
  { from: '2221', to: '2720', scheme: 'mastercard', note: '2-series' },
  { from: '34', to: '34', scheme: 'amex' },
  { from: '37', to: '37', scheme: 'amex' },
  { from: '3528', to: '3589', scheme: 'jcb' },
  { from: '6011', to: '6011', scheme: 'discover' },
  { from: '644', to: '649', scheme: 'discover' },
  { from: '65', to: '65', scheme: 'discover' },
  { from: '622126', to: '622925', scheme: 'discover', note: 'unreachable: UnionPay 62 wins (see above)' },
  { from: '300', to: '305', scheme: 'diners' },
  { from: '36', to: '36', scheme: 'diners' },
  { from: '38', to: '39', scheme: 'diners' },
];

/** Digits needed before we answer: a BIN is six digits (eight for new issues, but six decide scheme). */
export const MIN_BIN_DIGITS = 6;

/**
 * The scheme of a PAN or BIN prefix. Reads the leading digits of `digits` (a full PAN, a BIN of at
 * least six digits, or a masked PAN such as "621797******5090": characters after the leading digit run
 * are ignored). Never throws: fewer than six leading digits, or no matching range, gives 'unknown'.
 * A `Pan` may be passed directly (its digits are read without leaving this function).
 */
export function schemeOfBin(digits: string | Pan): CardScheme {
  const text = digits instanceof Pan ? digits.reveal() : digits;
  if (typeof text !== 'string') return 'unknown';
  const lead = /^[0-9]*/.exec(text)?.[0] ?? '';
  if (lead.length < MIN_BIN_DIGITS) return 'unknown';
  for (const range of BIN_RANGES) {
    const prefix = lead.slice(0, range.from.length);
    const n = Number(prefix);
    if (n >= Number(range.from) && n <= Number(range.to)) return range.scheme;
  }
  return 'unknown';
}
