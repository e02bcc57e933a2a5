/**
 * Receipts' own tables (migration 3 in src/journal/migrations.ts: `signatures`, `receipt_prints`)
 * through `journal.db`. Writes run inside `journal.transaction()` (one fsync, or the caller's).
 */
import type { Journal } from '../../journal/index.js';
import type { ReceiptCopy } from './receipt.js';

export interface SignatureRow {
  operationId: string;
  format: 'svg' | 'png';
  image: Buffer;
  sha256: string;
  operatorId: string;
  createdAt: string;
}

export interface PrintRow {
  id: number;
  operationId: string;
  copy: ReceiptCopy;
  reprint: boolean;
  width: number;
  operatorId: string;
  printedAt: string;
}

type Row = Record<string, unknown>;

const toPrint = (r: Row): PrintRow => ({
  id: Number(r['id']),
  operationId: String(r['operation_id']),
  copy: r['copy'] as ReceiptCopy,
  reprint: Number(r['reprint']) === 1,
  width: Number(r['width']),
  operatorId: String(r['operator_id']),
  printedAt: String(r['printed_at']),
});

function prepare(db: Journal['db']) {
  return {
    signature: db.prepare('SELECT * FROM signatures WHERE operation_id = ?'),
    hasSignature: db.prepare('SELECT 1 FROM signatures WHERE operation_id = ?').pluck(),
    putSignature: db.prepare(
      `INSERT INTO signatures (operation_id, format, image, sha256, operator_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    prints: db.prepare('SELECT COUNT(*) AS n FROM receipt_prints WHERE operation_id = ? AND copy = ?'),
    lastPrint: db.prepare('SELECT * FROM receipt_prints ORDER BY id DESC LIMIT 1'),
    putPrint: db.prepare(
      `INSERT INTO receipt_prints (operation_id, copy, reprint, width, operator_id, printed_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
    ),
  };
}

export class ReceiptStore {
  private readonly st: ReturnType<typeof prepare>;

  constructor(
    readonly journal: Journal,
    private readonly now: () => Date,
  ) {
    this.st = prepare(journal.db);
  }

  /** Whether a signature is on file (without reading its image). */
  hasSignature(operationId: string): boolean {
    return this.st.hasSignature.get(operationId) !== undefined;
  }

  signature(operationId: string): SignatureRow | undefined {
    const r = this.st.signature.get(operationId) as Row | undefined;
    return r
      ? {
          operationId: String(r['operation_id']),
          format: r['format'] as 'svg' | 'png',
          image: r['image'] as Buffer,
          sha256: String(r['sha256']),
          operatorId: String(r['operator_id']),
          createdAt: String(r['created_at']),
        }
      : undefined;
  }

  /** Call inside `journal.transaction()` with whatever else belongs to the same step. */
  putSignature(s: Omit<SignatureRow, 'createdAt'>): void {
    this.st.putSignature.run(
      s.operationId,
      s.format,
      s.image,
      s.sha256,
      s.operatorId,
      this.now().toISOString(),
    );
  }

  /** How many times this copy of the payment's receipt has been printed. */
  printCount(operationId: string, copy: ReceiptCopy): number {
    return Number((this.st.prints.get(operationId, copy) as { n: number }).n);
  }

  lastPrint(): PrintRow | undefined {
    const r = this.st.lastPrint.get() as Row | undefined;
    return r ? toPrint(r) : undefined;
  }

  /** Call inside `journal.transaction()`. */
  recordPrint(p: Omit<PrintRow, 'id' | 'printedAt'>): void {
    this.st.putPrint.run(
      p.operationId,
      p.copy,
      p.reprint ? 1 : 0,
      p.width,
      p.operatorId,
      this.now().toISOString(),
    );
  }
}
