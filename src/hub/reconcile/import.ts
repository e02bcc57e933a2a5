/**
 * Importing the acquirer's settlement/detail files: the CSV of `parseHostFile` (the per-daemon
 * reconciliation's reader; one file holds many terminals and days, carries no batch ids, and several
 * may come per day). A file is known by the SHA-256 of its content: importing it again changes nothing
 * and says so. A file with a line that cannot be read is refused whole (`bad_file`, naming the line and
 * the column); nothing of it is stored. Lines go in as JSON batches (one round trip per 20,000 lines;
 * `json`, not `jsonb`: the text is read once, so parsing it into jsonb first would only cost).
 */
import { createHash } from 'node:crypto';
import { parseHostFile } from '../../engine/settlement/hostfile.js';
import { int, type HubDb, type HubSql } from '../db.js';
import { HubError } from '../errors.js';
import type { ImportResult } from './types.js';

const CHUNK = 20_000;

/** The column a `parseHostFile` error is about. */
function columnOf(error: string): string {
  const m = /^(date|tid|stan|rrn|amount|batch)\b/.exec(error) ?? /^unknown (type|status)\b/.exec(error);
  return m ? m[1]! : /^header/.test(error) ? 'header' : 'line';
}

function cleanName(name: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  const n = (name ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (n.length > 200) throw new HubError('bad_request', 'name: at most 200 characters', 'name');
  return n || 'acquirer.csv';
}

interface FileRow {
  id: unknown;
  name: string;
  lines: unknown;
  superseded: unknown;
  terminals: unknown;
  first_date: string | null;
  last_date: string | null;
  imported_at: Date | string;
}

const FILE_COLUMNS = 'id, name, lines, superseded, terminals, first_date::text, last_date::text, imported_at';

function result(row: FileRow, sha256: string, imported: boolean, name: string): ImportResult {
  const lines = int(row.lines);
  const importedAt = new Date(row.imported_at).toISOString();
  return {
    imported,
    fileId: int(row.id),
    sha256,
    name,
    lines,
    superseded: int(row.superseded),
    terminals: int(row.terminals),
    firstDate: row.first_date,
    lastDate: row.last_date,
    importedAt,
    message: imported
      ? `imported ${lines} lines of ${int(row.terminals)} terminals` +
        (row.first_date ? ` (${row.first_date} to ${row.last_date})` : '')
      : `already imported (as "${row.name}" at ${importedAt}): nothing changed`,
  };
}

async function known(db: HubSql, sha256: string): Promise<FileRow | undefined> {
  const [row] = await db.query<FileRow>(`SELECT ${FILE_COLUMNS} FROM hub_acq_files WHERE sha256 = $1`, [
    sha256,
  ]);
  return row;
}

/** Imports one acquirer file (CSV text); see the module comment. */
export async function importAcquirerFile(
  db: HubDb,
  name: string | undefined,
  text: string,
  opts: { by?: string } = {},
): Promise<ImportResult> {
  const fileName = cleanName(name);
  const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  const before = await known(db, sha256);
  if (before) return result(before, sha256, false, fileName);
  if (text.trim() === '') throw new HubError('bad_file', 'the file is empty', 'line:1:header');

  const parsed = parseHostFile(text);
  if (parsed.errors.length > 0) {
    const first = parsed.errors[0]!;
    const col = columnOf(first.error);
    const more = parsed.errors.length - 1;
    throw Object.assign(
      new HubError(
        'bad_file',
        `line ${first.line}, column ${col}: ${first.error}` +
          (more > 0
            ? ` (and ${more} more line${more === 1 ? '' : 's'} that cannot be read); nothing was imported`
            : '; nothing was imported'),
        `line:${first.line}:${col}`,
      ),
      { line: first.line, column: col },
    );
  }
  const records = parsed.records;
  let firstDate: string | null = null;
  let lastDate: string | null = null;
  const tids = new Set<string>();
  for (const r of records) {
    if (firstDate === null || r.date < firstDate) firstDate = r.date;
    if (lastDate === null || r.date > lastDate) lastDate = r.date;
    tids.add(r.terminalId);
  }

  return db.transaction(async (tx) => {
    // Two instances importing the same file: the second waits on the first's row, then finds it.
    const [ins] = await tx.query<{ id: unknown }>(
      `INSERT INTO hub_acq_files (sha256, name, imported_by, lines, terminals, first_date, last_date)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING RETURNING id`,
      [sha256, fileName, opts.by ?? null, records.length, tids.size, firstDate, lastDate],
    );
    if (!ins) return result((await known(tx, sha256))!, sha256, false, fileName);
    const fileId = int(ins.id);
    for (let i = 0; i < records.length; i += CHUNK) {
      const rows = records.slice(i, i + CHUNK).map((r) => ({
        l: r.line,
        d: r.date,
        t: r.terminalId,
        b: r.batch,
        s: r.stan,
        r: r.rrn || null,
        a: r.amount,
        y: r.type,
        st: r.status,
        c: r.class,
      }));
      await tx.query(
        `INSERT INTO hub_acq_lines (file_id, line, host_date, terminal_id, batch, stan, rrn, amount, type, status, class)
         SELECT $1, x.l, x.d, x.t, x.b, x.s, x.r, x.a, x.y, x.st, x.c
         FROM json_to_recordset($2::text::json)
           AS x(l integer, d date, t text, b text, s text, r text, a bigint, y text, st text, c text)`,
        [fileId, JSON.stringify(rows)],
      );
    }
    // A line an earlier file already had (a cumulative re-send, a corrected status) replaces it.
    const [sup] = await tx.query<{ n: unknown }>(
      `WITH s AS (
         UPDATE hub_acq_lines o SET superseded_by = $1
         FROM hub_acq_lines n
         WHERE n.file_id = $1 AND o.file_id <> $1 AND o.superseded_by IS NULL
           AND o.host_date BETWEEN $2::date AND $3::date
           AND o.terminal_id = n.terminal_id AND o.stan = n.stan AND o.host_date = n.host_date
           AND o.type = n.type AND o.rrn IS NOT DISTINCT FROM n.rrn
         RETURNING 1)
       SELECT count(*) AS n FROM s`,
      [fileId, firstDate, lastDate],
    );
    const [row] = await tx.query<FileRow>(
      `UPDATE hub_acq_files SET superseded = $2 WHERE id = $1 RETURNING ${FILE_COLUMNS}`,
      [fileId, int(sup!.n)],
    );
    return result(row!, sha256, true, fileName);
  });
}

/** The files imported, newest first. */
export async function listAcquirerFiles(
  db: HubSql,
  limit = 100,
): Promise<Omit<ImportResult, 'imported' | 'message'>[]> {
  const rows = await db.query<FileRow & { sha256: string }>(
    `SELECT ${FILE_COLUMNS}, sha256 FROM hub_acq_files ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => {
    const { imported: _i, message: _m, ...rest } = result(r, r.sha256, true, r.name);
    return rest;
  });
}
