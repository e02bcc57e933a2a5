/**
 * Renders the protocol schemas into `docs/protocol.schema.json` and the reference part of
 * `docs/protocol.md` (between the GENERATED markers; the prose around them is written by hand).
 *
 *   npx tsx src/api/render-docs.ts           # regenerate both files
 *   npx tsx src/api/render-docs.ts --check   # exit 1 when either is out of date
 *
 * test/api/docs.test.ts fails when the files are out of date with the schemas in code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFS, ERROR_CODES, METHODS, NOTIFICATIONS, protocolSchema, type JsonSchema } from './schemas.js';

export const BEGIN_MARKER = '<!-- BEGIN GENERATED REFERENCE: npx tsx src/api/render-docs.ts -->';
export const END_MARKER = '<!-- END GENERATED REFERENCE -->';

/** Definitions shown as their own tables (objects); primitive definitions are inlined where used. */
const TABLE_DEFS = [
  'Payment',
  'Card',
  'HostFacts',
  'Submitted',
  'PaymentEvent',
  'OrderSummary',
  'Terminal',
  'ErrorData',
  'Receipt',
  'BatchRecord',
];

function refName(s: JsonSchema): string | undefined {
  const r = s['$ref'];
  return typeof r === 'string' ? r.replace('#/$defs/', '') : undefined;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (name: string): string =>
  `#${name
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-')}`;

function typeText(s: JsonSchema): string {
  const name = refName(s);
  if (name) {
    const def = DEFS[name];
    if (def && def['type'] !== 'object' && !Array.isArray(def['enum'])) return typeText(def);
    return `[${name}](${anchor(name)})`;
  }
  if (Array.isArray(s['anyOf'])) return (s['anyOf'] as JsonSchema[]).map(typeText).join(' | ');
  if (Array.isArray(s['enum'])) {
    const values = s['enum'] as unknown[];
    return values.length > 6
      ? 'string (see below)'
      : values.map((v) => `\`${JSON.stringify(v)}\``).join(' | ');
  }
  if ('const' in s) return `\`${JSON.stringify(s['const'])}\``;
  const t = s['type'];
  if (t === 'array') return `${typeText((s['items'] as JsonSchema) ?? {})}[]`;
  if (t === 'integer' || t === 'number') {
    const min = s['minimum'];
    const max = s['maximum'];
    if (min !== undefined && max !== undefined) return `${t} ${String(min)}..${String(max)}`;
    if (min !== undefined) return `${t} ≥ ${String(min)}`;
    return String(t);
  }
  if (t === 'string') {
    const parts: string[] = [];
    if (s['minLength'] !== undefined || s['maxLength'] !== undefined)
      parts.push(`${String(s['minLength'] ?? 0)}..${String(s['maxLength'] ?? '')} chars`);
    if (typeof s['pattern'] === 'string' && !(s['pattern'] as string).startsWith('^[^\\u0000'))
      parts.push(`\`${s['pattern'] as string}\``);
    return parts.length ? `string (${parts.join(', ')})` : 'string';
  }
  return typeof t === 'string' ? t : 'any';
}

function description(s: JsonSchema): string {
  const own = s['description'];
  if (typeof own === 'string') return own;
  const name = refName(s);
  const def = name ? DEFS[name] : undefined;
  if (def && def['type'] !== 'object' && !Array.isArray(def['enum'])) return description(def);
  return '';
}

/** GFM table cells: every pipe escaped, code spans included. */
const cell = (t: string): string => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function fieldTable(s: JsonSchema): string {
  const props = (s['properties'] as Record<string, JsonSchema> | undefined) ?? {};
  const required = new Set((s['required'] as string[] | undefined) ?? []);
  const names = Object.keys(props);
  if (names.length === 0) return '_none_\n';
  const rows = names.map(
    (n) =>
      `| \`${n}\` | ${cell(typeText(props[n]!))} | ${required.has(n) ? 'yes' : ''} | ${cell(description(props[n]!))} |`,
  );
  return ['| field | type | required | meaning |', '|---|---|---|---|', ...rows, ''].join('\n');
}

function shape(s: JsonSchema): string {
  const name = refName(s);
  if (name) return `[${name}](${anchor(name)})\n`;
  const extra = typeof s['description'] === 'string' ? `${s['description'] as string}\n\n` : '';
  return extra + fieldTable(s);
}

/** The generated reference (markdown). */
export function renderReference(): string {
  const out: string[] = [];
  out.push('## Methods', '');
  out.push('| method | before hello | what it does |', '|---|---|---|');
  for (const [name, m] of Object.entries(METHODS))
    out.push(`| [\`${name}\`](${anchor(name)}) | ${m.beforeHello ? 'yes' : ''} | ${cell(m.summary)} |`);
  out.push('');
  for (const [name, m] of Object.entries(METHODS)) {
    out.push(
      `### ${name}`,
      '',
      m.summary,
      '',
      '**Params**',
      '',
      shape(m.params),
      '**Result**',
      '',
      shape(m.result),
    );
    if (m.errors.length)
      out.push(`**Errors** (besides the common ones): ${m.errors.map((e) => `\`${e}\``).join(', ')}`, '');
  }
  out.push('## Notifications', '');
  for (const [name, n] of Object.entries(NOTIFICATIONS))
    out.push(`### ${name}`, '', n.summary, '', `**Params**: ${shape(n.params)}`);
  out.push('## Types', '');
  for (const name of TABLE_DEFS) {
    const def = DEFS[name]!;
    out.push(
      `### ${name}`,
      '',
      ...(typeof def['description'] === 'string' ? [def['description'] as string, ''] : []),
      fieldTable(def),
    );
  }
  for (const name of ['PaymentKind', 'PaymentState', 'ReaderProgress', 'ReceiptCopy', 'BatchState']) {
    const def = DEFS[name]!;
    const values = (def['enum'] as string[]).map((v) => `\`${v}\``).join(', ');
    out.push(
      `### ${name}`,
      '',
      ...(typeof def['description'] === 'string' ? [def['description'] as string, ''] : []),
      values,
      '',
    );
  }
  out.push('## Error codes', '');
  out.push(
    'Every error answer is `{"jsonrpc":"2.0","id":…,"error":{"code":<JSON-RPC code>,"message":…,"data":{"code":<string>,"retryable":<bool>,"path"?:…}}}`. ' +
      'Common to every method: `invalid_params`, `unauthorized`, `too_many_requests`, `internal_error`.',
    '',
  );
  out.push('| `data.code` | JSON-RPC code | retryable | meaning |', '|---|---|---|---|');
  for (const [code, e] of Object.entries(ERROR_CODES))
    out.push(`| \`${code}\` | ${e.rpc} | ${e.retryable ? 'yes' : 'no'} | ${cell(e.meaning)} |`);
  out.push('');
  return out.join('\n');
}

export function renderSchemaJson(): string {
  return `${JSON.stringify(protocolSchema(), null, 2)}\n`;
}

/** `docs/protocol.md` with its generated region replaced. */
export function renderProtocolMd(current: string): string {
  const start = current.indexOf(BEGIN_MARKER);
  const end = current.indexOf(END_MARKER);
  if (start < 0 || end < start) throw new Error('docs/protocol.md lacks the GENERATED markers');
  return `${current.slice(0, start + BEGIN_MARKER.length)}\n\n${renderReference()}\n${current.slice(end)}`;
}

export function repoRoot(): string {
  // src/api/render-docs.ts or dist/src/api/render-docs.js
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'src')}`) ? resolve(here, '../../..') : resolve(here, '../..');
}

function main(): void {
  const root = repoRoot();
  const md = join(root, 'docs/protocol.md');
  const json = join(root, 'docs/protocol.schema.json');
  const currentMd = readFileSync(md, 'utf8');
  const wantMd = renderProtocolMd(currentMd);
  const wantJson = renderSchemaJson();
  let currentJson = '';
  try {
    currentJson = readFileSync(json, 'utf8');
  } catch {
    // first run
  }
  if (process.argv.includes('--check')) {
    const stale = [
      currentMd !== wantMd && 'docs/protocol.md',
      currentJson !== wantJson && 'docs/protocol.schema.json',
    ].filter(Boolean);
    if (stale.length) {
      console.error(`out of date: ${stale.join(', ')} (run npx tsx src/api/render-docs.ts)`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(md, wantMd);
  writeFileSync(json, wantJson);
  console.log('wrote docs/protocol.md (reference) and docs/protocol.schema.json');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
