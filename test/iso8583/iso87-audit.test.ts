import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  compileDialect,
  loadDialect,
  protocolsDir,
  type DataType,
  type Dialect,
  type FieldSpec,
} from '../../src/iso8583/index.js';

/**
 * Audits iso87-ascii and iso87-binary against the ISO 8583:1987 data element table in
 * test/vectors/iso8583-1987-data-elements.json. For every field 1-128 it compares type, length and
 * fixed/LLVAR/LLLVAR. Wire encoding is not compared: the binary dialect's BCD digits and BCD length
 * prefixes mean the same as the ASCII dialect's.
 */

type LengthType = 'fixed' | 'LLVAR' | 'LLLVAR';

interface Layout {
  type: DataType;
  length: number;
  lengthType: LengthType;
}

interface Deviation extends Layout {
  reason: string;
}

interface TableEntry {
  field: number;
  name: string;
  attribute: string;
  type: string;
  length: number;
  lengthType: LengthType;
  expect: Layout;
  dialectField?: false;
  sources: Record<string, string>;
  deviations?: Record<string, Deviation>;
}

interface Source {
  repo: string;
  path: string;
  commit: string;
  what: string;
}

interface Table {
  conventions: Record<string, string>;
  sources: Record<string, Source>;
  fields: TableEntry[];
}

const here = dirname(fileURLToPath(import.meta.url));
const table = JSON.parse(
  readFileSync(join(here, '..', 'vectors', 'iso8583-1987-data-elements.json'), 'utf8'),
) as Table;

const DIALECTS = ['iso87-ascii', 'iso87-binary'] as const;

/** Codec type for each ISO 8583:1987 type letter (the codec has no ns; ans is the narrowest that holds it). */
const CODEC_TYPE: Record<string, DataType> = {
  n: 'n',
  an: 'an',
  ans: 'ans',
  ns: 'ans',
  z: 'z',
  b: 'b',
  'x+n': 'x+n',
};

/** What a table entry requires of a field: ISO 8583:1987 counts b in bits, FieldSpec counts bytes. */
function derive(e: TableEntry): Layout {
  const type = CODEC_TYPE[e.type];
  if (!type) throw new Error(`field ${e.field}: unknown type letter ${e.type}`);
  return { type, length: e.type === 'b' ? Math.ceil(e.length / 8) : e.length, lengthType: e.lengthType };
}

function lengthTypeOf(f: FieldSpec): string {
  if (!f.prefix) return 'fixed';
  if (f.prefix.digits === 2) return 'LLVAR';
  if (f.prefix.digits === 3) return 'LLLVAR';
  return `${f.prefix.digits}-digit prefix`;
}

/** Every difference between a dialect and the table, one message per field and attribute. */
function audit(d: Dialect): string[] {
  const problems: string[] = [];
  // The base field table, then each message type that overrides fields.
  const tables: [string, (n: number) => FieldSpec | undefined][] = [
    ['', (n) => d.spec.fields[String(n)] ?? undefined],
    ...Object.keys(d.spec.messages ?? {})
      .filter((mti) => d.spec.messages![mti]!.fields)
      .map((mti): [string, (n: number) => FieldSpec | undefined] => [
        ` (MTI ${mti})`,
        (n) => d.fieldSpec(mti, n),
      ]),
  ];
  for (const [where, spec] of tables) {
    for (const e of table.fields) {
      const at = `${d.name}${where} field ${e.field} (${e.name})`;
      const f = spec(e.field);
      if (e.dialectField === false) {
        if (f) problems.push(`${at}: is defined as a data field; the codec handles it as a bitmap`);
        continue;
      }
      if (!f) {
        problems.push(`${at}: is not defined; ISO 8583:1987 has it as ${e.attribute}`);
        continue;
      }
      const deviation = e.deviations?.[d.name];
      const want = deviation ?? e.expect;
      const says = deviation
        ? `the table's documented deviation says`
        : `ISO 8583:1987 says ${e.attribute}, so`;
      if (f.type !== want.type) problems.push(`${at}: type is ${f.type}; ${says} type ${want.type}`);
      if (f.length !== want.length)
        problems.push(`${at}: length is ${f.length}; ${says} length ${want.length}`);
      const lt = lengthTypeOf(f);
      if (lt !== want.lengthType) problems.push(`${at}: length type is ${lt}; ${says} ${want.lengthType}`);
      if (f.count === 'bytes')
        problems.push(`${at}: its prefix counts bytes; ISO 8583:1987 prefixes count digits or characters`);
    }
  }
  return problems;
}

function rawDialect(name: string): Record<string, unknown> & { fields: Record<string, FieldSpec> } {
  return JSON.parse(readFileSync(join(protocolsDir(), 'iso8583', `${name}.json`), 'utf8')) as Record<
    string,
    unknown
  > & { fields: Record<string, FieldSpec> };
}

describe('ISO 8583:1987 data element table (test/vectors/iso8583-1987-data-elements.json)', () => {
  it('lists fields 1-128 once each, in order', () => {
    expect(table.fields.map((e) => e.field)).toEqual(Array.from({ length: 128 }, (_, i) => i + 1));
  });

  it('cites a repository, path and commit for every source, and every field quotes only cited sources', () => {
    for (const [key, s] of Object.entries(table.sources)) {
      expect(s.repo, key).toMatch(/^[\w.-]+\/[\w.-]+$/);
      expect(s.path, key).not.toBe('');
      expect(s.commit, key).toMatch(/^[0-9a-f]{40}$/);
      expect(s.what, key).not.toBe('');
    }
    for (const e of table.fields) {
      expect(Object.keys(e.sources).length, `field ${e.field}`).toBeGreaterThan(0);
      for (const k of Object.keys(e.sources))
        expect(table.sources, `field ${e.field} quotes ${k}`).toHaveProperty(k);
    }
  });

  it('derives each expect from the ISO attribute (type letter, bits to bytes, prefix)', () => {
    for (const e of table.fields) {
      const dots = { fixed: '', LLVAR: '..', LLLVAR: '...' }[e.lengthType];
      expect(e.attribute, `field ${e.field}`).toBe(`${e.type} ${dots}${e.length}`);
      expect(e.expect, `field ${e.field}`).toEqual(derive(e));
    }
  });

  it('gives a reason for every deviation, and a deviation really differs from the table', () => {
    for (const e of table.fields) {
      for (const [dialect, dev] of Object.entries(e.deviations ?? {})) {
        expect(DIALECTS as readonly string[], `field ${e.field}`).toContain(dialect);
        expect(dev.reason.length, `field ${e.field} ${dialect}`).toBeGreaterThan(20);
        const { reason: _reason, ...layout } = dev;
        expect(layout, `field ${e.field} ${dialect} deviation equals the table`).not.toEqual(e.expect);
      }
    }
  });
});

describe('iso87 dialects match the ISO 8583:1987 data element table', () => {
  for (const name of DIALECTS) {
    it(`${name}: type, length and length prefix of fields 1-128`, () => {
      expect(audit(loadDialect(name))).toEqual([]);
    });
  }

  it('the audit reports field 92 typed n (the reported defect), and wrong lengths and prefixes', () => {
    const ascii = rawDialect('iso87-ascii');
    ascii.fields['92'] = { name: 'File security code', type: 'n', encoding: 'ascii', length: 2 };
    ascii.fields['54'] = { ...ascii.fields['54']!, length: 240 };
    ascii.fields['2'] = { ...ascii.fields['2']!, prefix: { encoding: 'ascii', digits: 3 } };
    expect(audit(compileDialect(ascii))).toEqual([
      'iso87-ascii field 2 (Primary account number): length type is LLLVAR; ISO 8583:1987 says n ..19, so LLVAR',
      'iso87-ascii field 54 (Additional amounts): length is 240; ISO 8583:1987 says an ...120, so length 120',
      'iso87-ascii field 92 (File security code): type is n; ISO 8583:1987 says an 2, so type an',
    ]);

    const binary = rawDialect('iso87-binary');
    binary.fields['92'] = { name: 'File security code', type: 'n', encoding: 'bcd', length: 2 };
    expect(audit(compileDialect(binary))).toEqual([
      'iso87-binary field 92 (File security code): type is n; ISO 8583:1987 says an 2, so type an',
    ]);
  });
});
