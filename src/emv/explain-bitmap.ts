import { toHex } from './hex.js';
import {
  finish,
  type BitMeaning,
  type BitTable,
  type BitmapDetails,
  type Explanation,
} from './explain-types.js';

/**
 * Explains a fixed-length bitmap value against `table`: every bit of every byte (RFU included) is in
 * `details.bits`; the set ones are in `details.set` and in the text lines.
 */
export function explainBitmap(
  tag: string,
  name: string,
  table: BitTable,
  value: Uint8Array,
  emptyLine = 'no bits set',
): Explanation<BitmapDetails> {
  const hex = toHex(value);
  const bits: BitMeaning[] = [];
  const n = Math.min(value.length, table.length);
  for (let byte = 0; byte < n; byte++) {
    const row = table[byte]!;
    for (let i = 0; i < 8; i++) {
      const bit = 8 - i;
      const meaning = row[i] ?? null;
      bits.push({
        byte: byte + 1,
        bit,
        set: (value[byte]! & (1 << (bit - 1))) !== 0,
        meaning: meaning ?? 'RFU',
        rfu: meaning === null,
      });
    }
  }
  const set = bits.filter((b) => b.set);
  const lines = set.map(
    (b) => `byte ${b.byte} bit ${b.bit}: ${b.meaning}${b.rfu ? ' (set, but reserved)' : ''}`,
  );
  if (!lines.length && value.length === table.length) lines.push(emptyLine);
  const problem =
    value.length !== table.length ? `expected ${table.length} bytes, got ${value.length}` : undefined;
  return finish(tag, name, hex, { bits, set }, lines, problem);
}
