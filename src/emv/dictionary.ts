/**
 * The tag dictionary: protocols/emv/tags.json, validated on load. Every problem is reported at once
 * with its JSON path (e.g. `/tags/12/format`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { emvDataDir } from './data-dir.js';
import { ALWAYS_SENSITIVE_TAGS } from './sensitive.js';
import { TlvError } from './errors.js';
import { isConstructedTag, normalizeTag } from './tlv.js';
import { EmvDataError, ProblemList, checkKeys, isRecord } from './problems.js';

export type TagFormat = 'b' | 'n' | 'cn' | 'an' | 'ans';
export type TagSource = 'card' | 'terminal' | 'issuer';

export const TAG_FORMATS: readonly TagFormat[] = ['b', 'n', 'cn', 'an', 'ans'];
export const TAG_SOURCES: readonly TagSource[] = ['card', 'terminal', 'issuer'];

export interface TagInfo {
  readonly tag: string;
  readonly name: string;
  readonly format: TagFormat;
  /** Value length bounds in bytes. */
  readonly minLength: number;
  readonly maxLength: number;
  readonly source: TagSource;
  /** Never in field 55, logs or storage. */
  readonly sensitive: boolean;
  /** From the tag itself (bit 6 of the first byte). */
  readonly constructed: boolean;
  readonly note?: string;
}

export class TagDictionary {
  readonly #byTag: ReadonlyMap<string, TagInfo>;
  readonly #sensitive: ReadonlySet<string>;

  /** @internal Use `compileTagDictionary` or `loadTagDictionary`. */
  constructor(entries: readonly TagInfo[]) {
    this.#byTag = new Map(entries.map((e) => [e.tag, e]));
    this.#sensitive = new Set([
      ...ALWAYS_SENSITIVE_TAGS,
      ...entries.filter((e) => e.sensitive).map((e) => e.tag),
    ]);
  }

  get(tag: string): TagInfo | undefined {
    return this.#byTag.get(tag.toUpperCase());
  }

  has(tag: string): boolean {
    return this.#byTag.has(tag.toUpperCase());
  }

  /** Sensitive per the dictionary, or one of the fixed never-shown tags (true even if not listed). */
  isSensitive(tag: string): boolean {
    return this.#sensitive.has(tag.toUpperCase());
  }

  get sensitiveTags(): ReadonlySet<string> {
    return this.#sensitive;
  }

  get size(): number {
    return this.#byTag.size;
  }

  /** All entries in file order. */
  entries(): TagInfo[] {
    return [...this.#byTag.values()];
  }
}

const ROOT_KEYS = ['$comment', 'version', 'tags'] as const;
const ENTRY_KEYS = [
  'tag',
  'name',
  'format',
  'minLength',
  'maxLength',
  'source',
  'sensitive',
  'note',
] as const;

/** Validates a parsed tags.json object and builds the dictionary. Throws `EmvDataError` listing all problems. */
export function compileTagDictionary(raw: unknown, file = 'tags.json'): TagDictionary {
  const problems = new ProblemList();
  const entries: TagInfo[] = [];
  if (!isRecord(raw)) {
    problems.add('', 'must be an object with a "tags" array');
    throw new EmvDataError('invalid_tag_dictionary', file, problems.items);
  }
  checkKeys(raw, '', ROOT_KEYS, problems);
  if (raw['version'] !== undefined && !Number.isInteger(raw['version']))
    problems.add('/version', 'must be an integer');
  const tags = raw['tags'];
  if (!Array.isArray(tags)) {
    problems.add('/tags', 'must be an array');
    throw new EmvDataError('invalid_tag_dictionary', file, problems.items);
  }
  const seen = new Map<string, number>();
  tags.forEach((e: unknown, i: number) => {
    const path = `/tags/${i}`;
    if (!isRecord(e)) {
      problems.add(path, 'must be an object');
      return;
    }
    checkKeys(e, path, ENTRY_KEYS, problems);
    const before = problems.items.length;
    let tag = '';
    if (typeof e['tag'] !== 'string') problems.add(`${path}/tag`, 'must be a string');
    else {
      try {
        tag = normalizeTag(e['tag']);
        if (tag !== e['tag']) problems.add(`${path}/tag`, 'must be upper-case hex');
      } catch (err) {
        if (!(err instanceof TlvError)) throw err;
        problems.add(`${path}/tag`, `is not a well-formed 1-3 byte BER tag`);
      }
      if (tag) {
        const dup = seen.get(tag);
        if (dup !== undefined) problems.add(`${path}/tag`, `duplicates /tags/${dup}/tag (${tag})`);
        else seen.set(tag, i);
      }
    }
    if (typeof e['name'] !== 'string' || e['name'].trim() === '')
      problems.add(`${path}/name`, 'must be a non-empty string');
    if (!TAG_FORMATS.includes(e['format'] as TagFormat))
      problems.add(`${path}/format`, `must be one of ${TAG_FORMATS.join(', ')}`);
    if (!TAG_SOURCES.includes(e['source'] as TagSource))
      problems.add(`${path}/source`, `must be one of ${TAG_SOURCES.join(', ')}`);
    for (const k of ['minLength', 'maxLength'] as const) {
      const v = e[k];
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffff)
        problems.add(`${path}/${k}`, 'must be an integer from 0 to 65535');
    }
    if (
      Number.isInteger(e['minLength']) &&
      Number.isInteger(e['maxLength']) &&
      (e['minLength'] as number) > (e['maxLength'] as number)
    )
      problems.add(`${path}/minLength`, `exceeds maxLength (${String(e['maxLength'])})`);
    if (typeof e['sensitive'] !== 'boolean') problems.add(`${path}/sensitive`, 'must be true or false');
    if (e['note'] !== undefined && typeof e['note'] !== 'string')
      problems.add(`${path}/note`, 'must be a string');
    if (tag && isConstructedTag(tag) && e['format'] !== 'b')
      problems.add(`${path}/format`, `${tag} is a constructed tag (a template): format must be b`);
    if (tag && ALWAYS_SENSITIVE_TAGS.has(tag) && e['sensitive'] !== true)
      problems.add(
        `${path}/sensitive`,
        `${tag} must be sensitive (track data, PAN, name, expiry or PIN data)`,
      );
    if (problems.items.length > before || !tag) return;
    entries.push({
      tag,
      name: e['name'] as string,
      format: e['format'] as TagFormat,
      minLength: e['minLength'] as number,
      maxLength: e['maxLength'] as number,
      source: e['source'] as TagSource,
      sensitive: e['sensitive'] as boolean,
      constructed: isConstructedTag(tag),
      ...(typeof e['note'] === 'string' ? { note: e['note'] } : {}),
    });
  });
  for (const s of ALWAYS_SENSITIVE_TAGS) {
    if (!seen.has(s)) problems.add('/tags', `lacks ${s}, which must be listed as sensitive`);
  }
  if (!problems.empty) throw new EmvDataError('invalid_tag_dictionary', file, problems.items);
  return new TagDictionary(entries);
}

const cache = new Map<string, TagDictionary>();

/** Loads (and caches) a tag dictionary file; by default the installation's protocols/emv/tags.json. */
export function loadTagDictionary(path = join(emvDataDir(), 'tags.json')): TagDictionary {
  const hit = cache.get(path);
  if (hit) return hit;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new EmvDataError('invalid_tag_dictionary', path, [
      { path: '', message: `cannot be read as JSON (${(e as Error).message})` },
    ]);
  }
  const dict = compileTagDictionary(raw, path);
  cache.set(path, dict);
  return dict;
}
