/**
 * The host simulator's ledger: card accounts (balance and holds), every transaction the host has
 * answered, reversals, settlements, batch uploads and the terminals' working keys (kept only as field 62,
 * i.e. wrapped under the master key). Never holds a clear PAN: transactions carry the card id and the
 * masked PAN.
 *
 * Persistence: when a file is given, `persist()` writes the whole ledger as JSON to a temporary file,
 * fsyncs it and renames it over the file. Commits are grouped: while one write is in flight, further
 * commits wait for the next write, which covers all of them. The host answers a request only after the
 * write that includes it has finished, so an answered transaction survives a crash of the host.
 */
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { open, rename, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CardTable } from '../shared/cards.js';

export type TxType =
  'sale' | 'balance' | 'preauth' | 'preauth_void' | 'completion' | 'completion_void' | 'void' | 'refund';

export interface Reversal {
  mti: string;
  /** Reason the terminal gave (field 39 of the 0400). */
  reason: string;
  at: string;
  /** Number of reversal messages received for this transaction (first + repeats). */
  attempts: number;
}

export interface LedgerTx {
  /** `${tid}:${batch}:${stan}` */
  key: string;
  tid: string;
  mid: string;
  batch: string;
  stan: string;
  mti: string;
  processingCode: string;
  type: TxType;
  /** 60.1 as received. */
  transactionType: string;
  /** ISO time the host received it. */
  at: string;
  /** Host date YYYY-MM-DD and MMDD. */
  hostDate: string;
  hostMmdd: string;
  /** Field 13 of the request (terminal local date MMDD), when sent. */
  terminalDate?: string;
  cardId?: string;
  account?: string;
  panMasked: string;
  panLast4: string;
  domestic: boolean;
  entryMode?: string;
  /** Requested amount (fen). */
  amount: number;
  /** Approved amount (fen): 0 for declines. */
  approvedAmount: number;
  responseCode: string;
  rrn: string;
  authCode?: string;
  /** Key of the transaction this one refers to (void, refund, completion, pre-auth void, completion void). */
  originalKey?: string;
  reversal?: Reversal;
  /** Sale / completion: key of the void that cancelled it. Pre-auth: key of the pre-auth void. */
  voidedBy?: string;
  /** Sale / completion: refunded so far (fen) and the refunds' keys. */
  refundedAmount: number;
  refunds: string[];
  /** Pre-auth: amount still held (fen), and the completion that consumed it. */
  held?: number;
  completedBy?: string;
  /** Chip: ARQC verified. */
  arqcVerified?: boolean;
  scriptResults?: { outcome: string; sequence: number; scriptIdHex: string }[];
  tc?: { verified: boolean; at: string };
  signature?: { bytes: number; at: string };
  uploaded?: boolean;
}

export interface Account {
  /** Ledger balance (fen). */
  balance: number;
  /** Held by open pre-auths (fen). */
  held: number;
  /** Opening balance from cards.json. */
  opening: number;
}

export interface Totals {
  debitAmount: number;
  debitCount: number;
  creditAmount: number;
  creditCount: number;
}

export interface SettlementTotals {
  domestic: Totals;
  foreign: Totals;
}

export interface Settlement {
  tid: string;
  batch: string;
  at: string;
  terminal: SettlementTotals;
  host: SettlementTotals;
  result: { domestic: '1' | '2'; foreign: '1' | '2' };
  /** The 0510 field 48 as sent (for repeats). */
  field48: string;
  file?: string;
}

export interface TerminalSession {
  tid: string;
  layout: 'single' | 'double';
  networkCode: string;
  /** Field 62 as sent (keys wrapped under the master key), hex. */
  field62: string;
  kcv: { pik: string; mak: string; tdk?: string };
  signedOnAt: string;
}

export interface UnmatchedReversal {
  tid: string;
  batch: string;
  stan: string;
  mti: string;
  reason: string;
  at: string;
  answered: string;
  why: 'unknown' | 'declined_original' | 'key_mismatch';
}

export interface UploadState {
  tid: string;
  batch: string;
  /** Keys of originals uploaded with 0320 / 201. */
  uploaded: string[];
  /** 61 references the host could not find. */
  notFound: string[];
  ended?: { at: string; declaredCount: number; notUploaded: string[] };
}

export interface LedgerState {
  version: 1;
  counters: { rrn: number };
  accounts: Record<string, Account>;
  transactions: LedgerTx[];
  settlements: Settlement[];
  /** `${tid}:${batch}` of settled (closed) batches. */
  closedBatches: string[];
  sessions: Record<string, TerminalSession>;
  unmatchedReversals: UnmatchedReversal[];
  uploads: UploadState[];
}

export class Ledger {
  private state!: LedgerState;
  private readonly byKey = new Map<string, LedgerTx>();
  private readonly byRrn = new Map<string, LedgerTx>();
  private readonly closed = new Set<string>();
  private dirty = false;
  private writing: Promise<void> | undefined;
  private pending: Promise<void> | undefined;
  /** Number of completed writes (tests). */
  writes = 0;

  constructor(
    private readonly cards: CardTable,
    readonly file?: string,
  ) {
    if (file && existsSync(file)) {
      this.load(JSON.parse(readFileSync(file, 'utf8')) as LedgerState);
    } else {
      this.load(this.fresh());
    }
    if (file) mkdirSync(dirname(file), { recursive: true });
  }

  private fresh(): LedgerState {
    const accounts: Record<string, Account> = {};
    for (const c of this.cards.cards) {
      if (c.balance !== undefined) accounts[c.id] = { balance: c.balance, held: 0, opening: c.balance };
    }
    return {
      version: 1,
      counters: { rrn: 0 },
      accounts,
      transactions: [],
      settlements: [],
      closedBatches: [],
      sessions: {},
      unmatchedReversals: [],
      uploads: [],
    };
  }

  private load(state: LedgerState): void {
    if (state.version !== 1) throw new Error(`ledger file version ${String(state.version)} is not supported`);
    // Cards added to cards.json after the ledger was written get their opening balance.
    for (const c of this.cards.cards) {
      if (c.balance !== undefined && !state.accounts[c.id])
        state.accounts[c.id] = { balance: c.balance, held: 0, opening: c.balance };
    }
    this.state = state;
    this.byKey.clear();
    this.byRrn.clear();
    this.closed.clear();
    for (const t of state.transactions) {
      this.byKey.set(t.key, t);
      this.byRrn.set(t.rrn, t);
    }
    for (const b of state.closedBatches) this.closed.add(b);
  }

  /** Back to the opening balances, no transactions; terminal sessions (keys) are kept. */
  reset(): void {
    const sessions = this.state.sessions;
    const rrn = this.state.counters.rrn;
    this.load(this.fresh());
    this.state.sessions = sessions;
    this.state.counters.rrn = rrn; // RRNs stay unique across resets
    this.dirty = true;
  }

  // ------------------------------------------------------------------ reads

  get snapshot(): LedgerState {
    return this.state;
  }

  tx(key: string): LedgerTx | undefined {
    return this.byKey.get(key);
  }

  txByRrn(rrn: string): LedgerTx | undefined {
    return this.byRrn.get(rrn);
  }

  transactions(filter: { tid?: string; stan?: string; batch?: string; rrn?: string } = {}): LedgerTx[] {
    return this.state.transactions.filter(
      (t) =>
        (filter.tid === undefined || t.tid === filter.tid) &&
        (filter.stan === undefined || t.stan === filter.stan) &&
        (filter.batch === undefined || t.batch === filter.batch) &&
        (filter.rrn === undefined || t.rrn === filter.rrn),
    );
  }

  account(id: string): Account | undefined {
    return this.state.accounts[id];
  }

  available(id: string): number {
    const a = this.state.accounts[id];
    return a ? a.balance - a.held : 0;
  }

  isClosed(tid: string, batch: string): boolean {
    return this.closed.has(`${tid}:${batch}`);
  }

  session(tid: string): TerminalSession | undefined {
    return this.state.sessions[tid];
  }

  settlement(tid: string, batch: string): Settlement | undefined {
    return this.state.settlements.find((s) => s.tid === tid && s.batch === batch);
  }

  upload(tid: string, batch: string): UploadState {
    let u = this.state.uploads.find((x) => x.tid === tid && x.batch === batch);
    if (!u) {
      u = { tid, batch, uploaded: [], notFound: [] };
      this.state.uploads.push(u);
    }
    return u;
  }

  // ------------------------------------------------------------------ writes (callers mark changes)

  nextRrn(): string {
    this.state.counters.rrn += 1;
    this.dirty = true;
    return String(this.state.counters.rrn).padStart(12, '0');
  }

  add(tx: LedgerTx): void {
    this.state.transactions.push(tx);
    this.byKey.set(tx.key, tx);
    this.byRrn.set(tx.rrn, tx);
    this.dirty = true;
  }

  /** Moves money on an account: `balance` and `held` deltas in fen. */
  move(accountId: string | undefined, balanceDelta: number, heldDelta = 0): void {
    if (!accountId) return;
    const a = this.state.accounts[accountId];
    if (!a) return;
    a.balance += balanceDelta;
    a.held += heldDelta;
    this.dirty = true;
  }

  closeBatch(tid: string, batch: string): void {
    const k = `${tid}:${batch}`;
    if (!this.closed.has(k)) {
      this.closed.add(k);
      this.state.closedBatches.push(k);
    }
    this.dirty = true;
  }

  addSettlement(s: Settlement): void {
    this.state.settlements.push(s);
    this.dirty = true;
  }

  setSession(s: TerminalSession): void {
    this.state.sessions[s.tid] = s;
    this.dirty = true;
  }

  addUnmatchedReversal(r: UnmatchedReversal): void {
    this.state.unmatchedReversals.push(r);
    this.dirty = true;
  }

  touch(): void {
    this.dirty = true;
  }

  // ------------------------------------------------------------------ settlement figures

  /** Debit / credit totals of one terminal's batch, as §3.13 of docs/acquirer-messages.md defines them. */
  totals(tid: string, batch: string): SettlementTotals {
    const zero = (): Totals => ({ debitAmount: 0, debitCount: 0, creditAmount: 0, creditCount: 0 });
    const out: SettlementTotals = { domestic: zero(), foreign: zero() };
    for (const t of this.state.transactions) {
      if (t.tid !== tid || t.batch !== batch || t.approvedAmount <= 0 || t.reversal) continue;
      const part = t.domestic ? out.domestic : out.foreign;
      if ((t.type === 'sale' || t.type === 'completion') && !t.voidedBy) {
        part.debitAmount += t.approvedAmount;
        part.debitCount += 1;
      } else if (t.type === 'refund') {
        part.creditAmount += t.approvedAmount;
        part.creditCount += 1;
      }
    }
    return out;
  }

  /** Status of a transaction for QA views and the settlement file. */
  static status(t: LedgerTx): string {
    if (t.reversal) return 'reversed';
    if (t.approvedAmount <= 0 && t.responseCode !== '00') return 'declined';
    if (t.voidedBy) return t.type === 'preauth' ? 'released' : 'voided';
    if (t.type === 'preauth') return t.completedBy ? 'completed' : 'held';
    if (t.refundedAmount > 0) return t.refundedAmount >= t.approvedAmount ? 'refunded' : 'partially_refunded';
    return t.responseCode === '10' ? 'partially_approved' : 'approved';
  }

  /**
   * Settlement file: `date,tid,batch,stan,rrn,amount,type,status`, one row per approved request
   * (declines and balance inquiries are left out), amounts in fen, date the host's YYYY-MM-DD.
   */
  settlementCsv(filter: { tid?: string; batch?: string } = {}): string {
    const rows = ['date,tid,batch,stan,rrn,amount,type,status'];
    for (const t of this.state.transactions) {
      if (filter.tid !== undefined && t.tid !== filter.tid) continue;
      if (filter.batch !== undefined && t.batch !== filter.batch) continue;
      if (t.type === 'balance' || (t.approvedAmount <= 0 && t.responseCode !== '00')) continue;
      rows.push(
        [t.hostDate, t.tid, t.batch, t.stan, t.rrn, String(t.approvedAmount), t.type, Ledger.status(t)].join(
          ',',
        ),
      );
    }
    return `${rows.join('\n')}\n`;
  }

  // ------------------------------------------------------------------ persistence

  /** Resolves once the current state is on disk (no-op without a file or without changes). */
  persist(): Promise<void> {
    if (!this.file) {
      this.dirty = false;
      return Promise.resolve();
    }
    if (!this.dirty && !this.writing) return Promise.resolve();
    if (!this.writing) {
      this.writing = this.writeNow().finally(() => {
        this.writing = undefined;
      });
      return this.writing;
    }
    // A write is in flight: everything changed since it started goes in the next one.
    this.pending ??= this.writing.then(() => {
      this.pending = undefined;
      return this.persist();
    });
    return this.pending;
  }

  private async writeNow(): Promise<void> {
    const file = this.file!;
    this.dirty = false;
    const json = JSON.stringify(this.state);
    const tmp = `${file}.${process.pid}.tmp`;
    await mkdir(dirname(file), { recursive: true });
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(json);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    this.writes += 1;
  }
}

/** Writes `text` to `dir/name` (temp + rename); returns the path. */
export async function writeFileAtomic(dir: string, name: string, text: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  return path;
}
