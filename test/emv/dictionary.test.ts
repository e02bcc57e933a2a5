import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALWAYS_SENSITIVE_TAGS,
  EmvDataError,
  compileAidTable,
  compileField55Profile,
  compileTagDictionary,
  listField55Profiles,
  loadField55Profile,
  loadTagDictionary,
  schemeOfAid,
} from '../../src/emv/index.js';

function problemsOf(fn: () => unknown): {
  code: string;
  path: string;
  problems: { path: string; message: string }[];
} {
  try {
    fn();
  } catch (e) {
    if (e instanceof EmvDataError) return { code: e.code, path: e.path, problems: [...e.problems] };
    throw e;
  }
  throw new Error('expected an EmvDataError');
}

const entry = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  tag: '9F26',
  name: 'Application Cryptogram',
  format: 'b',
  minLength: 8,
  maxLength: 8,
  source: 'card',
  sensitive: false,
  ...over,
});

/** The fixed sensitive tags, so a test dictionary passes that check. */
const sensitiveEntries = [...ALWAYS_SENSITIVE_TAGS].map((tag) =>
  entry({ tag, name: `sensitive ${tag}`, minLength: 0, maxLength: 255, sensitive: true }),
);

describe('tag dictionary (protocols/emv/tags.json)', () => {
  const dict = loadTagDictionary();

  it('covers the common EMV, UnionPay and contactless tags', () => {
    const required =
      `4F 50 57 5A 5F20 5F24 5F25 5F28 5F2A 5F30 5F34 71 72 82 84 86 87 88 89 8A 8C 8D 8E 8F 91 95 99 9A 9B 9C
      9F01 9F02 9F03 9F06 9F07 9F08 9F09 9F0D 9F0E 9F0F 9F10 9F11 9F12 9F15 9F16 9F18 9F19 9F1A 9F1C 9F1E 9F1F 9F20 9F21
      9F24 9F25 9F26 9F27 9F33 9F34 9F35 9F36 9F37 9F39 9F40 9F41 9F4E 9F53 9F5B 9F5D 9F63 9F66 9F6B 9F6C 9F6E 9F74 DF31`.split(
        /\s+/,
      );
    expect(required.filter((t) => !dict.has(t))).toEqual([]);
    expect(dict.size).toBeGreaterThanOrEqual(60);
  });

  it('marks exactly the never-stored tags sensitive', () => {
    const sensitive = dict
      .entries()
      .filter((e) => e.sensitive)
      .map((e) => e.tag)
      .sort();
    expect(sensitive).toEqual(['56', '57', '5A', '5F20', '5F24', '99', '9F0B', '9F1F', '9F20', '9F6B']);
    expect(dict.isSensitive('5a')).toBe(true);
    expect(dict.isSensitive('9F26')).toBe(false);
  });

  it('describes entries with format, lengths, source and form', () => {
    expect(dict.get('9F02')).toMatchObject({
      name: 'Amount, Authorised (Numeric)',
      format: 'n',
      minLength: 6,
      maxLength: 6,
      source: 'terminal',
    });
    expect(dict.get('91')).toMatchObject({ source: 'issuer', minLength: 8, maxLength: 16 });
    expect(dict.get('71')?.constructed).toBe(true);
    expect(dict.get('9F10')?.constructed).toBe(false);
  });

  it('reports every problem with its JSON path', () => {
    const r = problemsOf(() =>
      compileTagDictionary({
        tags: [
          entry({ format: 'x' }),
          entry({ tag: '9F36', source: 'reader', minLength: 3, maxLength: 2 }),
          entry({ tag: '9F26' }),
          entry({ tag: '9f27' }),
          entry({ tag: 'ZZ', colour: 'red' }),
          entry({ tag: '70', format: 'an' }),
          ...sensitiveEntries.map((e) => (e['tag'] === '57' ? { ...e, sensitive: false } : e)),
        ],
      }),
    );
    expect(r.code).toBe('invalid_tag_dictionary');
    expect(r.path).toBe('/tags/0/format');
    const at = r.problems.map((p) => p.path);
    expect(at).toEqual([
      '/tags/0/format',
      '/tags/1/source',
      '/tags/1/minLength',
      '/tags/2/tag',
      '/tags/3/tag',
      '/tags/4/colour',
      '/tags/4/tag',
      '/tags/5/format',
      `/tags/${6 + [...ALWAYS_SENSITIVE_TAGS].indexOf('57')}/sensitive`,
    ]);
    expect(r.problems[3]!.message).toMatch(/duplicates \/tags\/0\/tag/);
  });

  it('refuses a dictionary that lacks a never-stored tag, or is not an object', () => {
    const r = problemsOf(() =>
      compileTagDictionary({ tags: sensitiveEntries.filter((e) => e['tag'] !== '9F6B') }),
    );
    expect(r.problems).toEqual([{ path: '/tags', message: 'lacks 9F6B, which must be listed as sensitive' }]);
    expect(problemsOf(() => compileTagDictionary([])).path).toBe('');
    expect(problemsOf(() => compileTagDictionary({ tags: {} })).path).toBe('/tags');
  });

  it('loads a dictionary file and reports unreadable JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emv-dict-'));
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    expect(problemsOf(() => loadTagDictionary(join(dir, 'bad.json'))).code).toBe('invalid_tag_dictionary');
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ tags: [entry(), ...sensitiveEntries] }));
    expect(loadTagDictionary(join(dir, 'ok.json')).size).toBe(11);
  });
});

describe('field 55 profiles (protocols/emv/profiles)', () => {
  it('ships UnionPay request, reversal and script advice, Visa and Mastercard profiles, all valid', () => {
    const names = listField55Profiles();
    expect(names).toEqual([
      'cup-online-request',
      'cup-reversal',
      'cup-script-advice',
      'mastercard-online-request',
      'visa-online-request',
    ]);
    for (const n of names) expect(loadField55Profile(n).name).toBe(n);
  });

  it('UnionPay online request order is the order of the 20-tag vectors, then 9F63', () => {
    expect(
      loadField55Profile('cup-online-request')
        .tags.map((t) => t.tag)
        .join(' '),
    ).toBe('9F26 9F27 9F10 9F37 9F36 95 9A 9C 9F02 5F2A 82 9F1A 9F03 9F33 9F34 9F35 9F1E 84 9F09 9F41 9F63');
  });

  it('rejects sensitive, unknown and duplicate tags and incomplete conditions, naming each path', () => {
    const r = problemsOf(() =>
      compileField55Profile(
        {
          name: 'test-profile',
          title: 'test',
          scheme: 'unionpay',
          tags: [
            { tag: '9F26', presence: 'mandatory' },
            { tag: '57', presence: 'optional' },
            { tag: 'DF7F', presence: 'optional' },
            { tag: '9F26', presence: 'optional' },
            { tag: '9F34', presence: 'conditional' },
            { tag: '9F35', presence: 'sometimes' },
            { tag: '9F36', presence: 'mandatory', condition: 'always' },
          ],
        },
        { expectedName: 'other-name' },
      ),
    );
    expect(r.code).toBe('invalid_profile');
    expect(r.problems.map((p) => p.path)).toEqual([
      '/name',
      '/tags/1/tag',
      '/tags/2/tag',
      '/tags/3/tag',
      '/tags/4/condition',
      '/tags/5/presence',
      '/tags/6/condition',
    ]);
    expect(r.problems[1]!.message).toMatch(/sensitive/);
  });

  it('an unknown profile name is an error value with code unknown_profile', () => {
    expect(problemsOf(() => loadField55Profile('no-such-profile')).code).toBe('unknown_profile');
    expect(problemsOf(() => loadField55Profile('../tags')).code).toBe('unknown_profile');
  });
});

describe('AID to scheme table (protocols/emv/aids.json)', () => {
  it('maps the registered RIDs', () => {
    const aid = (h: string) => Buffer.from(h, 'hex');
    expect(schemeOfAid(aid('A000000333010101'))).toBe('unionpay');
    expect(schemeOfAid(aid('A0000000031010'))).toBe('visa');
    expect(schemeOfAid(aid('A0000000041010'))).toBe('mastercard');
    expect(schemeOfAid(aid('A00000002501'))).toBe('amex');
    expect(schemeOfAid(aid('A0000000651010'))).toBe('jcb');
    expect(schemeOfAid(aid('A0000001523010'))).toBe('discover');
    expect(schemeOfAid(aid('A0000009991010'))).toBeUndefined();
    expect(schemeOfAid(aid('A000'))).toBeUndefined();
  });

  it('validates entries with paths', () => {
    const r = problemsOf(() =>
      compileAidTable({
        rids: [
          { rid: 'a000000003', scheme: 'visa', name: 'x' },
          { rid: 'A000000004', scheme: 'maestro', name: 'y' },
        ],
      }),
    );
    expect(r.problems.map((p) => p.path)).toEqual(['/rids/0/rid', '/rids/1/scheme']);
  });
});
