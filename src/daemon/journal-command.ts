import { join } from 'node:path';
import Database from 'better-sqlite3';
import { csvField } from '../engine/settlement/index.js';
import { JOURNAL_FILE } from '../journal/index.js';
import { StateAccessError } from './failures.js';
import { probe } from './state-dir.js';

type Row = Record<string, unknown>;

/**
 * Read-only views of a journal for operations staff (`posbridge journal list|show|export`). SQLite in
 * WAL mode lets this read while the daemon runs; the journal holds no clear card data, only masked
 * PANs and fingerprints, so nothing here needs masking beyond what is stored.
 */
export function openReadOnly(stateDir: string): Database.Database {
  const path = join(stateDir, JOURNAL_FILE);
  // A directory or file this user may not read is "permission denied", never "no journal".
  const dir = probe(stateDir);
  if (dir.kind === 'denied') throw new StateAccessError(stateDir, dir.code);
  const file = probe(path);
  if (file.kind === 'denied') throw new StateAccessError(path, file.code);
  if (file.kind === 'missing')
    throw new Error(`no journal in ${stateDir}: it is created on the first \`posbridge start\``);
  return new Database(path, { readonly: true, fileMustExist: true });
}

const LIST_COLUMNS =
  'id, kind, state, reason, amount, approved_amount, currency, order_id, batch, stan, rrn, response_code, created_at, updated_at';

export function listOperations(
  db: Database.Database,
  options: { limit?: number; state?: string } = {},
): Row[] {
  const limit = options.limit ?? 50;
  return options.state
    ? (db
        .prepare(
          `SELECT ${LIST_COLUMNS} FROM operations WHERE state = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`,
        )
        .all(options.state, limit) as Row[])
    : (db
        .prepare(`SELECT ${LIST_COLUMNS} FROM operations ORDER BY created_at DESC, rowid DESC LIMIT ?`)
        .all(limit) as Row[]);
}

export function showOperation(db: Database.Database, id: string): Row | undefined {
  const op = db
    .prepare(
      `SELECT ${LIST_COLUMNS}, idempotency_key, operator_id, original_id, card, result FROM operations WHERE id = ?`,
    )
    .get(id) as Row | undefined;
  if (!op) return undefined;
  const parse = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);
  return {
    ...op,
    card: parse(op['card']),
    result: parse(op['result']),
    attempts: db
      .prepare(
        'SELECT purpose, mti, stan, batch, sent_at, outcome, reason, response_code, settled_at FROM host_attempts WHERE operation_id = ? ORDER BY id',
      )
      .all(id),
    events: (
      db
        .prepare('SELECT seq, type, data, at FROM events WHERE operation_id = ? ORDER BY seq')
        .all(id) as Row[]
    ).map((e) => ({ ...e, data: parse(e['data']) })),
    storeAndForward: db
      .prepare(
        'SELECT lane, kind, status, reason, attempts, last_response, updated_at FROM saf WHERE operation_id = ? ORDER BY id',
      )
      .all(id),
  };
}

/**
 * How each operation was paid, beside its card facts: `method` (`card`, `alipay`, `wechat`) and, for
 * scan-to-pay, the provider order number, the refund request number (refunds) and the provider's trade
 * number (a refund shows its payment's): the keys the providers' bills carry.
 */
const EXPORT_COLUMNS = `json_extract(o.card, '$.maskedPan') AS masked_pan,
  CASE WHEN o.reader_id IN ('qr:alipay', 'qr:wechat') THEN substr(o.reader_id, 4) ELSE 'card' END AS method,
  json_extract(o.result, '$.qr.outTradeNo') AS out_trade_no,
  json_extract(o.result, '$.qr.outRequestNo') AS out_request_no,
  COALESCE(json_extract(o.result, '$.qr.tradeNo'), json_extract(orig.result, '$.qr.tradeNo')) AS trade_no`;

export function exportCsv(db: Database.Database): string {
  const listed = LIST_COLUMNS.split(', ');
  const rows = db
    .prepare(
      `SELECT ${listed.map((c) => `o.${c}`).join(', ')}, ${EXPORT_COLUMNS}
       FROM operations o LEFT JOIN operations orig ON orig.id = o.original_id AND o.reader_id LIKE 'qr:%'
       ORDER BY o.created_at, o.rowid`,
    )
    .all() as Row[];
  const cols = [...listed, 'masked_pan', 'method', 'out_trade_no', 'out_request_no', 'trade_no'];
  // CRM-supplied text (orderId, operatorId) that a spreadsheet would run as a formula is defused
  // (OWASP CSV injection): a leading = + - @ tab or CR gets a quote mark.
  const cell = (v: unknown): string =>
    csvField(
      typeof v === 'number' || typeof v === 'string' ? v : v === null || v === undefined ? null : String(v),
    );
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}
