import type Database from 'better-sqlite3';

/**
 * Stored terminal-management sets (table terminal_param_sets): the journal's side of
 * host/TerminalParamStore. The shapes repeat host's (journal may not import host); TypeScript checks
 * they fit where the daemon wires them together.
 */
export type ParamSetKind = 'capk' | 'aid';

export interface ParamSetRow {
  id: number;
  kind: ParamSetKind;
  version: number;
  reason: string;
  entries: { key: string; tlv: string }[];
  entryCount: number;
  digest: string;
  downloadedAt: string;
  active: boolean;
}

type Row = Record<string, unknown>;

function toRow(r: Row): ParamSetRow {
  return {
    id: Number(r['id']),
    kind: r['kind'] as ParamSetKind,
    version: Number(r['version']),
    reason: String(r['reason']),
    entries: JSON.parse(String(r['entries'])) as { key: string; tlv: string }[],
    entryCount: Number(r['entry_count']),
    digest: String(r['digest']),
    downloadedAt: String(r['downloaded_at']),
    active: Number(r['active']) === 1,
  };
}

export function activeParamSet(db: Database.Database, kind: ParamSetKind): ParamSetRow | undefined {
  const r = db.prepare('SELECT * FROM terminal_param_sets WHERE kind = ? AND active = 1').get(kind) as
    Row | undefined;
  return r ? toRow(r) : undefined;
}

/** The sets of a kind (or all), newest first. */
export function paramSets(db: Database.Database, kind?: ParamSetKind, limit = 20): ParamSetRow[] {
  const rows = kind
    ? db.prepare('SELECT * FROM terminal_param_sets WHERE kind = ? ORDER BY id DESC LIMIT ?').all(kind, limit)
    : db.prepare('SELECT * FROM terminal_param_sets ORDER BY id DESC LIMIT ?').all(limit);
  return (rows as Row[]).map(toRow);
}

/** Saves a new version of a kind and makes it the active one (caller runs this in one transaction). */
export function insertParamSet(
  db: Database.Database,
  input: { kind: ParamSetKind; reason: string; entries: { key: string; tlv: string }[]; digest: string },
  at: string,
): ParamSetRow {
  const last = db
    .prepare('SELECT COALESCE(MAX(version), 0) AS v FROM terminal_param_sets WHERE kind = ?')
    .get(input.kind) as { v: number };
  db.prepare('UPDATE terminal_param_sets SET active = 0 WHERE kind = ? AND active = 1').run(input.kind);
  const info = db
    .prepare(
      `INSERT INTO terminal_param_sets (kind, version, reason, entries, entry_count, digest, downloaded_at, active)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
    )
    .run(
      input.kind,
      last.v + 1,
      input.reason,
      JSON.stringify(input.entries),
      input.entries.length,
      input.digest,
      at,
    );
  return toRow(db.prepare('SELECT * FROM terminal_param_sets WHERE id = ?').get(info.lastInsertRowid) as Row);
}
