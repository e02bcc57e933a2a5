import type { DataType } from './dialect-spec.js';

/**
 * Characters allowed per data type, as 128-entry tables for ASCII-range checks in the hot loops.
 * Wider encodings (GBK, EBCDIC) allow any character from 0x20 up; their byte tables do the rest.
 */
function table(test: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) t[c] = test(c) ? 1 : 0;
  return t;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

export const CHARSETS: Readonly<Record<Exclude<DataType, 'b' | 'x+n'>, Uint8Array>> = {
  n: table(isDigit),
  z: table((c) => isDigit(c) || (c >= 65 && c <= 70) || c === 61),
  an: table((c) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 32),
  ans: table((c) => c >= 0x20 && c <= 0x7e),
};

/** Index of the first character not allowed, or -1. `wide` lets characters above 0x7F through. */
export function firstBadChar(s: string, allowed: Uint8Array, wide: boolean): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 ? allowed[c] === 0 : !wide) return i;
  }
  return -1;
}
