/** Upper-case two-digit hex for every byte value (no per-byte string building on hot paths). */
export const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).toUpperCase().padStart(2, '0'),
);

/** Upper-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

/** Value of one hex digit character code, or -1. */
export function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** True when `text` is an even number of hex digits. */
export function isHex(text: string): boolean {
  return text.length % 2 === 0 && /^[0-9A-Fa-f]*$/.test(text);
}

/**
 * Digits of a BCD or compressed-numeric (cn) value: the nibbles as hex, with trailing `F` padding
 * removed. Returns undefined when a nibble other than trailing padding is not a decimal digit.
 */
export function bcdDigits(bytes: Uint8Array): string | undefined {
  const text = toHex(bytes).replace(/F+$/, '');
  return /^[0-9]*$/.test(text) ? text : undefined;
}
