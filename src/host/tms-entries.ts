import { createHash } from 'node:crypto';
import type { TmsKindSpec, TmsTagSpec } from '../iso8583/index.js';
import { parseTlvList, type TlvItem } from './field62-tlv.js';
import { TerminalManagementError } from './terminal-management-errors.js';

/** What a CAPK or AID entry holds, by the names the dialect's tag table gives (hex, digits, fen, date). */
export type TmsValue = string | number;
export type TmsEntry = Record<string, TmsValue>;

/** A CA public key as downloaded (hex strings, upper case; expiry YYYYMMDD). */
export interface Capk {
  rid: string;
  index: string;
  expiry: string;
  hashAlgorithm: string;
  keyAlgorithm: string;
  modulus: string;
  exponent: string;
  checkValue: string;
}

/** Hash algorithm indicator 01 = SHA-1 (EMV Book 2 annex B); 04 = SM3 (PBOC 3.0 part 17) is not verified here. */
export const SHA1_ALGORITHM = '01';

/** Decodes one entry's TLVs by the kind's tag table: every required tag present, every size in range. */
export function decodeEntry(kind: TmsKindSpec, items: readonly TlvItem[], where: string): TmsEntry {
  const out: TmsEntry = {};
  const seen = new Set<string>();
  for (const it of items) {
    const spec = kind.tags[it.tag];
    if (!spec) continue; // an acquirer's extra tag: kept in the stored TLV, not interpreted
    if (seen.has(it.tag)) throw entryError(`tag ${it.tag} appears twice`, where, it);
    seen.add(it.tag);
    out[spec.name] = decodeValue(spec, it, where);
  }
  for (const [tag, spec] of Object.entries(kind.tags)) {
    if (spec.required && !seen.has(tag))
      throw new TerminalManagementError('bad_entry', `required tag ${tag} (${spec.name}) missing`, {
        path: `${where} tag ${tag}`,
        tag,
      });
  }
  return out;
}

function decodeValue(spec: TmsTagSpec, it: TlvItem, where: string): TmsValue {
  const v = it.value;
  if (v.length < spec.min || v.length > spec.max)
    throw entryError(
      `${spec.name} is ${v.length} bytes (expected ${spec.min === spec.max ? spec.min : `${spec.min}..${spec.max}`})`,
      where,
      it,
    );
  switch (spec.format) {
    case 'b':
      return v.toString('hex').toUpperCase();
    case 'n': {
      const d = v.toString('hex');
      if (!/^[0-9]*$/.test(d)) throw entryError(`${spec.name} is not BCD digits`, where, it);
      return d;
    }
    case 'amount':
      // Binary minor units (EMV 9F1B): an integer of fen, never a float.
      return v.readUIntBE(0, v.length);
    case 'date': {
      // YYYYMMDD as 8 ASCII digits (CUP 0820/372 answers) or 4 BCD bytes (some acquirers).
      const d = v.length === 8 ? v.toString('latin1') : v.toString('hex');
      if (!/^[0-9]{8}$/.test(d) || !validDate(d))
        throw entryError(`${spec.name} is not a date YYYYMMDD`, where, it);
      return d;
    }
  }
}

function validDate(d: string): boolean {
  const m = Number(d.slice(4, 6));
  const day = Number(d.slice(6, 8));
  return m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

function entryError(msg: string, where: string, it: TlvItem): TerminalManagementError {
  return new TerminalManagementError('bad_entry', msg, {
    path: `${where}@${it.offset} tag ${it.tag}`,
    tag: it.tag,
    offset: it.offset,
  });
}

/** Splits a query answer's TLV list into entries: each starts at the kind's first list tag. */
export function splitList(kind: TmsKindSpec, items: readonly TlvItem[], where: string): TlvItem[][] {
  const first = kind.listTags[0];
  const entries: TlvItem[][] = [];
  for (const it of items) {
    if (it.tag === first) entries.push([it]);
    else if (entries.length === 0)
      throw new TerminalManagementError('bad_answer', `list starts with ${it.tag}, expected ${first}`, {
        path: `${where}@${it.offset} tag ${it.tag}`,
        tag: it.tag,
        offset: it.offset,
      });
    else entries[entries.length - 1]!.push(it);
  }
  for (const e of entries) {
    for (const tag of kind.listTags) {
      if (!e.some((it) => it.tag === tag))
        throw new TerminalManagementError('bad_answer', `list entry without ${tag}`, {
          path: `${where}@${e[0]!.offset} tag ${tag}`,
          tag,
          offset: e[0]!.offset,
        });
    }
  }
  return entries;
}

/** The CAPK record of a decoded entry (the cup-pos tag table names). */
export function capkOf(e: TmsEntry): Capk {
  const s = (k: keyof Capk): string => String(e[k] ?? '');
  return {
    rid: s('rid'),
    index: s('index'),
    expiry: s('expiry'),
    hashAlgorithm: s('hashAlgorithm'),
    keyAlgorithm: s('keyAlgorithm'),
    modulus: s('modulus'),
    exponent: s('exponent'),
    checkValue: s('checkValue'),
  };
}

/** SHA-1 over RID || index || modulus || exponent: the CAPK check value (EMV Book 2 §11.2.2, annex B3). */
export function capkCheckValue(c: Pick<Capk, 'rid' | 'index' | 'modulus' | 'exponent'>): string {
  return createHash('sha1')
    .update(Buffer.from(c.rid + c.index + c.modulus + c.exponent, 'hex'))
    .digest('hex')
    .toUpperCase();
}

/**
 * Refuses a CAPK whose check value does not match, naming its RID and index. Only SHA-1 keys are
 * checked; a key with another hash algorithm (SM3 for SM2 keys) is refused as unverifiable, so no key
 * is ever used unchecked.
 */
export function verifyCapk(c: Capk): void {
  const path = `capk ${c.rid}/${c.index}`;
  if (c.hashAlgorithm !== SHA1_ALGORITHM)
    throw new TerminalManagementError(
      'check_value',
      `hash algorithm ${c.hashAlgorithm} cannot be verified (only 01 = SHA-1)`,
      { path, tag: 'DF06' },
    );
  if (capkCheckValue(c) !== c.checkValue)
    throw new TerminalManagementError(
      'check_value',
      'SHA-1 of RID || index || modulus || exponent does not match DF03',
      {
        path,
        tag: 'DF03',
      },
    );
}

/** Parses one stored entry (its TLV hex) again, for the CLI, doctor and the reader push. */
export function decodeStoredEntry(kind: TmsKindSpec, tlvHex: string, where: string): TmsEntry {
  return decodeEntry(kind, parseTlvList(Buffer.from(tlvHex, 'hex'), { field: where }), where);
}

/** A CAPK's expiry (YYYYMMDD) is before `today` (YYYYMMDD). */
export function capkExpired(c: Pick<Capk, 'expiry'>, today: string): boolean {
  return c.expiry < today;
}
