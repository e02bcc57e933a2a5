import util from 'node:util';
import { describe, expect, it } from 'vitest';
import { lastFour, maskPan, Pan, SensitiveBytes } from '../../src/card/index.js';
import { leaksIn, PAN16, PAN19 } from './fixtures.js';

const pan = Pan.fromDigits(PAN19);
const MASKED19 = '622848*********0018';

/** Every text form we know of, for one value. */
function textForms(value: unknown): Record<string, string> {
  return {
    String: String(value),
    template: `${value as string}`,
    concat: '' + (value as string),
    json: JSON.stringify(value),
    jsonNested: JSON.stringify({ a: { b: [value] } }),
    inspect: util.inspect(value),
    inspectNested: util.inspect(
      { a: { b: [value, { c: value }] }, m: new Map([[value, value]]), s: new Set([value]) },
      { depth: 10 },
    ),
    inspectShowHidden: util.inspect(value, { showHidden: true, depth: 10 }),
    inspectNoCustom: util.inspect(value, { customInspect: false, showHidden: true, depth: 10 }),
    formatS: util.format('%s', value),
    formatO: util.format('%o', value),
    formatBigO: util.format('%O', value),
    formatJ: util.format('%j', value),
    formatD: util.format('%d %i %f', value, value, value),
    formatBare: util.format('card', value, [value], { value }),
    errorMessage: new Error(`declined for ${value as string}`).message,
    errorStack: new Error(`declined for ${value as string}`).stack ?? '',
    errorInspect: util.inspect(new Error(`declined for ${value as string}`, { cause: { value } })),
    objectKeys: JSON.stringify(Object.entries(value as object)),
    structuredClone: JSON.stringify(structuredClone({ value })),
  };
}

describe('Pan masking', () => {
  it('every text form is masked', () => {
    for (const [form, text] of Object.entries(textForms(pan))) {
      expect(leaksIn(text, PAN19), `${form}: ${text}`).toEqual([]);
    }
  });

  it('shows the masked form where a form shows anything', () => {
    expect(String(pan)).toBe(MASKED19);
    expect(`${pan}`).toBe(MASKED19);
    expect(JSON.stringify({ pan })).toBe(`{"pan":"${MASKED19}"}`);
    expect(util.inspect(pan)).toBe(`Pan(${MASKED19})`);
    expect(util.format('%s', pan)).toBe(MASKED19);
    expect(new Error(`bad ${pan}`).message).toBe(`bad ${MASKED19}`);
  });

  it('gives the clear digits only through reveal()', () => {
    expect(pan.reveal()).toBe(PAN19);
    expect(pan.lastFour).toBe('0018');
    expect(pan.bin).toBe('622848');
    expect(pan.length).toBe(19);
    expect(pan.equals(Pan.fromDigits(PAN19))).toBe(true);
    expect(pan.equals(Pan.fromDigits(PAN16))).toBe(false);
  });

  it('rejects non-digits without echoing the input', () => {
    const bad = `${PAN16}X`;
    try {
      Pan.fromDigits(bad);
      expect.unreachable();
    } catch (err) {
      expect((err as { code?: string }).code).toBe('invalid_pan');
      expect(leaksIn(String(err), PAN16)).toEqual([]);
    }
    expect(() => Pan.fromDigits('1'.repeat(20))).toThrow(/1 to 19/);
    expect(() => Pan.fromDigits('')).toThrow();
  });

  it('never rejects a PAN for its Luhn digit', () => {
    expect(() => Pan.fromDigits('4761739001010011')).not.toThrow();
  });
});

describe('SensitiveBytes masking', () => {
  const secret = SensitiveBytes.fromText(`${PAN19}D2512`, 'track2');
  it('every text form is masked', () => {
    for (const [form, text] of Object.entries(textForms(secret))) {
      expect(leaksIn(text, PAN19), `${form}: ${text}`).toEqual([]);
      expect(text, form).not.toContain('2512');
    }
    expect(String(secret)).toBe('***');
    expect(JSON.stringify({ secret })).toBe('{"secret":"***"}');
    expect(util.inspect(secret)).toBe('SensitiveBytes(track2, 24 bytes, ***)');
  });

  it('reveal gives a copy; wipe zeroes', () => {
    const bytes = Buffer.from('123456');
    const s = SensitiveBytes.from(bytes);
    bytes.fill(0);
    const copy = s.reveal();
    expect(copy.toString()).toBe('123456');
    copy.fill(0);
    expect(s.reveal().toString()).toBe('123456');
    s.wipe();
    expect(s.reveal().equals(Buffer.alloc(6))).toBe(true);
  });
});

describe('masking rules', () => {
  it('first 6 / last 4 for 16 to 19 digits', () => {
    expect(maskPan(PAN16)).toBe('476173******0010');
    expect(maskPan(PAN19)).toBe(MASKED19);
    expect(maskPan('1234567890123456789'.slice(0, 17))).toBe('123456*******4567');
  });

  it('fewer digits shown for short numbers, always at least six hidden', () => {
    expect(maskPan('4761739001010')).toBe('476******1010'); // 13
    expect(maskPan('476173900101')).toBe('47******0101'); // 12
    expect(maskPan('4761739001')).toBe('******9001'); // 10
    expect(maskPan('476173900')).toBe('*********'); // 9: nothing shown
    for (let len = 1; len <= 19; len++) {
      const digits = '1234567890123456789'.slice(0, len);
      const masked = maskPan(digits);
      expect(masked).toHaveLength(len);
      const hidden = [...masked].filter((c) => c === '*').length;
      expect(hidden, `length ${len}`).toBeGreaterThanOrEqual(Math.min(6, len));
      const head = /^[0-9]*/.exec(masked)![0];
      const tail = /[0-9]*$/.exec(masked)![0];
      expect(head.length).toBeLessThanOrEqual(6);
      expect(tail.length).toBeLessThanOrEqual(4);
      expect(digits.startsWith(head) && digits.endsWith(tail)).toBe(true);
    }
  });

  it('last four only for ten digits or more', () => {
    expect(lastFour(PAN16)).toBe('0010');
    expect(lastFour('123456789')).toBe('');
  });
});
