/**
 * Settlement's own tables (migration 2 in src/journal/migrations.ts) and the read queries it needs on
 * the journal's tables, through `journal.db`. Every write runs inside `journal.transaction()`, so a
 * settlement step costs one fsync and joins the caller's transaction when there is one.
 */
import type { Journal, OperationKind, OperationState } from '../../journal/index.js';
import type {
  BatchRecord,
  BatchState,
  BatchTotals,
  HostResult,
  HostRecord,
  LocalRecord,
  ReconCategory,
  SettlementMessageView,
} from './types.js';

type Row = Record<string, unknown>;

/** The columns of an operation settlement and reconciliation read (card facts reduced to two). */
export interface OpRow {
  id: string;
  kind: OperationKind;
  state: OperationState;
  reason: string | null;
  terminalId: string;
  batch: string | null;
  stan: string | null;
  localDate: string | null;
  rrn: string | null;
  authCode: string | null;
  amount: number;
  approvedAmount: number | null;
  currency: string;
  responseCode: string | null;
  maskedPan: string | null;
  scheme: string | null;
  entryMode: string | null;
  orderId: string | null;
  originalId: string | null;
  createdAt: string;
}

const OP_COLUMNS = `id, kind, state, reason, terminal_id, batch, stan, local_date, rrn, auth_code, amount,
  approved_amount, currency, response_code, json_extract(card, '$.maskedPan') AS masked_pan,
  json_extract(card, '$.scheme') AS scheme, json_extract(card, '$.entryMode') AS entry_mode, order_id,
  original_id, created_at`;

export function toOpRow(r: Row): OpRow {
  return {
    id: r['id'] as string,
    kind: r['kind'] as OperationKind,
    state: r['state'] as OperationState,
    reason: (r['reason'] as string | null) ?? null,
    terminalId: r['terminal_id'] as string,
    batch: (r['batch'] as string | null) ?? null,
    stan: (r['stan'] as string | null) ?? null,
    localDate: (r['local_date'] as string | null) ?? null,
    rrn: (r['rrn'] as string | null) ?? null,
    authCode: (r['auth_code'] as string | null) ?? null,
    amount: Number(r['amount']),
    approvedAmount: r['approved_amount'] === null ? null : Number(r['approved_amount']),
    currency: r['currency'] as string,
    responseCode: (r['response_code'] as string | null) ?? null,
    maskedPan: (r['masked_pan'] as string | null) ?? null,
    scheme: (r['scheme'] as string | null) ?? null,
    entryMode: (r['entry_mode'] as string | null) ?? null,
    orderId: (r['order_id'] as string | null) ?? null,
    originalId: (r['original_id'] as string | null) ?? null,
    createdAt: r['created_at'] as string,
  };
}

export interface StoredItem {
  id: number;
  runId: number | null;
  terminalId: string;
  batch: string | null;
  stan: string | null;
  operationId: string | null;
  category: ReconCategory;
  status: 'needs_attention' | 'resolved';
  local: LocalRecord | null;
  host: HostRecord | null;
  action: string;
  detail: string | null;
  createdAt: string;
  resolvedAt: string | null;
  resolution: string | null;
}

export interface StoredRun {
  id: number;
  terminalId: string;
  at: string;
  source: string | null;
  fileSha256: string | null;
  scope: Record<string, unknown>;
  summary: Record<string, unknown>;
  totals: unknown[];
}

const parse = <T>(v: unknown): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : null);

export class SettlementStore {
  private readonly st;

  constructor(
    readonly journal: Journal,
    private readonly now: () => Date = () => new Date(),
  ) {
    const db = journal.db;
    this.st = {
      batch: db.prepare('SELECT * FROM settlement_batches WHERE terminal_id = ? AND batch = ?'),
      batches: db.prepare(
        'SELECT * FROM settlement_batches WHERE terminal_id = ? ORDER BY started_at DESC, rowid DESC LIMIT ?',
      ),
      lastSettled: db.prepare(
        "SELECT * FROM settlement_batches WHERE terminal_id = ? AND state = 'settled' ORDER BY settled_at DESC, rowid DESC LIMIT 1",
      ),
      settledKeys: db.prepare("SELECT terminal_id, batch FROM settlement_batches WHERE state = 'settled'"),
      insertBatch: db.prepare(`INSERT INTO settlement_batches (terminal_id, batch, state, totals, request_48,
        operator_id, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      insertMessage:
        db.prepare(`INSERT INTO settlement_messages (terminal_id, batch, purpose, operation_id, mti,
        stan, created_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      settleMessage: db.prepare(
        'UPDATE settlement_messages SET outcome = ?, response_code = ?, settled_at = ?, detail = COALESCE(?, detail) WHERE id = ?',
      ),
      messages: db.prepare(
        'SELECT * FROM settlement_messages WHERE terminal_id = ? AND batch = ? ORDER BY id',
      ),
      opsOfBatch: db.prepare(
        `SELECT ${OP_COLUMNS} FROM operations WHERE terminal_id = ? AND batch = ? ORDER BY rowid`,
      ),
      completedRefs: db.prepare(
        `SELECT ${OP_COLUMNS} FROM operations WHERE original_id = ? AND state = 'completed' ORDER BY rowid`,
      ),
      op: db.prepare(`SELECT ${OP_COLUMNS} FROM operations WHERE id = ?`),
      insertItem:
        db.prepare(`INSERT INTO recon_items (run_id, terminal_id, batch, stan, operation_id, category,
        status, local, host, action, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      resolveItem: db.prepare(
        "UPDATE recon_items SET status = 'resolved', resolved_at = ?, resolution = ? WHERE id = ? AND status != 'resolved'",
      ),
      itemsOfRun: db.prepare('SELECT * FROM recon_items WHERE run_id = ? ORDER BY id'),
      openItems: db.prepare(
        "SELECT * FROM recon_items WHERE terminal_id = ? AND status = 'needs_attention' AND run_id IS NULL ORDER BY id",
      ),
      boundaryItemsOfOp: db.prepare(
        "SELECT * FROM recon_items WHERE operation_id = ? AND run_id IS NULL AND category = 'pending_reversal' ORDER BY id",
      ),
      insertRun:
        db.prepare(`INSERT INTO recon_runs (terminal_id, at, source, file_sha256, scope, summary, totals)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      run: db.prepare('SELECT * FROM recon_runs WHERE id = ?'),
      lastRun: db.prepare('SELECT * FROM recon_runs WHERE terminal_id = ? ORDER BY id DESC LIMIT 1'),
    };
  }

  private stamp(): string {
    return this.now().toISOString();
  }

  // ------------------------------------------------------------------ batches

  getBatch(terminalId: string, batch: string): BatchRecord | undefined {
    const r = this.st.batch.get(terminalId, batch) as Row | undefined;
    return r ? toBatch(r) : undefined;
  }

  recentBatches(terminalId: string, limit = 20): BatchRecord[] {
    return (this.st.batches.all(terminalId, limit) as Row[]).map(toBatch);
  }

  lastSettled(terminalId: string): BatchRecord | undefined {
    const r = this.st.lastSettled.get(terminalId) as Row | undefined;
    return r ? toBatch(r) : undefined;
  }

  /** `${terminalId}:${batch}` of every settled batch. */
  settledBatches(): Set<string> {
    return new Set(
      (this.st.settledKeys.all() as Row[]).map((r) => `${String(r['terminal_id'])}:${String(r['batch'])}`),
    );
  }

  insertBatch(
    terminalId: string,
    batch: string,
    state: BatchState,
    totals: BatchTotals,
    request48: string,
    operatorId: string | null,
  ): void {
    const at = this.stamp();
    this.st.insertBatch.run(terminalId, batch, state, JSON.stringify(totals), request48, operatorId, at, at);
  }

  updateBatch(
    terminalId: string,
    batch: string,
    patch: Partial<{
      state: BatchState;
      responseCode: string | null;
      response48: string | null;
      result: 'balanced' | 'unbalanced' | null;
      hostDate: string | null;
      uploadCount: number;
      tcUploadCount: number;
      resettle48: string | null;
      pendingReversals: number;
      pansErased: number;
      nextBatch: string;
      closedAt: string;
      settledAt: string;
    }>,
  ): void {
    const map: Record<string, string> = {
      state: 'state',
      responseCode: 'response_code',
      response48: 'response_48',
      result: 'result',
      hostDate: 'host_date',
      uploadCount: 'upload_count',
      tcUploadCount: 'tc_upload_count',
      resettle48: 'resettle_48',
      pendingReversals: 'pending_reversals',
      pansErased: 'pans_erased',
      nextBatch: 'next_batch',
      closedAt: 'closed_at',
      settledAt: 'settled_at',
    };
    const cols: string[] = [];
    const values: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      const col = map[k];
      if (!col || v === undefined) continue;
      cols.push(`${col} = ?`);
      values.push(v);
    }
    cols.push('updated_at = ?');
    values.push(this.stamp(), terminalId, batch);
    this.journal.db
      .prepare(`UPDATE settlement_batches SET ${cols.join(', ')} WHERE terminal_id = ? AND batch = ?`)
      .run(...values);
  }

  // ------------------------------------------------------------------ messages

  insertMessage(m: {
    terminalId: string;
    batch: string;
    purpose: SettlementMessageView['purpose'];
    operationId: string | null;
    mti: string;
    stan: string;
    detail?: Record<string, unknown>;
  }): number {
    return Number(
      this.st.insertMessage.run(
        m.terminalId,
        m.batch,
        m.purpose,
        m.operationId,
        m.mti,
        m.stan,
        this.stamp(),
        m.detail ? JSON.stringify(m.detail) : null,
      ).lastInsertRowid,
    );
  }

  settleMessage(
    id: number,
    outcome: string,
    responseCode: string | null,
    detail?: Record<string, unknown>,
  ): void {
    this.st.settleMessage.run(
      outcome,
      responseCode,
      this.stamp(),
      detail ? JSON.stringify(detail) : null,
      id,
    );
  }

  messages(
    terminalId: string,
    batch: string,
  ): (SettlementMessageView & { id: number; detail: Record<string, unknown> | null })[] {
    return (this.st.messages.all(terminalId, batch) as Row[]).map((r) => ({
      id: Number(r['id']),
      purpose: r['purpose'] as SettlementMessageView['purpose'],
      mti: String(r['mti']),
      stan: String(r['stan']),
      operationId: (r['operation_id'] as string | null) ?? null,
      outcome: String(r['outcome']),
      responseCode: (r['response_code'] as string | null) ?? null,
      detail: parse<Record<string, unknown>>(r['detail']),
    }));
  }

  // ------------------------------------------------------------------ operations (read only)

  opsOfBatch(terminalId: string, batch: string): OpRow[] {
    return (this.st.opsOfBatch.all(terminalId, batch) as Row[]).map(toOpRow);
  }

  op(id: string): OpRow | undefined {
    const r = this.st.op.get(id) as Row | undefined;
    return r ? toOpRow(r) : undefined;
  }

  completedRefs(originalId: string): OpRow[] {
    return (this.st.completedRefs.all(originalId) as Row[]).map(toOpRow);
  }

  /** Runs a read query on the journal (reconciliation's bulk loads). */
  all(sql: string, ...params: unknown[]): OpRow[] {
    return (this.journal.db.prepare(sql).all(...params) as Row[]).map(toOpRow);
  }

  static readonly OP_COLUMNS = OP_COLUMNS;

  // ------------------------------------------------------------------ reconciliation items and runs

  insertItem(i: Omit<StoredItem, 'id' | 'createdAt' | 'resolvedAt' | 'resolution'>): number {
    return Number(
      this.st.insertItem.run(
        i.runId,
        i.terminalId,
        i.batch,
        i.stan,
        i.operationId,
        i.category,
        i.status,
        i.local ? JSON.stringify(i.local) : null,
        i.host ? JSON.stringify(i.host) : null,
        i.action,
        i.detail,
        this.stamp(),
      ).lastInsertRowid,
    );
  }

  resolveItem(id: number, resolution: string): boolean {
    return this.st.resolveItem.run(this.stamp(), resolution, id).changes > 0;
  }

  itemsOfRun(runId: number): StoredItem[] {
    return (this.st.itemsOfRun.all(runId) as Row[]).map(toItem);
  }

  /** Items raised at batch close (pending reversals) that still need attention. */
  openBoundaryItems(terminalId: string): StoredItem[] {
    return (this.st.openItems.all(terminalId) as Row[]).map(toItem);
  }

  boundaryItemsOf(operationId: string): StoredItem[] {
    return (this.st.boundaryItemsOfOp.all(operationId) as Row[]).map(toItem);
  }

  insertRun(r: {
    terminalId: string;
    source: string | null;
    fileSha256: string | null;
    scope: unknown;
    summary: unknown;
    totals: unknown;
  }): number {
    return Number(
      this.st.insertRun.run(
        r.terminalId,
        this.stamp(),
        r.source,
        r.fileSha256,
        JSON.stringify(r.scope),
        JSON.stringify(r.summary),
        JSON.stringify(r.totals),
      ).lastInsertRowid,
    );
  }

  run(id: number): StoredRun | undefined {
    const r = this.st.run.get(id) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  lastRun(terminalId: string): StoredRun | undefined {
    const r = this.st.lastRun.get(terminalId) as Row | undefined;
    return r ? toRun(r) : undefined;
  }
}

function resultDigits(f48: string | null): HostResult | null {
  if (!f48 || f48.length < 62) return null;
  const d = (c: string): HostResult['domestic'] => (c === '1' || c === '2' ? c : '0');
  return { domestic: d(f48.charAt(30)), foreign: d(f48.charAt(61)) };
}

export { resultDigits };

function toBatch(r: Row): BatchRecord {
  const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return {
    terminalId: String(r['terminal_id']),
    batch: String(r['batch']),
    state: r['state'] as BatchState,
    totals: parse<BatchTotals>(r['totals']),
    result: (r['result'] as BatchRecord['result']) ?? null,
    hostResult: resultDigits((r['response_48'] as string | null) ?? null),
    responseCode: (r['response_code'] as string | null) ?? null,
    hostDate: (r['host_date'] as string | null) ?? null,
    uploadCount: n(r['upload_count']),
    tcUploadCount: n(r['tc_upload_count']),
    resettleResult: resultDigits((r['resettle_48'] as string | null) ?? null),
    pendingReversals: Number(r['pending_reversals'] ?? 0),
    pansErased: n(r['pans_erased']),
    nextBatch: (r['next_batch'] as string | null) ?? null,
    operatorId: (r['operator_id'] as string | null) ?? null,
    startedAt: String(r['started_at']),
    closedAt: (r['closed_at'] as string | null) ?? null,
    settledAt: (r['settled_at'] as string | null) ?? null,
  };
}

function toItem(r: Row): StoredItem {
  return {
    id: Number(r['id']),
    runId: r['run_id'] === null ? null : Number(r['run_id']),
    terminalId: String(r['terminal_id']),
    batch: (r['batch'] as string | null) ?? null,
    stan: (r['stan'] as string | null) ?? null,
    operationId: (r['operation_id'] as string | null) ?? null,
    category: r['category'] as ReconCategory,
    status: r['status'] as StoredItem['status'],
    local: parse<LocalRecord>(r['local']),
    host: parse<HostRecord>(r['host']),
    action: String(r['action']),
    detail: (r['detail'] as string | null) ?? null,
    createdAt: String(r['created_at']),
    resolvedAt: (r['resolved_at'] as string | null) ?? null,
    resolution: (r['resolution'] as string | null) ?? null,
  };
}

function toRun(r: Row): StoredRun {
  return {
    id: Number(r['id']),
    terminalId: String(r['terminal_id']),
    at: String(r['at']),
    source: (r['source'] as string | null) ?? null,
    fileSha256: (r['file_sha256'] as string | null) ?? null,
    scope: parse<Record<string, unknown>>(r['scope']) ?? {},
    summary: parse<Record<string, unknown>>(r['summary']) ?? {},
    totals: parse<unknown[]>(r['totals']) ?? [],
  };
}
