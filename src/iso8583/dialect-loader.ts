import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { Dialect, mergeFieldSpec } from './dialect.js';
import type { DialectFile, FieldSpec, MessageSpec } from './dialect-spec.js';
import { Iso8583Error } from './errors.js';
import { prefixMax } from './length-prefix.js';
import { protocolsDir } from './protocols-dir.js';

export interface DialectProblem {
  /** JSON pointer into the dialect file (after `extends` is resolved, into the merged dialect). */
  path: string;
  message: string;
}

/** A dialect file is invalid; `problems` lists every problem found, each with its JSON path. */
export class DialectError extends Iso8583Error {
  readonly problems: DialectProblem[];
  constructor(dialect: string, problems: DialectProblem[]) {
    super(
      'invalid_dialect',
      `dialect ${dialect}: ${problems.length} problem(s): ${problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ')}`,
      { field: problems[0]?.path },
    );
    this.problems = problems;
  }
}

let schemaValidator: ReturnType<Ajv['compile']> | undefined;

function validateSchema(raw: unknown): DialectProblem[] {
  if (!schemaValidator) {
    const schema = JSON.parse(
      readFileSync(join(protocolsDir(), 'iso8583', 'dialect.schema.json'), 'utf8'),
    ) as object;
    schemaValidator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  if (schemaValidator(raw)) return [];
  return (schemaValidator.errors ?? []).map((e: ErrorObject) => ({
    path:
      e.instancePath +
      (e.keyword === 'additionalProperties' ? `/${String(e.params['additionalProperty'])}` : ''),
    message: e.keyword === 'additionalProperties' ? 'is not a known property' : (e.message ?? 'is invalid'),
  }));
}

export interface LoadOptions {
  /** Folder of dialect files (default: the installation's protocols/iso8583). */
  dir?: string;
}

const cache = new Map<string, Dialect>();

/** Loads a dialect by name (`cup-pos`, `iso87-ascii`, ...) or by file path; compiled dialects are cached. */
export function loadDialect(nameOrPath: string, options: LoadOptions = {}): Dialect {
  const dir = options.dir ?? join(protocolsDir(), 'iso8583');
  const key = `${dir}\0${nameOrPath}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const read = (name: string): unknown =>
    readDialectFile(name.endsWith('.json') ? name : join(dir, `${name}.json`), name);
  const dialect = compileDialect(read(nameOrPath), read);
  cache.set(key, dialect);
  return dialect;
}

/** Names of the dialects shipped in protocols/iso8583. */
export function listDialects(dir = join(protocolsDir(), 'iso8583')): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

function readDialectFile(path: string, name: string): unknown {
  if (!existsSync(path))
    throw new Iso8583Error('unknown_dialect', `no dialect named ${name}`, { field: name });
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new DialectError(name, [{ path: '', message: `is not valid JSON (${(e as Error).message})` }]);
  }
}

/**
 * Validates a dialect object (schema, then meaning), resolves `extends` through `resolve`, and compiles it.
 * Every problem is reported at once, each with its JSON path.
 */
export function compileDialect(raw: unknown, resolve: (name: string) => unknown = () => undefined): Dialect {
  return new Dialect(resolveDialect(raw, resolve, []));
}

function resolveDialect(raw: unknown, resolve: (name: string) => unknown, chain: string[]): DialectFile {
  const name =
    typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string'
      ? (raw as { name: string }).name
      : '?';
  const problems = validateSchema(raw);
  if (problems.length) throw new DialectError(name, problems);
  const file = raw as DialectFile;
  let merged: DialectFile;
  if (file.extends) {
    if (chain.includes(file.extends) || file.extends === name) {
      throw new DialectError(name, [
        { path: '/extends', message: `forms a cycle (${[...chain, name, file.extends].join(' -> ')})` },
      ]);
    }
    const parentRaw = resolve(file.extends);
    if (parentRaw === undefined)
      throw new DialectError(name, [
        { path: '/extends', message: `names an unknown dialect ${file.extends}` },
      ]);
    merged = mergeDialects(resolveDialect(parentRaw, resolve, [...chain, name]), file);
  } else {
    merged = file;
  }
  const meaning = checkMeaning(merged);
  if (meaning.length) throw new DialectError(name, meaning);
  return merged;
}

function mergeDialects(parent: DialectFile, child: DialectFile): DialectFile {
  const fields: Record<string, FieldSpec | null> = { ...parent.fields };
  for (const [k, f] of Object.entries(child.fields ?? {})) {
    const m = mergeFieldSpec(parent.fields[k] ?? undefined, f);
    if (m) fields[k] = m;
    else delete fields[k];
  }
  const messages: Record<string, MessageSpec> = { ...(parent.messages ?? {}) };
  for (const [mti, m] of Object.entries(child.messages ?? {})) {
    const base = messages[mti] ?? {};
    messages[mti] = {
      ...base,
      ...m,
      fields: { ...(base.fields ?? {}), ...(m.fields ?? {}) },
      rules: m.rules ?? base.rules,
    };
  }
  return {
    name: child.name,
    description: child.description ?? parent.description,
    extends: child.extends,
    mti: child.mti ?? parent.mti,
    bitmap: child.bitmap ?? parent.bitmap,
    framing:
      parent.framing || child.framing
        ? ({ ...parent.framing, ...child.framing } as DialectFile['framing'])
        : undefined,
    // Shallow: a child names only what it changes (cup-pos-dukpt adds `dukpt`).
    mac: child.mac ? ({ ...parent.mac, ...child.mac } as DialectFile['mac']) : parent.mac,
    exchanges: parent.exchanges || child.exchanges ? { ...parent.exchanges, ...child.exchanges } : undefined,
    mtiNames: { ...(parent.mtiNames ?? {}), ...(child.mtiNames ?? {}) },
    fields,
    messages,
  };
}

const TYPE_ENCODINGS: Record<string, readonly string[]> = {
  n: ['bcd', 'ascii', 'ebcdic-037', 'ebcdic-1047'],
  z: ['bcd', 'ascii', 'ebcdic-037', 'ebcdic-1047'],
  'x+n': ['bcd', 'ascii', 'ebcdic-037', 'ebcdic-1047'],
  an: ['ascii', 'ebcdic-037', 'ebcdic-1047', 'gbk'],
  ans: ['ascii', 'ebcdic-037', 'ebcdic-1047', 'gbk'],
  b: ['binary', 'hex'],
};

/** Checks what a schema cannot: complete fields, consistent lengths, a usable MAC field, known rule fields. */
function checkMeaning(d: DialectFile): DialectProblem[] {
  const problems: DialectProblem[] = [];
  const add = (path: string, message: string): void => {
    problems.push({ path, message });
  };
  if (!d.mti) add('/mti', 'is required (directly or through extends)');
  if (!d.bitmap) add('/bitmap', 'is required (directly or through extends)');
  const checkField = (path: string, k: string, f: FieldSpec): void => {
    for (const req of ['name', 'type', 'encoding', 'length'] as const) {
      if (f[req] === undefined) add(`${path}/${req}`, 'is required');
    }
    if (f.type === undefined || f.encoding === undefined || f.length === undefined) return;
    if (d.bitmap?.tertiary && k === '65') add(path, 'field 65 is the tertiary bitmap in this dialect');
    if (!TYPE_ENCODINGS[f.type]!.includes(f.encoding)) {
      add(
        `${path}/encoding`,
        `${f.encoding} cannot carry type ${f.type} (expected one of ${TYPE_ENCODINGS[f.type]!.join(', ')})`,
      );
    }
    if (f.prefix) {
      const wireCount = f.count === 'bytes' ? f.length : f.length;
      if (wireCount > prefixMax(f.prefix))
        add(
          `${path}/length`,
          `${f.length} does not fit a ${f.prefix.digits}-digit ${f.prefix.encoding} prefix`,
        );
    }
    if (f.pad !== undefined && f.encoding === 'bcd' && !/^[0-9A-F]$/.test(f.pad))
      add(`${path}/pad`, 'a BCD pad must be one hex nibble 0-9 or A-F');
    if (f.count === 'bytes' && f.encoding !== 'bcd')
      add(`${path}/count`, '"bytes" only applies to BCD fields');
    if (f.sensitive === 'pan' && f.type !== 'n') add(`${path}/sensitive`, 'a PAN field must be type n');
    if (f.subfields) {
      if (f.type === 'b') add(`${path}/subfields`, 'subfields need a digit or text field');
      const total = f.subfields.reduce((s, x) => s + x.length, 0);
      if (total > f.length) add(`${path}/subfields`, `total ${total} exceeds the field length ${f.length}`);
      const ids = new Set<string>();
      f.subfields.forEach((s, i) => {
        if (ids.has(s.id)) add(`${path}/subfields/${i}/id`, `duplicates ${s.id}`);
        ids.add(s.id);
      });
      if (f.sensitive) add(`${path}/sensitive`, 'a composite field cannot be sensitive');
    }
  };
  for (const [k, f] of Object.entries(d.fields ?? {})) if (f) checkField(`/fields/${k}`, k, f);
  for (const [mti, m] of Object.entries(d.messages ?? {})) {
    for (const [k, o] of Object.entries(m.fields ?? {})) {
      const merged = mergeFieldSpec(d.fields[k] ?? undefined, o);
      if (merged) checkField(`/messages/${mti}/fields/${k}`, k, merged);
    }
    (m.rules ?? []).forEach((r, i) => {
      for (const list of ['mandatory', 'optional', 'forbidden'] as const) {
        (r[list] ?? []).forEach((n, j) => {
          const defined = (m.fields && n in m.fields ? m.fields[n] !== null : false) || Boolean(d.fields[n]);
          if (!defined)
            add(`/messages/${mti}/rules/${i}/${list}/${j}`, `field ${n} is not defined in this dialect`);
        });
      }
    });
  }
  if (d.mac) {
    if (d.mac.field === undefined) add('/mac', "must have required property 'field'");
    if (d.mac.input === undefined) add('/mac', "must have required property 'input'");
    for (const key of ['field', 'fieldWithSecondary'] as const) {
      const n = d.mac[key];
      if (n === undefined) continue;
      const f = d.fields[n];
      if (!f) add(`/mac/${key}`, `field ${n} is not defined`);
      else if (f.type !== 'b' || f.prefix) add(`/mac/${key}`, `field ${n} must be a fixed-length b field`);
    }
    if (d.mac.dukpt && !Object.values(d.fields).some((f) => f?.content === 'dukpt-ksn'))
      add('/mac/dukpt', "DUKPT MACs need a field whose content is 'dukpt-ksn' (where the KSN travels)");
  }
  const fr = d.framing;
  if (fr?.headerParts && fr.header) {
    const nibbles = fr.headerParts.reduce((s, p) => s + p.nibbles, 0);
    if (nibbles !== fr.header.length)
      add('/framing/headerParts', `cover ${nibbles} nibbles but the header has ${fr.header.length}`);
  }
  return problems;
}
