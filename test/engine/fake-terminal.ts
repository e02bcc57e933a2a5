import { EventEmitter } from 'node:events';
import type {
  IntegratedCapability,
  IntegratedInfo,
  IntegratedOutcome,
  IntegratedProgressEvent,
  IntegratedState,
  IntegratedTerminal,
  LastResultAnswer,
  PaymentCommand,
  TerminalResult,
} from '../../src/terminal/integrated.js';

export interface FakeTx {
  receiptNo: string;
  kind: string;
  amount: number;
  status: 'approved' | 'declined' | 'voided';
  result: TerminalResult;
}

/**
 * An integrated terminal in memory, for engine tests of the integrated path (the ZVT client and
 * simulator have their own suites). Amounts ending in 51 decline; `loseAnswer` charges then loses the
 * completion (`unknown`); `loseBefore` loses the command before the terminal runs it.
 */
export class FakeTerminal extends EventEmitter implements IntegratedTerminal {
  readonly kind = 'zvt' as const;
  capabilities = new Set<IntegratedCapability>([
    'sale',
    'refund',
    'void',
    'preauth',
    'capture',
    'preauth_void',
  ]);
  state: IntegratedState = 'idle';
  ledger: FakeTx[] = [];
  loseAnswer = false;
  loseBefore = false;
  /** Milliseconds the terminal "waits for the card" (abort works during it). */
  cardMs = 0;
  aborted = false;
  /** The terminal approves although the ECR asked it to abort (it was too late on its side). */
  ignoreAbort = false;
  private receipt = 100;

  info(): IntegratedInfo {
    return { kind: 'zvt', address: 'tcp://fake:20007', terminalId: '52500001' };
  }
  start(): this {
    return this;
  }
  async whenReady(): Promise<void> {}
  async close(): Promise<void> {}

  private async pay(
    kind: string,
    cmd: PaymentCommand,
    p?: (e: IntegratedProgressEvent) => void,
  ): Promise<IntegratedOutcome> {
    this.aborted = false;
    p?.({ progress: 'present_card', at: new Date() });
    if (this.cardMs) await new Promise((r) => setTimeout(r, this.cardMs));
    if (this.aborted && !this.ignoreAbort)
      return { status: 'declined', resultCode: '6C', message: 'aborted' };
    if (this.loseBefore) {
      this.loseBefore = false;
      return { status: 'unknown', reason: 'connection_lost', message: 'lost' };
    }
    const declined = cmd.amount % 100 === 51;
    const receiptNo = String(++this.receipt).padStart(4, '0');
    const result: TerminalResult = {
      amount: cmd.amount,
      currency: cmd.currency,
      resultCode: declined ? '05' : '00',
      receiptNo,
      trace: receiptNo.padStart(6, '0'),
      terminalId: '52500001',
      maskedPan: '621234******0010',
      cardName: 'UnionPay',
      authCode: '123456',
      receipt: { merchant: ['MERCHANT COPY', `AMOUNT ${cmd.amount}`], customer: ['CUSTOMER COPY'] },
    };
    this.ledger.push({
      receiptNo,
      kind,
      amount: cmd.amount,
      status: declined ? 'declined' : 'approved',
      result,
    });
    if (this.loseAnswer) {
      this.loseAnswer = false;
      return { status: 'unknown', reason: 'timeout', message: 'completion lost' };
    }
    return declined
      ? { status: 'declined', resultCode: '05', message: 'declined', result }
      : { status: 'approved', result };
  }
  sale(c: PaymentCommand, p?: (e: IntegratedProgressEvent) => void) {
    return this.pay('sale', c, p);
  }
  preauth(c: PaymentCommand, p?: (e: IntegratedProgressEvent) => void) {
    return this.pay('preauth', c, p);
  }
  refund(c: PaymentCommand, p?: (e: IntegratedProgressEvent) => void) {
    return this.pay('refund', c, p);
  }
  async void(c: PaymentCommand & { receiptNo: string }): Promise<IntegratedOutcome> {
    const tx = this.ledger.find((t) => t.receiptNo === c.receiptNo && t.status === 'approved');
    if (!tx) return { status: 'declined', resultCode: '64', message: 'no such receipt' };
    tx.status = 'voided';
    return this.pay('void', c);
  }
  capture(c: PaymentCommand & { receiptNo: string }) {
    return this.pay('capture', c);
  }
  async preauthVoid(c: PaymentCommand & { receiptNo: string }): Promise<IntegratedOutcome> {
    const tx = this.ledger.find((t) => t.receiptNo === c.receiptNo && t.status === 'approved');
    if (tx) tx.status = 'voided';
    return this.pay('preauth_void', c);
  }
  async abort(): Promise<'sent' | 'not_possible'> {
    this.aborted = true;
    return 'sent';
  }
  async lastResult(): Promise<LastResultAnswer> {
    const last = this.ledger.at(-1);
    return last
      ? { status: 'known', approved: last.status !== 'declined', result: last.result }
      : { status: 'none' };
  }
  async endOfDay(): Promise<IntegratedOutcome> {
    return { status: 'approved', result: {} };
  }
}
