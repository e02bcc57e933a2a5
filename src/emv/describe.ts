/**
 * Log- and QA-safe views of TLV data. Rules, in order:
 * - a sensitive tag (dictionary, plus the fixed set 56, 57, 5A, 5F20, 5F24, 99, 9F0B, 9F1F, 9F20,
 *   9F6B) shows `***` and its length only, wherever it is nested;
 * - an opaque container shows `opaque (N bytes)`: it can hold track data;
 * - a private-class tag (first byte C0-FF) the dictionary does not know shows `proprietary (N bytes)`
 *   unless `revealUnknown` is set (vendor data of unknown meaning);
 * - anything else shows hex, plus the text for an/ans formats.
 */
import type { CardScheme } from '../card/index.js';
import { loadTagDictionary, type TagDictionary } from './dictionary.js';
import { explainTag } from './explain.js';
import { toHex } from './hex.js';
import { isPrivateClass, type Tlv } from './tlv.js';

export interface DescribeOptions {
  /** Default: protocols/emv/tags.json. */
  dictionary?: TagDictionary;
  /** Show values of private-class tags the dictionary does not know (QA only; default false). */
  revealUnknown?: boolean;
  /** Add explainer findings (TVR, TSI, CID, CVM results, terminal capabilities, 9F6E) under the values. */
  explain?: boolean;
  /** Scheme for reading 9F6E (default: inferred from the value length). */
  scheme?: CardScheme;
}

/** One element as it may appear in a log line. */
export interface RedactedTlv {
  tag: string;
  name?: string;
  length: number;
  /** Hex, `***`, `opaque (N bytes)` or `proprietary (N bytes)`; absent for templates with children. */
  value?: string;
  /** The value as text, for an/ans tags whose bytes are printable ASCII. */
  text?: string;
  children?: RedactedTlv[];
  /** Explainer lines (only with `explain: true`). */
  explained?: string[];
}

const PRINTABLE = /^[\x20-\x7e]*$/;

function redactOne(t: Tlv, dict: TagDictionary, options: DescribeOptions): RedactedTlv {
  const info = dict.get(t.tag);
  const out: RedactedTlv = { tag: t.tag, ...(info ? { name: info.name } : {}), length: t.value.length };
  if (dict.isSensitive(t.tag)) {
    out.value = '***';
    return out;
  }
  if (t.opaque) {
    out.value = `opaque (${t.value.length} bytes)`;
    return out;
  }
  if (t.children) {
    out.children = t.children.map((c) => redactOne(c, dict, options));
    return out;
  }
  if (!info && isPrivateClass(t.tag) && !options.revealUnknown) {
    out.value = `proprietary (${t.value.length} bytes)`;
    return out;
  }
  out.value = toHex(t.value);
  if (info && (info.format === 'an' || info.format === 'ans')) {
    const text = t.value.toString('latin1');
    if (PRINTABLE.test(text)) out.text = text;
  }
  if (options.explain) {
    const ex = explainTag(t.tag, t.value, options.scheme ? { scheme: options.scheme } : {});
    if (ex) out.explained = ex.lines;
  }
  return out;
}

/** Structured, masked view of `elements` for pino and JSON. */
export function redactTlv(elements: readonly Tlv[], options: DescribeOptions = {}): RedactedTlv[] {
  const dict = options.dictionary ?? loadTagDictionary();
  return elements.map((t) => redactOne(t, dict, options));
}

/**
 * One line per element, children indented, e.g.
 * `9F26 Application Cryptogram (8): DEAE676D1C473411` or `57 Track 2 Equivalent Data (19): ***`.
 */
export function describeTlv(elements: readonly Tlv[], options: DescribeOptions = {}): string {
  const lines: string[] = [];
  const visit = (r: RedactedTlv, indent: string): void => {
    const head = `${indent}${r.tag}${r.name ? ` ${r.name}` : ''} (${r.length})`;
    if (r.children) {
      lines.push(`${head}:`);
      for (const c of r.children) visit(c, `${indent}  `);
      return;
    }
    lines.push(`${head}: ${r.value ?? ''}${r.text !== undefined ? ` "${r.text}"` : ''}`);
    for (const e of r.explained ?? []) lines.push(`${indent}    ${e}`);
  };
  for (const r of redactTlv(elements, options)) visit(r, '');
  return lines.join('\n');
}
