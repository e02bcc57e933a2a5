/**
 * Receipts and signatures of journaled payments (`engine.receipts`): render a copy (`receipt.get`),
 * print it on the reader and count reprints (`receipt.print`), keep the cardholder's signature with
 * the payment and, where the dialect declares an electronic-signature upload, queue it in the
 * store-and-forward advice lane (`payment.signature`).
 */
import type { Logger } from 'pino';
import type { SignatureUploadSpec } from '../../iso8583/index.js';
import type { Journal, OperationRow } from '../../journal/index.js';
import type { CardReader } from '../../terminal/reader.js';
import type { EngineConfig } from '../config.js';
import { EngineError } from '../errors.js';
import type { StoredSignatureUpload } from '../messages.js';
import type { SafWorker } from '../saf.js';
import {
  TRANSACTION_NAMES,
  buildReceipt,
  renderHtml,
  renderText,
  type Receipt,
  type ReceiptCopy,
  type ReceiptFormat,
  type ReceiptSignature,
  type ReceiptWidth,
} from './receipt.js';
import { esignTlv, parseSignature, type SignatureInput } from './signature.js';
import { signatureRecord } from './signature-image.js';
import { ReceiptStore } from './store.js';

export interface ReceiptsDeps {
  journal: Journal;
  reader: Pick<CardReader, 'state' | 'printLines'>;
  config: Pick<EngineConfig, 'merchantId' | 'merchantName' | 'receiptWidth' | 'timeZone' | 'saf'>;
  /** The dialect's electronic-signature upload, when the acquirer takes one. */
  signatureUpload?: SignatureUploadSpec | null | undefined;
  saf: Pick<SafWorker, 'drainAdvices'>;
  now: () => Date;
  logger?: Logger | undefined;
}

export interface ReceiptRequest {
  paymentId: string;
  copy: ReceiptCopy;
  format: ReceiptFormat;
  /** Text only: 32 or 48 columns (default the configured printer width). */
  width?: ReceiptWidth;
}

export interface ReceiptResult {
  paymentId: string;
  copy: ReceiptCopy;
  format: ReceiptFormat;
  /** This copy has been printed before: the receipt carries the reprint mark. */
  reprint: boolean;
  /** How many times this copy has been printed on the reader. */
  printCount: number;
  text?: string;
  html?: string;
  receipt?: Receipt;
}

export interface PrintRequest {
  /** Omitted: the payment of the last receipt printed (reprint of the last receipt). */
  paymentId?: string;
  /** Omitted: the last receipt's copy, or the customer copy of a given payment. */
  copy?: ReceiptCopy;
  operatorId: string;
}

export interface PrintResult {
  paymentId: string;
  copy: ReceiptCopy;
  reprint: boolean;
  /** Prints of this copy, this one included. */
  printCount: number;
  lines: number;
}

/** Where a signature's upload to the acquirer stands. `none`: the dialect declares no upload. */
export type SignatureUploadState = 'queued' | 'sent' | 'failed' | 'none';

export interface SignatureResult {
  paymentId: string;
  format: 'svg' | 'png';
  bytes: number;
  sha256: string;
  /** The same signature was already on file (nothing changed). */
  existing: boolean;
  upload: SignatureUploadState;
}

export class Receipts {
  readonly store: ReceiptStore;
  private printing: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: ReceiptsDeps) {
    this.store = new ReceiptStore(d.journal, d.now);
  }

  /** A payment that has a receipt: completed, and not a balance inquiry. */
  private receiptable(paymentId: string): OperationRow {
    const op = this.d.journal.getOperation(paymentId);
    if (!op) throw new EngineError('not_found', 'no such payment', { path: 'paymentId' });
    if (op.state !== 'completed' || op.kind === 'balance')
      throw new EngineError(
        'wrong_state',
        op.kind === 'balance'
          ? 'a balance inquiry has no receipt'
          : `the payment is ${op.state}: only completed payments have receipts`,
        { path: 'paymentId' },
      );
    return op;
  }

  private signatureOf(id: string): ReceiptSignature | null {
    const s = this.store.signature(id);
    return s ? { format: s.format, image: s.image, sha256: s.sha256 } : null;
  }

  /** When the request went to the host (its journaled attempt), else when the payment was created. */
  private transactionTime(op: OperationRow): string {
    return this.d.journal.attemptsOf(op.id).find((a) => a.purpose === 'request')?.createdAt ?? op.createdAt;
  }

  private build(
    op: OperationRow,
    copy: ReceiptCopy,
    reprint: boolean,
    signature: ReceiptSignature | null,
  ): Receipt {
    return buildReceipt({
      op,
      original: op.originalId ? (this.d.journal.getOperation(op.originalId) ?? null) : null,
      config: {
        merchantId: this.d.config.merchantId,
        merchantName: this.d.config.merchantName,
        timeZone: this.d.config.timeZone,
      },
      copy,
      reprint,
      at: this.transactionTime(op),
      signature,
    });
  }

  /** `receipt.get`: a copy as text, HTML or JSON. Marked reprint once that copy has been printed. */
  get(req: ReceiptRequest): ReceiptResult {
    const op = this.receiptable(req.paymentId);
    const printCount = this.store.printCount(op.id, req.copy);
    const signature = req.copy === 'merchant' ? this.signatureOf(op.id) : null;
    const receipt = this.build(op, req.copy, printCount > 0, signature);
    const base = {
      paymentId: op.id,
      copy: req.copy,
      format: req.format,
      reprint: printCount > 0,
      printCount,
    };
    if (req.format === 'json') return { ...base, receipt };
    if (req.format === 'html') return { ...base, html: renderHtml(receipt, signature) };
    return { ...base, text: renderText(receipt, req.width ?? this.d.config.receiptWidth).join('\n') };
  }

  /** `receipt.print`: prints a copy on the reader and journals it (a later print of it is a reprint). */
  print(req: PrintRequest): Promise<PrintResult> {
    const run = this.printing.then(() => this.printNow(req));
    this.printing = run.catch(() => undefined);
    return run;
  }

  private async printNow(req: PrintRequest): Promise<PrintResult> {
    let paymentId = req.paymentId;
    let copy = req.copy;
    if (paymentId === undefined) {
      const last = this.store.lastPrint();
      if (!last) throw new EngineError('not_found', 'no receipt has been printed yet', { path: 'paymentId' });
      paymentId = last.operationId;
      copy ??= last.copy;
    }
    copy ??= 'customer';
    const op = this.receiptable(paymentId);
    const { reader } = this.d;
    if (reader.state === 'disconnected' || reader.state === 'connecting')
      throw new EngineError('reader_not_connected', 'the card reader is not connected', { retryable: true });
    if (reader.state === 'busy')
      throw new EngineError('reader_busy', 'the card reader is busy with a payment', { retryable: true });
    const before = this.store.printCount(op.id, copy);
    const width = this.d.config.receiptWidth;
    const lines = renderText(
      this.build(op, copy, before > 0, copy === 'merchant' ? this.signatureOf(op.id) : null),
      width,
    );
    try {
      await reader.printLines(lines);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'reader_busy')
        throw new EngineError('reader_busy', 'the card reader is busy with a payment', { retryable: true });
      // Reader errors carry no card data; the message says what the reader reported.
      throw new EngineError('print_failed', `the reader did not print: ${code ?? 'error'}`, {
        retryable: true,
      });
    }
    this.d.journal.transaction(() => {
      this.store.recordPrint({
        operationId: op.id,
        copy: copy!,
        reprint: before > 0,
        width,
        operatorId: req.operatorId,
      });
      this.d.journal.audit(req.operatorId, before > 0 ? 'receipt_reprint' : 'receipt_print', op.id, { copy });
    });
    this.d.logger?.info({ paymentId: op.id, copy, reprint: before > 0 }, 'receipt printed');
    return { paymentId: op.id, copy, reprint: before > 0, printCount: before + 1, lines: lines.length };
  }

  /**
   * `payment.signature`: keeps the signature with the payment (the same image again changes nothing; a
   * different one is `signature_exists`) and queues its upload where the dialect declares one.
   */
  attachSignature(req: SignatureInput & { paymentId: string; operatorId: string }): SignatureResult {
    const op = this.receiptable(req.paymentId);
    const sig = parseSignature(req);
    const existing = this.store.signature(op.id);
    if (existing) {
      if (existing.sha256 !== sig.sha256)
        throw new EngineError(
          'signature_exists',
          'a different signature is already on file for this payment',
          {
            path: 'paymentId',
          },
        );
      return this.signatureResult(op.id, true)!;
    }
    const spec = this.d.signatureUpload;
    const upload: StoredSignatureUpload | undefined =
      spec && op.rrn
        ? {
            mti: spec.mti,
            transactionType: spec.transactionType,
            networkCode: spec.networkCode,
            imageField: spec.imageField,
            image: signatureRecord(sig.format, sig.image, sig.sha256, spec.maxImageBytes ?? 512)
              .toString('hex')
              .toUpperCase(),
            ...(spec.tlvField
              ? {
                  tlvField: spec.tlvField,
                  tlv: esignTlv({
                    merchantName: this.d.config.merchantName,
                    transactionName: TRANSACTION_NAMES[op.kind].split(' ')[0]!,
                    at: new Date(this.transactionTime(op)),
                    timeZone: this.d.config.timeZone,
                  })
                    .toString('hex')
                    .toUpperCase(),
                }
              : {}),
          }
        : undefined;
    this.d.journal.transaction(() => {
      this.store.putSignature({
        operationId: op.id,
        format: sig.format,
        image: sig.image,
        sha256: sig.sha256,
        operatorId: req.operatorId,
      });
      if (upload)
        this.d.journal.insertSaf({
          lane: 'advice',
          operationId: op.id,
          kind: 'esign_upload',
          status: 'pending',
          reason: null,
          message: upload as unknown as Record<string, unknown>,
        });
      this.d.journal.audit(req.operatorId, 'signature', op.id, {
        format: sig.format,
        bytes: sig.image.length,
        sha256: sig.sha256,
        upload: upload ? 'queued' : 'none',
      });
    });
    this.d.logger?.info({ paymentId: op.id, format: sig.format, bytes: sig.image.length }, 'signature kept');
    if (upload && this.d.config.saf.adviceAfterCompletion) void this.d.saf.drainAdvices();
    return this.signatureResult(op.id, false)!;
  }

  /** The signature on file and where its upload stands, or undefined. */
  signatureResult(paymentId: string, existing = false): SignatureResult | undefined {
    const s = this.store.signature(paymentId);
    if (!s) return undefined;
    const item = this.d.journal.safOf(paymentId).find((x) => x.kind === 'esign_upload');
    const upload: SignatureUploadState = !item
      ? 'none'
      : item.status === 'done'
        ? 'sent'
        : item.status === 'pending'
          ? 'queued'
          : 'failed';
    return { paymentId, format: s.format, bytes: s.image.length, sha256: s.sha256, existing, upload };
  }
}
