/**
 * AID to scheme, as data: protocols/emv/aids.json maps registered application provider identifiers
 * (RID, the first 5 bytes of an AID) to card schemes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CardScheme } from '../card/index.js';
import { emvDataDir } from './data-dir.js';
import { toHex } from './hex.js';
import { EmvDataError, ProblemList, checkKeys, isRecord } from './problems.js';

export interface RidEntry {
  rid: string;
  scheme: CardScheme;
  name: string;
}

const SCHEMES: readonly CardScheme[] = [
  'unionpay',
  'visa',
  'mastercard',
  'amex',
  'jcb',
  'discover',
  'diners',
];

/** Validates a parsed aids.json object. Throws `EmvDataError` listing all problems with their paths. */
export function compileAidTable(raw: unknown, file = 'aids.json'): ReadonlyMap<string, RidEntry> {
  const problems = new ProblemList();
  const table = new Map<string, RidEntry>();
  if (!isRecord(raw) || !Array.isArray(raw['rids'])) {
    problems.add(isRecord(raw) ? '/rids' : '', 'must be an object with a "rids" array');
    throw new EmvDataError('invalid_aid_table', file, problems.items);
  }
  checkKeys(raw, '', ['$comment', 'rids'], problems);
  (raw['rids'] as unknown[]).forEach((e, i) => {
    const path = `/rids/${i}`;
    if (!isRecord(e)) return problems.add(path, 'must be an object');
    checkKeys(e, path, ['rid', 'scheme', 'name'], problems);
    const rid = e['rid'];
    if (typeof rid !== 'string' || !/^[0-9A-F]{10}$/.test(rid))
      problems.add(`${path}/rid`, 'must be 10 upper-case hex digits');
    else if (table.has(rid)) problems.add(`${path}/rid`, `duplicates ${rid}`);
    if (!SCHEMES.includes(e['scheme'] as CardScheme))
      problems.add(`${path}/scheme`, `must be one of ${SCHEMES.join(', ')}`);
    if (typeof e['name'] !== 'string') problems.add(`${path}/name`, 'must be a string');
    if (typeof rid === 'string' && SCHEMES.includes(e['scheme'] as CardScheme) && !table.has(rid))
      table.set(rid, { rid, scheme: e['scheme'] as CardScheme, name: String(e['name']) });
  });
  if (!problems.empty) throw new EmvDataError('invalid_aid_table', file, problems.items);
  return table;
}

let defaultTable: ReadonlyMap<string, RidEntry> | undefined;

function table(): ReadonlyMap<string, RidEntry> {
  if (!defaultTable) {
    const path = join(emvDataDir(), 'aids.json');
    defaultTable = compileAidTable(JSON.parse(readFileSync(path, 'utf8')) as unknown, path);
  }
  return defaultTable;
}

/** The scheme of an AID (4F, 84 or 9F06 value) by its RID, or undefined when the RID is not listed. */
export function schemeOfAid(aid: Uint8Array): CardScheme | undefined {
  if (aid.length < 5) return undefined;
  return table().get(toHex(aid.subarray(0, 5)))?.scheme;
}
