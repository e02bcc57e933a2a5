import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Pan } from '../card/index.js';
import type { Sealer } from '../crypto/index.js';
import { JournalError } from './errors.js';
import { StateDirLock } from './lock.js';
import { MIGRATIONS } from './migrations.js';
import {
  activeParamSet,
  insertParamSet,
  paramSets,
  type ParamSetKind,
  type ParamSetRow,
} from './terminal-params.js';
import {
  FINAL_STATES,
  type AttemptRow,
  type EventRow,
  type OperationRow,
  type OperationState,
  type OutboxRow,
  type SafLane,
  type SafRow,
} from './types.js';

export const JOURNAL_FILE = 'journal.db';

export interface JournalOptions {
  /** State directory: holds journal.db (+ WAL) and the lock file. */
  dir: string;
  /** Seals PANs at rest (AES-256-GCM). */
  sealer: Sealer;
  /** Take the state directory's lock (default true). */
  lock?: boolean;
  now?: () => Date;
}

type Row = Record<string, unknown>;

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
/**
 * The journal and its WAL and shared-memory files are the owner's alone (0600). SQLite creates `-wal` and
 * `-shm` with the database file's mode, so the database file is created 0600 before SQLite opens it, and
 * files an older version left 0644 are tightened.
 */
export function restrictJournalFiles(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

const parse = <T>(v: unknown): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : null);

/**
 * The durable journal: SQLite in WAL mode with synchronous=FULL, so every committed transaction is on
 * disk (one fsync) before the call returns. Callers group writes with `transaction()` so that each step
 * of a payment costs one fsync. Card data: masked PAN, fingerprint, token facts and PAR in clear; the PAN
 * itself only sealed, and erased when no message can need it any more.
 */
export class Journal {
  readonly db: Database.Database;
  private readonly lock: StateDirLock | undefined;
  private readonly sealer: Sealer;
  private readonly now: () => Date;
  private readonly st: ReturnType<Journal['prepare']>;

  private constructor(options: JournalOptions) {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.lock = options.lock === false ? undefined : StateDirLock.acquire(options.dir);
    this.sealer = options.sealer;
    this.now = options.now ?? (() => new Date());
    try {
      const file = join(options.dir, JOURNAL_FILE);
      restrictJournalFiles(file);
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('secure_delete = ON');
      this.db.pragma('busy_timeout = 5000');
      this.migrate();
      this.st = this.prepare();
    } catch (e) {
      this.lock?.release();
      throw e;
    }
  }

  /** This journal's identity (made by its first migration run; see journal_meta). */
  get journalId(): string {
    const row = this.db.prepare("SELECT value FROM journal_meta WHERE name = 'journal_id'").get() as
      | { value: string }
      | undefined;
    if (!row) throw new JournalError('migration_failed', 'journal_meta has no journal_id');
    return row.value;
  }

  static open(options: JournalOptions): Journal {
    return new Journal(options);
  }

  close(): void {
    if (this.db.open) {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
    this.lock?.release();
  }

  /** Runs `fn` in one transaction: one fsync for everything it writes. Nested calls join the outer one. */
  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    const out = this.db.transaction(fn)();
    this.commits++;
    return out;
  }

  /**
   * Committed write transactions (each one fsync with synchronous=FULL): explicit transactions plus
   * writes made outside one. For the benchmark's fsyncs-per-sale figure.
   */
  commits = 0;

  private wrote(): void {
    if (!this.db.inTransaction) this.commits++;
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      try {
        this.db.transaction(() => {
          this.db.exec(MIGRATIONS[v]!);
          this.db.pragma(`user_version = ${v + 1}`);
        })();
      } catch (e) {
        throw new JournalError('migration_failed', `migration ${v + 1} failed: ${(e as Error).message}`);
      }
    }
  }

  private prepare() {
    const db = this.db;
    return {
      opById: db.prepare('SELECT * FROM operations WHERE id = ?'),
      opByKey: db.prepare('SELECT * FROM operations WHERE idempotency_key = ?'),
      opsByOrder: db.prepare('SELECT * FROM operations WHERE order_id = ? ORDER BY created_at, rowid'),
      opsByOriginal: db.prepare('SELECT * FROM operations WHERE original_id = ? ORDER BY created_at, rowid'),
      opsNotFinal: db.prepare(
        `SELECT * FROM operations WHERE state NOT IN (${[...FINAL_STATES].map((s) => `'${s}'`).join(',')}) ORDER BY created_at, rowid`,
      ),
      opsRecent: db.prepare('SELECT * FROM operations ORDER BY created_at DESC, rowid DESC LIMIT ?'),
      insertOp:
        db.prepare(`INSERT INTO operations (id, kind, idempotency_key, params_hash, operator_id, order_id, original_id,
        amount, currency, state, terminal_id, reader_id, batch, created_at, updated_at)
        VALUES (@id, @kind, @idempotencyKey, @paramsHash, @operatorId, @orderId, @originalId, @amount, @currency, @state,
        @terminalId, @readerId, @batch, @createdAt, @updatedAt)`),
      event: db.prepare('INSERT INTO events (operation_id, type, data, at) VALUES (?, ?, ?, ?)'),
      eventsSince: db.prepare('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      eventsOf: db.prepare('SELECT * FROM events WHERE operation_id = ? ORDER BY seq'),
      lastSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM events'),
      insertAttempt:
        db.prepare(`INSERT INTO host_attempts (operation_id, purpose, mti, stan, batch, created_at)
        VALUES (?, ?, ?, ?, ?, ?)`),
      attemptById: db.prepare('SELECT * FROM host_attempts WHERE id = ?'),
      attemptsOf: db.prepare('SELECT * FROM host_attempts WHERE operation_id = ? ORDER BY id'),
      attemptByStan: db.prepare(
        'SELECT * FROM host_attempts WHERE stan = ? AND batch = ? AND mti = ? ORDER BY id DESC LIMIT 1',
      ),
      insertSaf:
        db.prepare(`INSERT INTO saf (lane, operation_id, kind, status, reason, message, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      safById: db.prepare('SELECT * FROM saf WHERE id = ?'),
      safOf: db.prepare('SELECT * FROM saf WHERE operation_id = ? ORDER BY id'),
      safHead: db.prepare("SELECT * FROM saf WHERE lane = ? AND status = 'pending' ORDER BY id LIMIT 1"),
      safPending: db.prepare("SELECT * FROM saf WHERE lane = ? AND status = 'pending' ORDER BY id"),
      safCount: db.prepare(
        "SELECT lane, COUNT(*) AS n, MIN(created_at) AS oldest FROM saf WHERE status = 'pending' GROUP BY lane",
      ),
      counterGet: db.prepare('SELECT value FROM counters WHERE name = ?'),
      counterSet: db.prepare(
        'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
      ),
      sealedPut: db.prepare(`INSERT INTO sealed (operation_id, kind, blob, created_at) VALUES (?, 'pan', ?, ?)
        ON CONFLICT(operation_id, kind) DO UPDATE SET blob = excluded.blob, erased_at = NULL`),
      sealedGet: db.prepare(
        "SELECT blob FROM sealed WHERE operation_id = ? AND kind = 'pan' AND erased_at IS NULL",
      ),
      sealedErase: db.prepare(
        "UPDATE sealed SET blob = NULL, erased_at = ? WHERE operation_id = ? AND kind = 'pan' AND erased_at IS NULL",
      ),
      sealedLive: db.prepare("SELECT operation_id FROM sealed WHERE kind = 'pan' AND erased_at IS NULL"),
      outboxAdd: db.prepare('INSERT INTO outbox (topic, payload, created_at, next_at) VALUES (?, ?, ?, ?)'),
      outboxDue: db.prepare(
        'SELECT * FROM outbox WHERE delivered_at IS NULL AND (next_at IS NULL OR next_at <= ?) ORDER BY id LIMIT ?',
      ),
      outboxDone: db.prepare('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?'),
      outboxFail: db.prepare(
        'UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?',
      ),
      audit: db.prepare(
        'INSERT INTO audit (at, operator_id, action, operation_id, detail) VALUES (?, ?, ?, ?, ?)',
      ),
      auditOf: db.prepare('SELECT * FROM audit WHERE operation_id = ? ORDER BY id'),
    };
  }

  private stamp(): string {
    return this.now().toISOString();
  }

  // ------------------------------------------------------------------ operations

  insertOperation(
    row: Pick<
      OperationRow,
      | 'id'
      | 'kind'
      | 'idempotencyKey'
      | 'paramsHash'
      | 'operatorId'
      | 'orderId'
      | 'originalId'
      | 'amount'
      | 'currency'
      | 'state'
      | 'terminalId'
      | 'readerId'
      | 'batch'
    >,
  ): OperationRow {
    this.wrote();
    if (!Number.isSafeInteger(row.amount) || row.amount < 0) {
      throw new JournalError('bad_amount', 'amounts are non-negative integers of minor units', 'amount');
    }
    const at = this.stamp();
    this.st.insertOp.run({ ...row, createdAt: at, updatedAt: at });
    return this.getOperation(row.id)!;
  }

  getOperation(id: string): OperationRow | undefined {
    const r = this.st.opById.get(id) as Row | undefined;
    return r ? toOperation(r) : undefined;
  }

  findByIdempotencyKey(key: string): OperationRow | undefined {
    const r = this.st.opByKey.get(key) as Row | undefined;
    return r ? toOperation(r) : undefined;
  }

  operationsOfOrder(orderId: string): OperationRow[] {
    return (this.st.opsByOrder.all(orderId) as Row[]).map(toOperation);
  }

  operationsReferencing(originalId: string): OperationRow[] {
    return (this.st.opsByOriginal.all(originalId) as Row[]).map(toOperation);
  }

  /** Every operation not yet in a final state: start-up recovery drives each to one. */
  openOperations(): OperationRow[] {
    return (this.st.opsNotFinal.all() as Row[]).map(toOperation);
  }

  /** Operations that wait for a person (state needs_attention). */
  needsAttentionCount(): number {
    const row = this.db.prepare("SELECT count(*) AS n FROM operations WHERE state = 'needs_attention'").get() as { n: number };
    return Number(row.n);
  }

  recentOperations(limit = 50): OperationRow[] {
    return (this.st.opsRecent.all(limit) as Row[]).map(toOperation);
  }

  /**
   * Updates columns of an operation. A final state never changes: updating one is an error (fields other
   * than `state` may still be completed, e.g. late evidence).
   */
  updateOperation(
    id: string,
    patch: Partial<Omit<OperationRow, 'id' | 'kind' | 'idempotencyKey' | 'createdAt' | 'updatedAt'>>,
  ): OperationRow {
    this.wrote();
    const current = this.getOperation(id);
    if (!current) throw new JournalError('not_found', `no operation ${id}`);
    if (patch.state !== undefined && patch.state !== current.state && FINAL_STATES.has(current.state)) {
      throw new JournalError('final_state', `operation ${id} is ${current.state}; final states never change`);
    }
    const cols: string[] = [];
    const values: unknown[] = [];
    const map: Record<string, string> = {
      state: 'state',
      reason: 'reason',
      approvedAmount: 'approved_amount',
      batch: 'batch',
      stan: 'stan',
      localDate: 'local_date',
      rrn: 'rrn',
      authCode: 'auth_code',
      responseCode: 'response_code',
      readerId: 'reader_id',
      orderId: 'order_id',
      card: 'card',
      iccRequest: 'icc_request',
      iccFinal: 'icc_final',
      result: 'result',
      supervisor: 'supervisor',
      cancelRequested: 'cancel_requested',
      operatorId: 'operator_id',
      originalId: 'original_id',
      amount: 'amount',
      currency: 'currency',
      terminalId: 'terminal_id',
      paramsHash: 'params_hash',
    };
    for (const [k, v] of Object.entries(patch)) {
      const col = map[k];
      if (!col || v === undefined) continue;
      cols.push(`${col} = ?`);
      values.push(
        k === 'card' || k === 'result' || k === 'supervisor' || k === 'cancelRequested' ? json(v) : v,
      );
    }
    cols.push('updated_at = ?');
    values.push(this.stamp(), id);
    this.db.prepare(`UPDATE operations SET ${cols.join(', ')} WHERE id = ?`).run(...values);
    return this.getOperation(id)!;
  }

  // ------------------------------------------------------------------ events

  /** Appends a durable event; returns its global sequence number. */
  appendEvent(operationId: string | null, type: string, data: Record<string, unknown>): number {
    this.wrote();
    return Number(this.st.event.run(operationId, type, JSON.stringify(data), this.stamp()).lastInsertRowid);
  }

  eventsSince(seq: number, limit = 1000): EventRow[] {
    return (this.st.eventsSince.all(seq, limit) as Row[]).map(toEvent);
  }

  eventsOf(operationId: string): EventRow[] {
    return (this.st.eventsOf.all(operationId) as Row[]).map(toEvent);
  }

  lastSeq(): number {
    return (this.st.lastSeq.get() as { seq: number }).seq;
  }

  // ------------------------------------------------------------------ host attempts

  insertAttempt(a: Pick<AttemptRow, 'operationId' | 'purpose' | 'mti' | 'stan' | 'batch'>): AttemptRow {
    this.wrote();
    const id = Number(
      this.st.insertAttempt.run(a.operationId, a.purpose, a.mti, a.stan, a.batch, this.stamp())
        .lastInsertRowid,
    );
    return this.attempt(id)!;
  }

  attempt(id: number): AttemptRow | undefined {
    const r = this.st.attemptById.get(id) as Row | undefined;
    return r ? toAttempt(r) : undefined;
  }

  attemptsOf(operationId: string): AttemptRow[] {
    return (this.st.attemptsOf.all(operationId) as Row[]).map(toAttempt);
  }

  /** The latest attempt with this STAN, batch and MTI (a reversal reuses its original's STAN). */
  attemptByStan(stan: string, batch: string, mti: string): AttemptRow | undefined {
    const r = this.st.attemptByStan.get(stan, batch, mti) as Row | undefined;
    return r ? toAttempt(r) : undefined;
  }

  updateAttempt(
    id: number,
    patch: Partial<
      Pick<
        AttemptRow,
        'sentAt' | 'outcome' | 'reason' | 'responseCode' | 'rrn' | 'authCode' | 'settledAt' | 'lateEvidence'
      >
    >,
  ): void {
    this.wrote();
    const map: Record<string, string> = {
      sentAt: 'sent_at',
      outcome: 'outcome',
      reason: 'reason',
      responseCode: 'response_code',
      rrn: 'rrn',
      authCode: 'auth_code',
      settledAt: 'settled_at',
      lateEvidence: 'late_evidence',
    };
    const cols: string[] = [];
    const values: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || !map[k]) continue;
      cols.push(`${map[k]} = ?`);
      values.push(k === 'lateEvidence' ? json(v) : v);
    }
    if (!cols.length) return;
    this.db.prepare(`UPDATE host_attempts SET ${cols.join(', ')} WHERE id = ?`).run(...values, id);
  }

  // ------------------------------------------------------------------ store and forward

  insertSaf(s: Pick<SafRow, 'lane' | 'operationId' | 'kind' | 'status' | 'reason' | 'message'>): SafRow {
    this.wrote();
    const at = this.stamp();
    const id = Number(
      this.st.insertSaf.run(
        s.lane,
        s.operationId,
        s.kind,
        s.status,
        s.reason,
        JSON.stringify(s.message),
        at,
        at,
      ).lastInsertRowid,
    );
    return this.saf(id)!;
  }

  saf(id: number): SafRow | undefined {
    const r = this.st.safById.get(id) as Row | undefined;
    return r ? toSaf(r) : undefined;
  }

  safOf(operationId: string): SafRow[] {
    return (this.st.safOf.all(operationId) as Row[]).map(toSaf);
  }

  /** Pending items of a lane in the order they must go out. */
  pendingSaf(lane: SafLane): SafRow[] {
    return (this.st.safPending.all(lane) as Row[]).map(toSaf);
  }

  /** The first pending item of a lane (the only one a strictly ordered lane may send). */
  headSaf(lane: SafLane): SafRow | undefined {
    const r = this.st.safHead.get(lane) as Row | undefined;
    return r ? toSaf(r) : undefined;
  }

  safDepth(): { lane: SafLane; count: number; oldest: string }[] {
    return (this.st.safCount.all() as Row[]).map((r) => ({
      lane: r['lane'] as SafLane,
      count: Number(r['n']),
      oldest: String(r['oldest']),
    }));
  }

  updateSaf(
    id: number,
    patch: Partial<Pick<SafRow, 'status' | 'reason' | 'attempts' | 'nextAt' | 'lastResponse' | 'message'>>,
  ): void {
    this.wrote();
    const map: Record<string, string> = {
      status: 'status',
      reason: 'reason',
      attempts: 'attempts',
      nextAt: 'next_at',
      lastResponse: 'last_response',
      message: 'message',
    };
    const cols: string[] = [];
    const values: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || !map[k]) continue;
      cols.push(`${map[k]} = ?`);
      values.push(k === 'message' ? JSON.stringify(v) : v);
    }
    cols.push('updated_at = ?');
    values.push(this.stamp(), id);
    this.db.prepare(`UPDATE saf SET ${cols.join(', ')} WHERE id = ?`).run(...values);
  }

  // ------------------------------------------------------------------ sealed card data

  /** Keeps the PAN sealed (AES-256-GCM, the operation id as associated data) while a message may need it. */
  sealPan(operationId: string, pan: Pan): void {
    this.wrote();
    const clear = Buffer.from(pan.reveal(), 'latin1');
    try {
      this.st.sealedPut.run(operationId, this.sealer.seal(clear, Buffer.from(operationId)), this.stamp());
    } finally {
      clear.fill(0);
    }
  }

  openPan(operationId: string): Pan | undefined {
    const r = this.st.sealedGet.get(operationId) as { blob: Buffer | null } | undefined;
    if (!r?.blob) return undefined;
    const clear = this.sealer.open(r.blob, Buffer.from(operationId));
    try {
      return Pan.fromDigits(clear.toString('latin1'));
    } finally {
      clear.fill(0);
    }
  }

  erasePan(operationId: string): boolean {
    this.wrote();
    return this.st.sealedErase.run(this.stamp(), operationId).changes > 0;
  }

  /** Operations whose PAN is still sealed. */
  sealedPans(): string[] {
    return (this.st.sealedLive.all() as { operation_id: string }[]).map((r) => r.operation_id);
  }

  // ------------------------------------------------------------------ outbox

  enqueueOutbox(topic: string, payload: Record<string, unknown>): number {
    this.wrote();
    return Number(this.st.outboxAdd.run(topic, JSON.stringify(payload), this.stamp(), null).lastInsertRowid);
  }

  dueOutbox(limit = 20): OutboxRow[] {
    return (this.st.outboxDue.all(this.stamp(), limit) as Row[]).map(toOutbox);
  }

  outboxDelivered(id: number): void {
    this.wrote();
    this.st.outboxDone.run(this.stamp(), id);
  }

  outboxFailed(id: number, nextAt: Date, error: string): void {
    this.wrote();
    this.st.outboxFail.run(nextAt.toISOString(), error.slice(0, 500), id);
  }

  // ------------------------------------------------------------------ counters (CounterStore shape)

  get(name: string): number | undefined {
    const r = this.st.counterGet.get(name) as { value: number } | undefined;
    return r?.value;
  }

  set(name: string, value: number): void {
    this.wrote();
    this.st.counterSet.run(name, value);
  }

  // ------------------------------------------------------------------ audit

  audit(
    operatorId: string,
    action: string,
    operationId: string | null,
    detail: Record<string, unknown>,
  ): void {
    this.wrote();
    this.st.audit.run(this.stamp(), operatorId, action, operationId, JSON.stringify(detail));
  }

  auditOf(
    operationId: string,
  ): { at: string; operatorId: string; action: string; detail: Record<string, unknown> }[] {
    return (this.st.auditOf.all(operationId) as Row[]).map((r) => ({
      at: String(r['at']),
      operatorId: String(r['operator_id']),
      action: String(r['action']),
      detail: parse<Record<string, unknown>>(r['detail']) ?? {},
    }));
  }

  // ------------------------------------------------------------------ terminal parameters (CAPKs, AIDs)

  /** The active downloaded set of a kind (docs/terminal-management.md). */
  activeParamSet(kind: ParamSetKind): ParamSetRow | undefined {
    return activeParamSet(this.db, kind);
  }

  /** Stores a new version of a kind as the active set, in one transaction (one fsync). */
  saveParamSet(input: {
    kind: ParamSetKind;
    reason: string;
    entries: { key: string; tlv: string }[];
    digest: string;
  }): ParamSetRow {
    return this.transaction(() => insertParamSet(this.db, input, this.stamp()));
  }

  /** Stored sets, newest first. */
  paramSets(kind?: ParamSetKind, limit?: number): ParamSetRow[] {
    return paramSets(this.db, kind, limit);
  }

  /** SQLite's own consistency check (for `posbridge doctor`). */
  integrityCheck(): string {
    return String(this.db.pragma('integrity_check', { simple: true }));
  }
}

function toOperation(r: Row): OperationRow {
  return {
    id: String(r['id']),
    kind: r['kind'] as OperationRow['kind'],
    idempotencyKey: String(r['idempotency_key']),
    paramsHash: String(r['params_hash']),
    operatorId: String(r['operator_id']),
    orderId: (r['order_id'] as string | null) ?? null,
    originalId: (r['original_id'] as string | null) ?? null,
    amount: Number(r['amount']),
    currency: String(r['currency']),
    approvedAmount: r['approved_amount'] === null ? null : Number(r['approved_amount']),
    state: r['state'] as OperationState,
    reason: (r['reason'] as string | null) ?? null,
    terminalId: String(r['terminal_id']),
    readerId: (r['reader_id'] as string | null) ?? null,
    batch: (r['batch'] as string | null) ?? null,
    stan: (r['stan'] as string | null) ?? null,
    localDate: (r['local_date'] as string | null) ?? null,
    rrn: (r['rrn'] as string | null) ?? null,
    authCode: (r['auth_code'] as string | null) ?? null,
    responseCode: (r['response_code'] as string | null) ?? null,
    card: parse(r['card']),
    iccRequest: (r['icc_request'] as Buffer | null) ?? null,
    iccFinal: (r['icc_final'] as Buffer | null) ?? null,
    result: parse(r['result']),
    supervisor: parse(r['supervisor']),
    cancelRequested: parse(r['cancel_requested']),
    createdAt: String(r['created_at']),
    updatedAt: String(r['updated_at']),
  };
}

function toAttempt(r: Row): AttemptRow {
  return {
    id: Number(r['id']),
    operationId: String(r['operation_id']),
    purpose: r['purpose'] as AttemptRow['purpose'],
    mti: String(r['mti']),
    stan: String(r['stan']),
    batch: String(r['batch']),
    createdAt: String(r['created_at']),
    sentAt: (r['sent_at'] as string | null) ?? null,
    outcome: r['outcome'] as AttemptRow['outcome'],
    reason: (r['reason'] as string | null) ?? null,
    responseCode: (r['response_code'] as string | null) ?? null,
    rrn: (r['rrn'] as string | null) ?? null,
    authCode: (r['auth_code'] as string | null) ?? null,
    settledAt: (r['settled_at'] as string | null) ?? null,
    lateEvidence: parse(r['late_evidence']),
  };
}

function toEvent(r: Row): EventRow {
  return {
    seq: Number(r['seq']),
    operationId: (r['operation_id'] as string | null) ?? null,
    type: String(r['type']),
    data: parse<Record<string, unknown>>(r['data']) ?? {},
    at: String(r['at']),
  };
}

function toSaf(r: Row): SafRow {
  return {
    id: Number(r['id']),
    lane: r['lane'] as SafLane,
    operationId: String(r['operation_id']),
    kind: String(r['kind']),
    status: r['status'] as SafRow['status'],
    reason: (r['reason'] as string | null) ?? null,
    message: parse<Record<string, unknown>>(r['message']) ?? {},
    attempts: Number(r['attempts']),
    nextAt: (r['next_at'] as string | null) ?? null,
    lastResponse: (r['last_response'] as string | null) ?? null,
    createdAt: String(r['created_at']),
    updatedAt: String(r['updated_at']),
  };
}

function toOutbox(r: Row): OutboxRow {
  return {
    id: Number(r['id']),
    topic: String(r['topic']),
    payload: parse<Record<string, unknown>>(r['payload']) ?? {},
    createdAt: String(r['created_at']),
    attempts: Number(r['attempts']),
    nextAt: (r['next_at'] as string | null) ?? null,
    deliveredAt: (r['delivered_at'] as string | null) ?? null,
    lastError: (r['last_error'] as string | null) ?? null,
  };
}
