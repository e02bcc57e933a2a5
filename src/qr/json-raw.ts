/**
 * The exact source text of each top-level member of a JSON object. Alipay signs the bytes of the
 * `<method>_response` value as it sent them; re-serialising the parsed value (escapes, spacing, number
 * forms) would not give the same bytes, so verification must use the raw substring.
 */
export class RawJsonError extends Error {}

function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++;
  return i;
}

function endOfString(s: string, i: number): number {
  // s[i] === '"'
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') j++;
    else if (c === '"') return j + 1;
  }
  throw new RawJsonError('unterminated string');
}

function endOfValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return endOfString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s[j];
      if (d === '"') {
        j = endOfString(s, j) - 1;
      } else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new RawJsonError('unterminated value');
  }
  let j = i;
  while (j < s.length && !/[,}\]\s]/.test(s[j]!)) j++;
  if (j === i) throw new RawJsonError('value expected');
  return j;
}

/** Map of member name → raw value text. Throws RawJsonError when `text` is not a JSON object. */
export function rawMembers(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = skipWs(text, 0);
  if (text[i] !== '{') throw new RawJsonError('not a JSON object');
  i = skipWs(text, i + 1);
  if (text[i] === '}') return out;
  for (;;) {
    if (text[i] !== '"') throw new RawJsonError('member name expected');
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') throw new RawJsonError('":" expected');
    i = skipWs(text, i + 1);
    const end = endOfValue(text, i);
    out.set(key, text.slice(i, end));
    i = skipWs(text, end);
    if (text[i] === ',') {
      i = skipWs(text, i + 1);
      continue;
    }
    if (text[i] === '}') break;
    throw new RawJsonError('"," or "}" expected');
  }
  if (skipWs(text, i + 1) !== text.length) throw new RawJsonError('text after the object');
  return out;
}
