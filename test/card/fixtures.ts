/** Test card data shared by the card tests. None of it is a real card. */
export const PAN19 = '6228480402564890018'; // UnionPay test card, 19 digits
export const PAN16 = '4761739001010010'; // Visa test card
export const TRACK2_CLEAR = `${PAN19}D25121011234567890`;
export const PIN_BLOCK_HEX = '041234FEDCBA9876';
export const KEY_HEX = '0123456789ABCDEFFEDCBA9876543210';

/** Every form in which the PAN's digits must never show up in output. */
export function leakForms(digits: string): string[] {
  const ascii = Buffer.from(digits, 'latin1');
  const bcdPadded = digits.length % 2 === 0 ? digits : `${digits}F`;
  const bcdLeftPadded = digits.length % 2 === 0 ? digits : `0${digits}`;
  return [
    digits, // ASCII; also the hex text of its BCD form
    ascii.toString('hex'),
    ascii.toString('hex').toUpperCase(),
    Buffer.from(bcdPadded, 'hex').toString('hex'),
    Buffer.from(bcdPadded, 'hex').toString('hex').toUpperCase(),
    Buffer.from(bcdLeftPadded, 'hex').toString('hex'),
    // the middle digits that masking must hide (present whenever a clear PAN is)
    digits.slice(6, -4),
  ];
}

/** The forms of `digits` found in `text` (empty when nothing leaked). */
export function leaksIn(text: string, digits: string): string[] {
  return leakForms(digits).filter((form) => text.includes(form));
}
