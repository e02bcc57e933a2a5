import { Pan } from '../../src/card/index.js';
import type { Dialect, FieldSpec, Iso8583MessageInput } from '../../src/iso8583/index.js';
import { int, pick } from '../support/prng.js';

const DIGITS = '0123456789';
const NIBBLES = '0123456789ABCDEF';
const AN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ';
const ANS = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const HAN = '成功银联商户消费撤销退货余额查询河南省信息技术有限公司';

function chars(rand: () => number, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

/** Byte length `n` of GBK text: ASCII and two-byte Han characters mixed. */
function gbkText(rand: () => number, n: number): string {
  let s = '';
  let bytes = 0;
  while (bytes < n) {
    if (n - bytes >= 2 && rand() < 0.4) {
      s += HAN[Math.floor(rand() * HAN.length)];
      bytes += 2;
    } else {
      s += ANS[Math.floor(rand() * ANS.length)];
      bytes += 1;
    }
  }
  return s;
}

/** A random value valid for `spec`, in the shapes pack accepts. */
export function randomValue(rand: () => number, spec: FieldSpec): unknown {
  const cap = Math.min(spec.length, 60);
  const units = spec.prefix ? int(rand, spec.type === 'b' ? 0 : 0, cap) : spec.length;
  if (spec.subfields) {
    const k = int(rand, 1, spec.subfields.length);
    const parts: Record<string, string> = {};
    for (const sub of spec.subfields.slice(0, k))
      parts[sub.id] = chars(rand, sub.type === 'n' || spec.type === 'n' ? DIGITS : AN, sub.length);
    return parts;
  }
  switch (spec.type) {
    case 'n': {
      const n = spec.sensitive === 'pan' ? Math.max(1, Math.min(units, 19)) : units;
      const s = chars(rand, DIGITS, spec.count === 'bytes' ? n * 2 : n);
      return spec.sensitive === 'pan' ? Pan.fromDigits(s) : s;
    }
    case 'z':
      return chars(rand, spec.encoding === 'bcd' ? NIBBLES : '0123456789=', units);
    case 'x+n':
      return pick(rand, (spec.signChars ?? 'CD').split('')) + chars(rand, DIGITS, units);
    case 'b': {
      const b = Buffer.alloc(units);
      for (let i = 0; i < units; i++) b[i] = int(rand, 0, 255);
      return b;
    }
    case 'an':
      return chars(rand, AN, units);
    default:
      return spec.encoding === 'gbk'
        ? gbkText(rand, units)
        : chars(rand, spec.encoding === 'ascii' ? ANS : AN, units);
  }
}

/** A random message with a random subset of the dialect's fields (rules are not applied). */
export function randomMessage(rand: () => number, d: Dialect, mtis: readonly string[]): Iso8583MessageInput {
  const mti = pick(rand, mtis);
  const fields: Record<number, unknown> = {};
  const numbers = Object.keys(d.spec.fields).map(Number);
  const density = rand();
  for (const n of numbers) {
    if (rand() > density) continue;
    const spec = d.fieldSpec(mti, n);
    if (spec) fields[n] = randomValue(rand, spec);
  }
  return { mti, fields: fields as Iso8583MessageInput['fields'] };
}
