/**
 * Monospace layout for receipt printers: display width (East Asian wide and fullwidth characters take
 * two columns, combining marks none), wrapping and alignment by columns rather than by string length.
 */

/** Code point ranges that print two columns wide (Unicode East Asian Width W and F, emoji). */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initials
  [0x2e80, 0x303e], // CJK radicals, punctuation
  [0x3041, 0x33ff], // kana, CJK symbols
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe30, 0xfe4f], // CJK compatibility forms
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs (￥)
  [0x1f300, 0x1f64f], // emoji
  [0x1f900, 0x1f9ff], // emoji
  [0x20000, 0x2fffd], // CJK extensions B..
  [0x30000, 0x3fffd],
];

const ZERO: readonly (readonly [number, number])[] = [
  [0x0300, 0x036f], // combining diacritics
  [0x200b, 0x200f], // zero-width space, joiners, marks
  [0xfe00, 0xfe0f], // variation selectors
];

const inRanges = (cp: number, ranges: readonly (readonly [number, number])[]): boolean =>
  ranges.some(([a, b]) => cp >= a && cp <= b);

/** Columns one code point takes on a receipt printer. */
export function charWidth(cp: number): 0 | 1 | 2 {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (inRanges(cp, ZERO)) return 0;
  return inRanges(cp, WIDE) ? 2 : 1;
}

/** Columns a string takes. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/** Control characters (tabs, newlines, ...) become spaces: a receipt line is one printed line. */
export function clean(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    out += cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ? ' ' : ch;
  }
  return out;
}

/**
 * Splits text into lines of at most `width` columns: at spaces where it can, anywhere in a word longer
 * than a line (CJK text has no spaces and breaks between any two characters). Never splits a
 * character, so no line is wider than `width`.
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  let lineW = 0;
  const flush = (): void => {
    lines.push(line.trimEnd());
    line = '';
    lineW = 0;
  };
  for (const word of clean(text).split(' ')) {
    if (!word) continue;
    const w = displayWidth(word);
    const gap = lineW ? 1 : 0;
    if (lineW + gap + w <= width) {
      line += (gap ? ' ' : '') + word;
      lineW += gap + w;
      continue;
    }
    if (w <= width && /^[\x20-\x7e]*$/.test(word)) {
      flush();
      line = word;
      lineW = w;
      continue;
    }
    // A word longer than a line, or CJK text (no spaces): break between characters.
    if (lineW && lineW + 1 < width) {
      line += ' ';
      lineW += 1;
    } else if (lineW) flush();
    for (const ch of word) {
      const cw = charWidth(ch.codePointAt(0)!);
      if (lineW + cw > width) flush();
      line += ch;
      lineW += cw;
    }
  }
  if (lineW || lines.length === 0) flush();
  return lines;
}

/** `left` and `right` on one line of exactly `width` columns, else `left` then `right` right-aligned. */
export function spread(left: string, right: string, width: number): string[] {
  const lw = displayWidth(left);
  const rw = displayWidth(right);
  if (lw + 1 + rw <= width) return [left + ' '.repeat(width - lw - rw) + right];
  return [...wrap(left, width), ...wrap(right, width).map((l) => alignRight(l, width))];
}

export function alignRight(s: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(s))) + s;
}

export function center(s: string, width: number): string[] {
  return wrap(s, width).map((l) => ' '.repeat(Math.floor((width - displayWidth(l)) / 2)) + l);
}
