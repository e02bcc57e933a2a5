/**
 * Masking rules for card numbers. PCI DSS allows at most the first six and last four digits to be
 * shown; for short numbers we show less so that at least six digits always stay hidden.
 */
export function maskPan(digits: string): string {
  const len = digits.length;
  const tail = len >= 10 ? 4 : 0;
  const head = Math.max(0, Math.min(6, len - 10));
  return digits.slice(0, head) + '*'.repeat(len - head - tail) + digits.slice(len - tail);
}

/** Last four digits, for receipts and CRM views ("**** 1234"). Empty for numbers under ten digits. */
export function lastFour(digits: string): string {
  return digits.length >= 10 ? digits.slice(-4) : '';
}
