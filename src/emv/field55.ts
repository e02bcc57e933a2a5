/**
 * Builds field 55 from what the reader returned, following a profile: the profile's tags in the
 * profile's order, nothing else. Sensitive tags are dropped even if a profile listed them (the loader
 * refuses such profiles anyway), so track data, the PAN, names, expiry and PIN data never reach the host
 * through field 55.
 */
import { loadTagDictionary, type TagDictionary } from './dictionary.js';
import { loadField55Profile, type Field55Profile } from './profiles.js';
import { encodeTlv, type Tlv } from './tlv.js';

export type DropReason = 'sensitive' | 'not_in_profile' | 'duplicate' | 'opaque';

export interface DroppedTag {
  tag: string;
  reason: DropReason;
}

/** A value whose length is outside the dictionary's bounds (sent anyway: the card said so). */
export interface LengthWarning {
  tag: string;
  code: 'length_out_of_range';
  length: number;
  min: number;
  max: number;
}

export interface Field55Build {
  /** The encoded field 55 (the profile's tags that were present, in profile order). */
  bytes: Buffer;
  elements: Tlv[];
  /** Mandatory profile tags the reader did not supply. */
  missing: string[];
  /** Conditional profile tags the reader did not supply (the engine judges whether the condition held). */
  absentConditional: string[];
  /** Reader elements left out, with the reason. Templates not in the profile are looked into, not listed. */
  dropped: DroppedTag[];
  warnings: LengthWarning[];
}

export interface MissingMandatory {
  code: 'missing_mandatory';
  message: string;
  missing: string[];
}

export type Field55Result =
  (Field55Build & { ok: true }) | (Field55Build & { ok: false; error: MissingMandatory });

export interface BuildOptions {
  dictionary?: TagDictionary;
}

/**
 * `reader`: the reader's TLV list (top level; templates such as 70/77 that the profile does not list are
 * searched for the profile's tags). The first occurrence of a tag wins; later ones are dropped as
 * duplicates. `profile`: a loaded profile or a profile name.
 */
export function buildField55(
  reader: readonly Tlv[],
  profile: Field55Profile | string,
  options: BuildOptions = {},
): Field55Result {
  const dict = options.dictionary ?? loadTagDictionary();
  const prof =
    typeof profile === 'string'
      ? loadField55Profile(profile, options.dictionary ? { dictionary: dict } : {})
      : profile;
  const wanted = new Set(prof.tags.map((t) => t.tag));
  const found = new Map<string, Tlv>();
  const dropped: DroppedTag[] = [];

  const visit = (elements: readonly Tlv[]): void => {
    for (const e of elements) {
      if (dict.isSensitive(e.tag)) {
        dropped.push({ tag: e.tag, reason: 'sensitive' });
      } else if (wanted.has(e.tag)) {
        if (found.has(e.tag)) dropped.push({ tag: e.tag, reason: 'duplicate' });
        else if (e.opaque) dropped.push({ tag: e.tag, reason: 'opaque' });
        else found.set(e.tag, e);
      } else if (e.children && !e.opaque) {
        visit(e.children);
      } else {
        dropped.push({ tag: e.tag, reason: e.opaque ? 'opaque' : 'not_in_profile' });
      }
    }
  };
  visit(reader);

  const elements: Tlv[] = [];
  const missing: string[] = [];
  const absentConditional: string[] = [];
  const warnings: LengthWarning[] = [];
  for (const entry of prof.tags) {
    const e = found.get(entry.tag);
    if (!e) {
      if (entry.presence === 'mandatory') missing.push(entry.tag);
      else if (entry.presence === 'conditional') absentConditional.push(entry.tag);
      continue;
    }
    elements.push(e);
    const info = dict.get(entry.tag);
    if (info && (e.value.length < info.minLength || e.value.length > info.maxLength)) {
      warnings.push({
        tag: e.tag,
        code: 'length_out_of_range',
        length: e.value.length,
        min: info.minLength,
        max: info.maxLength,
      });
    }
  }
  const built: Field55Build = {
    bytes: encodeTlv(elements),
    elements,
    missing,
    absentConditional,
    dropped,
    warnings,
  };
  if (missing.length === 0) return { ...built, ok: true };
  return {
    ...built,
    ok: false,
    error: {
      code: 'missing_mandatory',
      message: `profile ${prof.name}: mandatory tag(s) ${missing.join(', ')} missing from the reader data`,
      missing,
    },
  };
}
