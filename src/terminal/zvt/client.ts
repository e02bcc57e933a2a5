/**
 * `ZvtTerminal`: posbridge as the ECR of a ZVT payment terminal, implementing `IntegratedTerminal`.
 * The connection, registration and exchange machinery is `ZvtConnection` (connection.ts); each command
 * here builds its message (messages.ts), runs it under the master-rights rule (exchange.ts) and maps
 * the end to an `IntegratedOutcome` (outcome.ts).
 */
import type {
  IntegratedCapability,
  IntegratedOutcome,
  IntegratedTerminal,
  LastResultAnswer,
  PaymentCommand,
} from '../integrated.js';
import { encodeMessage, type ZvtMessage } from './codec.js';
import { ZvtConnection, type NotSent, type Progress } from './connection.js';
import type { ExchangeOptions, ExchangeResult } from './exchange.js';
import * as M from './messages.js';
import { ALL_ZVT_CAPABILITIES, type ZvtTerminalOptions } from './options.js';
import { toOutcome } from './outcome.js';
import { statusEnquiryOf, statusResultCode, statusToResult, type StatusEnquiryInfo } from './status.js';

export type StatusEnquiryAnswer =
  ({ status: 'ok' } & StatusEnquiryInfo) | { status: 'unavailable'; message: string };

export class ZvtTerminal extends ZvtConnection implements IntegratedTerminal {
  readonly kind = 'zvt' as const;
  readonly capabilities: ReadonlySet<IntegratedCapability>;

  constructor(options: ZvtTerminalOptions) {
    super(options);
    this.capabilities = new Set(options.capabilities ?? ALL_ZVT_CAPABILITIES);
  }

  sale(cmd: PaymentCommand, onProgress?: Progress): Promise<IntegratedOutcome> {
    return this.payment('sale', () => M.authorisation(this.amountOf(cmd)), onProgress);
  }

  preauth(cmd: PaymentCommand, onProgress?: Progress): Promise<IntegratedOutcome> {
    return this.payment('preauth', () => M.preAuthorisation(this.amountOf(cmd)), onProgress);
  }

  refund(cmd: PaymentCommand, onProgress?: Progress): Promise<IntegratedOutcome> {
    return this.payment(
      'refund',
      () => M.refund({ password: this.options.password, ...this.amountOf(cmd) }),
      onProgress,
    );
  }

  void(cmd: PaymentCommand & { receiptNo: string }): Promise<IntegratedOutcome> {
    return this.payment('void', () =>
      M.reversal({ password: this.options.password, receiptNo: cmd.receiptNo, ...this.amountOf(cmd) }),
    );
  }

  capture(
    cmd: PaymentCommand & { receiptNo: string; trace?: string; authCode?: string },
  ): Promise<IntegratedOutcome> {
    return this.payment('capture', () =>
      M.bookTotal({
        receiptNo: cmd.receiptNo,
        ...this.amountOf(cmd),
        ...(cmd.trace ? { trace: cmd.trace } : {}),
        ...(cmd.authCode ? { authCode: cmd.authCode } : {}),
      }),
    );
  }

  preauthVoid(cmd: PaymentCommand & { receiptNo: string; trace?: string }): Promise<IntegratedOutcome> {
    return this.payment('preauth_void', () =>
      M.preAuthReversal({ receiptNo: cmd.receiptNo, ...this.amountOf(cmd) }),
    );
  }

  endOfDay(): Promise<IntegratedOutcome> {
    return this.payment('end_of_day', () => M.endOfDay({ password: this.options.password }));
  }

  /** Diagnosis 06 70 (for `doctor`): the terminal contacts its host. */
  diagnosis(): Promise<IntegratedOutcome> {
    return this.payment(undefined, () => M.diagnosis());
  }

  /**
   * Sends Abort 06 B0 while a command runs. The running command then ends as the terminal decides: an
   * Abort 06 1E 6C (declined) if it was still possible, else its normal completion.
   */
  async abort(): Promise<'sent' | 'not_possible'> {
    if (!this.running || !this.link.isOpen) return 'not_possible';
    try {
      await this.link.send(encodeMessage(M.abortCommand(), this.tables));
      return 'sent';
    } catch {
      return 'not_possible';
    }
  }

  /**
   * Repeat Receipt 06 20 with service byte 03: the terminal sends the Status-Information of its LAST
   * transaction (and prints nothing). There is no query by ECR reference: the caller compares amount
   * and receipt number with what it expected.
   */
  async lastResult(): Promise<LastResultAnswer> {
    const r = await this.run(undefined, () =>
      M.repeatReceipt({ password: this.options.password, serviceByte: M.REPEAT_RECEIPT_STATUS_ONLY }),
    );
    if (!('end' in r)) return { status: 'unavailable', message: r.message };
    if (r.end === 'completion' && !r.protocolError) {
      const last = r.statuses.at(-1);
      if (!last) return { status: 'none' };
      return {
        status: 'known',
        approved: statusResultCode(last) === '00',
        result: { ...statusToResult(last, this.charset), ...(r.receipt ? { receipt: r.receipt } : {}) },
      };
    }
    const o = toOutcome(r, this.tables);
    return { status: 'unavailable', message: 'message' in o ? o.message : `repeat receipt ended ${r.end}` };
  }

  /** Status-Enquiry 05 01 (for `doctor`): terminal status code, software version, device info. */
  async statusEnquiry(): Promise<StatusEnquiryAnswer> {
    const r = await this.run(
      undefined,
      () => M.statusEnquiry({ password: this.options.password, serviceByte: 0x04 }),
      undefined,
      { after: '05 01' },
    );
    if (!('end' in r)) return { status: 'unavailable', message: r.message };
    if (r.end !== 'completion' || !r.completion) {
      const o = toOutcome(r, this.tables);
      return { status: 'unavailable', message: 'message' in o ? o.message : `status enquiry ended ${r.end}` };
    }
    const info = statusEnquiryOf(r.completion, this.tables);
    if (info.terminalId) this.terminalId = info.terminalId;
    if (info.model) this.model = info.model;
    if (info.firmware ?? info.swVersion) this.firmware = info.firmware ?? info.swVersion;
    return { status: 'ok', ...info };
  }

  private amountOf(cmd: PaymentCommand): { amount: number; currency?: string } {
    return { amount: cmd.amount, ...(this.options.sendCurrency === false ? {} : { currency: cmd.currency }) };
  }

  private async payment(
    cap: IntegratedCapability | undefined,
    build: ZvtMessage | (() => ZvtMessage),
    onProgress?: Progress,
  ): Promise<IntegratedOutcome> {
    const r = await this.run(cap, build, onProgress);
    return 'end' in r ? toOutcome(r, this.tables) : r;
  }

  /**
   * `cap` undefined: an internal command (repeat receipt for lost-result repair, status enquiry and
   * diagnosis for doctor) that runs whatever `capabilities` lists.
   */
  private async run(
    cap: IntegratedCapability | undefined,
    build: ZvtMessage | (() => ZvtMessage),
    onProgress?: Progress,
    options: ExchangeOptions = {},
  ): Promise<ExchangeResult | NotSent | Extract<IntegratedOutcome, { status: 'not_supported' }>> {
    if (cap !== undefined && !this.capabilities.has(cap))
      return {
        status: 'not_supported',
        code: 'not_supported_by_terminal',
        message: `${cap} is not enabled for this terminal`,
      };
    let msg: ZvtMessage;
    try {
      msg = typeof build === 'function' ? build() : build;
    } catch (e) {
      return { status: 'not_sent', reason: 'link_down', message: (e as Error).message };
    }
    return this.exchange(msg, onProgress, options);
  }
}
