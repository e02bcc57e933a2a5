/** What an explainer found in one value: structured `details` for code, `lines`/`text` for people. */
export interface Explanation<D = unknown> {
  tag: string;
  name: string;
  /** The value in hex (explainers exist only for non-sensitive tags). */
  hex: string;
  /** False when the value has the wrong length; `problem` says why and `details` is partial. */
  valid: boolean;
  problem?: string;
  details: D;
  /** One finding per line, e.g. "byte 1 bit 8: Offline data authentication was not performed". */
  lines: string[];
  /** `tag name hex` and the lines, for logs and QA tools. */
  text: string;
}

/** One bit of a bitmap value (TVR, TSI, terminal capabilities, ...). Bytes count from 1, bits 8 (MSB) to 1. */
export interface BitMeaning {
  byte: number;
  bit: number;
  set: boolean;
  meaning: string;
  rfu: boolean;
}

export interface BitmapDetails {
  bits: BitMeaning[];
  /** The set bits only, in byte/bit order. */
  set: BitMeaning[];
}

/** Meanings of bits 8..1 of each byte; `null` marks an RFU bit. */
export type BitTable = readonly (readonly (string | null)[])[];

export function finish<D>(
  tag: string,
  name: string,
  hex: string,
  details: D,
  lines: string[],
  problem?: string,
): Explanation<D> {
  const head = `${tag} ${name} ${hex || '(empty)'}`;
  const body = problem ? [`invalid: ${problem}`, ...lines] : lines;
  return {
    tag,
    name,
    hex,
    valid: problem === undefined,
    ...(problem !== undefined ? { problem } : {}),
    details,
    lines: body,
    text: body.length ? `${head}\n  ${body.join('\n  ')}` : head,
  };
}
