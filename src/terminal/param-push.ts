/**
 * Terminal-management sets pushed to a reader (docs/reader-protocol.md, load_capks / load_aids): the
 * entries go as they were downloaded (each entry's TLV exactly as the acquirer sent it), split into
 * parts that fit the profile's largest frame. The last part carries the set's digest, SHA-256 over the
 * entries' bytes in the order sent; the reader keeps the set only when the digest matches and (CAPKs)
 * every key's SHA-1 check value does, and reports the digest in device_info so the host pushes again
 * only when the set differs.
 */
import { createHash } from 'node:crypto';

export type ReaderParamKind = 'capk' | 'aid';

export interface ReaderParamSet {
  kind: ReaderParamKind;
  /** Each entry's TLV bytes as downloaded. */
  entries: readonly Buffer[];
  /** The set's version in the journal, for logs. */
  version?: number;
}

export type ParamLoadResult =
  | { status: 'loaded'; kind: ReaderParamKind; digest: string; parts: number }
  | { status: 'unchanged'; kind: ReaderParamKind; digest: string }
  /** The reader is not connected: the set is pushed when it connects. */
  | { status: 'pending'; kind: ReaderParamKind; digest: string }
  | { status: 'not_supported'; kind: ReaderParamKind; digest: string }
  | { status: 'refused'; kind: ReaderParamKind; digest: string; readerStatus: string; detail?: string };

/** The digest the reader checks and reports: SHA-256 over the entries in order (hex, lower case). */
export function readerParamDigest(entries: readonly Buffer[]): string {
  const h = createHash('sha256');
  for (const e of entries) h.update(e);
  return h.digest('hex');
}

/**
 * Splits entries into parts whose payload stays under `budget` bytes (each entry adds its TLV wrapper:
 * tag 2 bytes, length up to 3). An entry larger than the budget alone still goes in a part of its own
 * (the frame check refuses it then, naming the command).
 */
export function splitParamParts(entries: readonly Buffer[], budget: number): Buffer[][] {
  const parts: Buffer[][] = [];
  let cur: Buffer[] = [];
  let size = 0;
  for (const e of entries) {
    const cost = e.length + 5;
    if (cur.length && size + cost > budget) {
      parts.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(e);
    size += cost;
  }
  parts.push(cur);
  return parts;
}
