/**
 * Field 55 profiles: protocols/emv/profiles/<name>.json. A profile lists the tags a message carries,
 * in the order they go on the wire, each mandatory, optional or conditional (with the condition in
 * words). Validation names the JSON path of every problem; a profile may not list a sensitive tag or a
 * tag the dictionary does not know.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CardScheme } from '../card/index.js';
import { emvDataDir } from './data-dir.js';
import { loadTagDictionary, type TagDictionary } from './dictionary.js';
import { EmvDataError, ProblemList, checkKeys, isRecord } from './problems.js';

export type Presence = 'mandatory' | 'optional' | 'conditional';

export interface ProfileTag {
  readonly tag: string;
  readonly presence: Presence;
  /** For conditional tags: when the tag is expected (in words; the engine judges). */
  readonly condition?: string;
  readonly note?: string;
}

export interface Field55Profile {
  readonly name: string;
  readonly title: string;
  readonly scheme: CardScheme;
  readonly tags: readonly ProfileTag[];
}

const PRESENCE: readonly Presence[] = ['mandatory', 'optional', 'conditional'];
const SCHEMES: readonly CardScheme[] = [
  'unionpay',
  'visa',
  'mastercard',
  'amex',
  'jcb',
  'discover',
  'diners',
  'unknown',
];

/** Validates a parsed profile object against the dictionary. Throws `EmvDataError` listing all problems. */
export function compileField55Profile(
  raw: unknown,
  options: { file?: string; dictionary?: TagDictionary; expectedName?: string } = {},
): Field55Profile {
  const file = options.file ?? 'profile';
  const dict = options.dictionary ?? loadTagDictionary();
  const problems = new ProblemList();
  if (!isRecord(raw)) {
    problems.add('', 'must be an object');
    throw new EmvDataError('invalid_profile', file, problems.items);
  }
  checkKeys(raw, '', ['$comment', 'name', 'title', 'scheme', 'tags'], problems);
  const name = raw['name'];
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(name))
    problems.add('/name', 'must be a lower-case name of letters, digits and dashes');
  else if (options.expectedName !== undefined && name !== options.expectedName)
    problems.add('/name', `must match the file name (${options.expectedName})`);
  if (typeof raw['title'] !== 'string' || raw['title'] === '')
    problems.add('/title', 'must be a non-empty string');
  if (!SCHEMES.includes(raw['scheme'] as CardScheme))
    problems.add('/scheme', `must be one of ${SCHEMES.join(', ')}`);
  const tags: ProfileTag[] = [];
  if (!Array.isArray(raw['tags']) || raw['tags'].length === 0)
    problems.add('/tags', 'must be a non-empty array');
  else {
    const seen = new Map<string, number>();
    (raw['tags'] as unknown[]).forEach((e, i) => {
      const path = `/tags/${i}`;
      if (!isRecord(e)) {
        problems.add(path, 'must be an object');
        return;
      }
      checkKeys(e, path, ['tag', 'presence', 'condition', 'note'], problems);
      const before = problems.items.length;
      const tag = e['tag'];
      if (typeof tag !== 'string') problems.add(`${path}/tag`, 'must be a string');
      else if (!dict.has(tag) || dict.get(tag)!.tag !== tag)
        problems.add(`${path}/tag`, `${tag} is not in the tag dictionary (upper-case hex expected)`);
      else if (dict.isSensitive(tag))
        problems.add(`${path}/tag`, `${tag} is sensitive and never goes into field 55`);
      else {
        const dup = seen.get(tag);
        if (dup !== undefined) problems.add(`${path}/tag`, `duplicates /tags/${dup}/tag (${tag})`);
        else seen.set(tag, i);
      }
      const presence = e['presence'];
      if (!PRESENCE.includes(presence as Presence))
        problems.add(`${path}/presence`, `must be one of ${PRESENCE.join(', ')}`);
      const condition = e['condition'];
      if (presence === 'conditional' && (typeof condition !== 'string' || condition === ''))
        problems.add(`${path}/condition`, 'a conditional tag needs its condition in words');
      if (presence !== 'conditional' && condition !== undefined)
        problems.add(`${path}/condition`, 'only conditional tags have a condition');
      if (e['note'] !== undefined && typeof e['note'] !== 'string')
        problems.add(`${path}/note`, 'must be a string');
      if (problems.items.length > before) return;
      tags.push({
        tag: tag as string,
        presence: presence as Presence,
        ...(typeof condition === 'string' ? { condition } : {}),
        ...(typeof e['note'] === 'string' ? { note: e['note'] } : {}),
      });
    });
  }
  if (!problems.empty) throw new EmvDataError('invalid_profile', file, problems.items);
  return { name: name as string, title: raw['title'] as string, scheme: raw['scheme'] as CardScheme, tags };
}

const cache = new Map<string, Field55Profile>();

function profilesDir(): string {
  return join(emvDataDir(), 'profiles');
}

/** Names of the shipped profiles (file names without .json). */
export function listField55Profiles(dir = profilesDir()): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Loads (and caches) a profile by name (`cup-online-request`, ...) or by path to a .json file. */
export function loadField55Profile(
  nameOrPath: string,
  options: { dictionary?: TagDictionary } = {},
): Field55Profile {
  const isPath = nameOrPath.endsWith('.json');
  const path = isPath ? nameOrPath : join(profilesDir(), `${nameOrPath}.json`);
  const hit = options.dictionary ? undefined : cache.get(path);
  if (hit) return hit;
  if (!isPath && !/^[a-z0-9][a-z0-9-]*$/.test(nameOrPath)) {
    throw new EmvDataError('unknown_profile', nameOrPath, [{ path: '', message: 'is not a profile name' }]);
  }
  if (!existsSync(path)) {
    throw new EmvDataError('unknown_profile', nameOrPath, [
      { path: '', message: `no such profile (have: ${listField55Profiles().join(', ')})` },
    ]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new EmvDataError('invalid_profile', path, [
      { path: '', message: `cannot be read as JSON (${(e as Error).message})` },
    ]);
  }
  const expectedName = isPath ? undefined : nameOrPath;
  const profile = compileField55Profile(raw, {
    file: path,
    ...(options.dictionary ? { dictionary: options.dictionary } : {}),
    ...(expectedName !== undefined ? { expectedName } : {}),
  });
  if (!options.dictionary) cache.set(path, profile);
  return profile;
}
