/**
 * The ZVT protocol tables, read from `protocols/zvt/*.json` at run time (BMP formats, result codes,
 * intermediate statuses, command layouts, terminal status codes). Every problem in a file is reported
 * at once with its JSON path, as a `ZvtError('bad_table')`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZvtError } from './errors.js';

export type BmpFormat = 'fixed' | 'llvar' | 'lllvar' | 'tlv';

export interface BmpSpec {
  bmp: string;
  name: string;
  format: BmpFormat;
  /** Fixed length in bytes (format `fixed`). */
  length?: number;
}

export interface FixedFieldSpec {
  name: string;
  length: number;
  optional: boolean;
}

export interface CommandSpec {
  code: string;
  name: string;
  direction: string;
  fixedFields: FixedFieldSpec[];
}

export interface ZvtTables {
  readonly dir: string;
  bmp(code: number): BmpSpec | undefined;
  /** Result code meaning (BMP 27, 06 1E, 84 xx); host codes 01–63 name the decimal host code. */
  resultMeaning(code: string): string | undefined;
  /** Meaning of a terminal's negative acknowledgement 84 <code> (errors-84.json, else the result-code table). */
  nackMeaning(code: string): string | undefined;
  intermediateText(code: string): string | undefined;
  terminalStatusMeaning(code: string): string | undefined;
  /** Command layout by code and sender (`06 D1` exists in both directions). */
  command(code: string, direction?: 'ECR->PT' | 'PT->ECR'): CommandSpec | undefined;
}

/** The installation's `protocols/zvt` folder, found by walking up from this module (src/ or dist/src/). */
export function zvtDataDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 7; i++) {
    const candidate = join(dir, 'protocols', 'zvt');
    if (existsSync(join(candidate, 'bitmaps.json'))) return candidate;
    dir = dirname(dir);
  }
  throw new ZvtError('bad_table', 'protocols/zvt folder not found next to the posbridge installation');
}

const cache = new Map<string, ZvtTables>();

export function loadZvtTables(dir: string = zvtDataDir()): ZvtTables {
  const hit = cache.get(dir);
  if (hit) return hit;
  const tables = compile(dir);
  cache.set(dir, tables);
  return tables;
}

type Obj = Record<string, unknown>;

function read(dir: string, file: string): Obj {
  try {
    const v = JSON.parse(readFileSync(join(dir, file), 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Obj;
  } catch (e) {
    throw new ZvtError('bad_table', `${file}: ${(e as Error).message}`, { path: '$' });
  }
}

const HEX2 = /^[0-9A-F]{2}$/;
const CODE = /^[0-9A-F]{2} [0-9A-F]{2}$/;

function compile(dir: string): ZvtTables {
  const problems: string[] = [];
  const arr = (o: Obj, key: string, file: string): Obj[] => {
    const v = o[key];
    if (!Array.isArray(v)) {
      problems.push(`${file} $.${key}: must be an array`);
      return [];
    }
    return v as Obj[];
  };

  const bmps = new Map<number, BmpSpec>();
  arr(read(dir, 'bitmaps.json'), 'bitmaps', 'bitmaps.json').forEach((b, i) => {
    const path = `bitmaps.json $.bitmaps[${i}]`;
    const code = String(b['bmp'] ?? '');
    const format = b['format'];
    if (!HEX2.test(code)) return problems.push(`${path}.bmp: two upper-case hex digits`);
    if (!['fixed', 'llvar', 'lllvar', 'tlv'].includes(String(format)))
      return problems.push(`${path}.format: fixed, llvar, lllvar or tlv`);
    const spec: BmpSpec = { bmp: code, name: String(b['name'] ?? code), format: format as BmpFormat };
    if (format === 'fixed') {
      const len = b['length'];
      if (!Number.isInteger(len) || (len as number) < 1)
        return problems.push(`${path}.length: positive integer`);
      spec.length = len as number;
    }
    if (bmps.has(parseInt(code, 16))) return problems.push(`${path}.bmp: ${code} defined twice`);
    bmps.set(parseInt(code, 16), spec);
  });

  const results = new Map<string, string>();
  let hostRange: string | undefined;
  const rc = read(dir, 'result-codes.json');
  arr(rc, 'resultCodes', 'result-codes.json').forEach((r, i) => {
    const code = String(r['code'] ?? '');
    const meaning = String(r['meaning'] ?? '');
    if (r['range'] === true && code === '01-63') hostRange = meaning;
    else if (HEX2.test(code) && meaning) results.set(code, meaning);
    else problems.push(`result-codes.json $.resultCodes[${i}]: code (2 hex digits) and meaning`);
  });
  const terminalStatus = new Map<string, string>();
  const ts = rc['terminalStatusCodes'] as Obj | undefined;
  arr(ts ?? {}, 'codes', 'result-codes.json terminalStatusCodes').forEach((r, i) => {
    const code = String(r['code'] ?? '');
    if (!HEX2.test(code))
      problems.push(`result-codes.json $.terminalStatusCodes.codes[${i}].code: 2 hex digits`);
    else terminalStatus.set(code, String(r['meaning'] ?? ''));
  });

  const nacks = new Map<string, string>();
  arr(read(dir, 'errors-84.json'), 'codes', 'errors-84.json').forEach((r, i) => {
    const code = String(r['aprc'] ?? '');
    // Only what a terminal means by it: answers an ECR gives (84 9C to a 04 0F, ...) are left out.
    if (HEX2.test(code)) {
      if (r['direction'] !== 'ECR->PT') nacks.set(code, String(r['meaning'] ?? ''));
    } else if (!code.startsWith('yy')) problems.push(`errors-84.json $.codes[${i}].aprc: 2 hex digits`);
  });

  const intermediate = new Map<string, string>();
  const is = read(dir, 'intermediate-status.json');
  for (const key of ['statusCodes', 'extraCodesInImplementations']) {
    arr(is, key, 'intermediate-status.json').forEach((r, i) => {
      const code = String(r['code'] ?? '');
      if (!HEX2.test(code))
        return problems.push(`intermediate-status.json $.${key}[${i}].code: 2 hex digits`);
      if (!intermediate.has(code)) intermediate.set(code, String(r['text'] ?? '').replace(/\n/g, ' / '));
    });
  }

  const commands = new Map<string, CommandSpec[]>();
  arr(read(dir, 'commands.json'), 'commands', 'commands.json').forEach((c, i) => {
    const path = `commands.json $.commands[${i}]`;
    const code = String(c['code'] ?? '');
    if (!CODE.test(code)) return; // `84 xx` and similar family rows
    const fixed: FixedFieldSpec[] = [];
    const ff = c['fixedFields'];
    if (ff !== undefined && !Array.isArray(ff)) return problems.push(`${path}.fixedFields: array`);
    ((ff as Obj[] | undefined) ?? []).forEach((f, j) => {
      const len = f['length'];
      if (!Number.isInteger(len) || (len as number) < 1)
        return problems.push(`${path}.fixedFields[${j}].length: positive integer`);
      fixed.push({
        name: String(f['name'] ?? `field${j}`),
        length: len as number,
        optional: f['optional'] === true,
      });
    });
    const spec: CommandSpec = {
      code,
      name: String(c['name'] ?? code),
      direction: String(c['direction'] ?? 'both'),
      fixedFields: fixed,
    };
    commands.set(code, [...(commands.get(code) ?? []), spec]);
  });

  if (problems.length)
    throw new ZvtError('bad_table', `${problems.length} problem(s): ${problems.join('; ')}`, {
      path: problems[0]!.split(' ')[1] ?? '$',
    });

  return {
    dir,
    bmp: (code) => bmps.get(code),
    resultMeaning(code) {
      const c = code.toUpperCase();
      const hit = results.get(c);
      if (hit) return hit;
      const n = parseInt(c, 16);
      if (hostRange && HEX2.test(c) && n >= 0x01 && n <= 0x63) return `${hostRange} (host code ${n})`;
      return undefined;
    },
    nackMeaning(code) {
      const c = code.toUpperCase();
      return nacks.get(c) ?? this.resultMeaning(c);
    },
    intermediateText: (code) => intermediate.get(code.toUpperCase()),
    terminalStatusMeaning: (code) => terminalStatus.get(code.toUpperCase()),
    command(code, direction) {
      const list = commands.get(code.toUpperCase());
      if (!list) return undefined;
      return (direction && list.find((c) => c.direction === direction)) || list[0];
    },
  };
}
