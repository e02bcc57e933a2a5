import type { EventEmitter } from 'node:events';

/**
 * An integrated terminal: it reads the card, takes the PIN and talks to its acquirer itself (ZVT today,
 * China's MIS-POS terminals later). posbridge only sends it "pay this amount" and journals, tracks and
 * recovers what it answers. It never hands posbridge a clear PAN: card facts arrive masked.
 */

export type IntegratedKind = 'zvt';

/** The operations a terminal declares it can do; anything else is `not_supported_by_terminal`. */
export type IntegratedCapability =
  | 'sale'
  | 'refund'
  | 'void'
  | 'preauth'
  | 'capture'
  | 'preauth_void'
  | 'end_of_day'
  | 'repeat_receipt'
  | 'status';

export type IntegratedState = 'disconnected' | 'connecting' | 'idle' | 'busy';

export interface IntegratedStateEvent {
  state: IntegratedState;
  at: Date;
  reason?: string;
}

export interface IntegratedInfo {
  kind: IntegratedKind;
  /** Terminal id (ZVT BMP 29), when the terminal told us. */
  terminalId?: string;
  model?: string;
  firmware?: string;
  /** Where it is: `tcp://host:port` or the serial path. */
  address: string;
}

/** Transient prompts (ZVT intermediate status 04 FF) mapped to posbridge's reader progress names. */
export type IntegratedProgress =
  | 'present_card'
  | 'card_detected'
  | 'pin_entry_started'
  | 'processing'
  | 'remove_card'
  | 'waiting';

export interface IntegratedProgressEvent {
  progress: IntegratedProgress;
  /** The terminal's own text for it, when it sent one (safe: status texts carry no card data). */
  text?: string;
  at: Date;
}

/** What the terminal reports about a transaction (ZVT status information 04 0F). Masked card data only. */
export interface TerminalResult {
  /** Approved amount in minor units. */
  amount?: number;
  /** ISO 4217 numeric. */
  currency?: string;
  /** Terminal result code (ZVT BMP 27), two hex digits, "00" = success. */
  resultCode?: string;
  /** Receipt number (ZVT BMP 87): what a reversal/void names. */
  receiptNo?: string;
  /** Trace number (ZVT BMP 0B). */
  trace?: string;
  /** Turnover record number (ZVT BMP 88). */
  turnoverNo?: string;
  terminalId?: string;
  /** Authorisation code (ZVT BMP 3B / TLV). */
  authCode?: string;
  /** Masked PAN as the terminal sent it (ZVT BMP 22, masked digits shown as `*`). */
  maskedPan?: string;
  cardName?: string;
  aid?: string;
  /** MMDD and hhmmss as the terminal sent them. */
  date?: string;
  time?: string;
  /** Receipt lines the terminal printed on the ECR (06 D1 / 06 D3), per copy, as printed (masked). */
  receipt?: { merchant: string[]; customer: string[] };
  /** The cardholder signs (ZVT TLV 2F/1F10 says signature): the merchant copy carries a signature line. */
  signatureRequired?: boolean;
}

/**
 * How a terminal command ended. Exactly one of these, like `HostOutcome`:
 * - `approved`: completion (06 0F) with result 00.
 * - `declined`: the terminal or its host refused (abort 06 1E / result code ≠ 00): no money moved.
 * - `not_supported`: the terminal refused the command itself (84 83 and the like): nothing happened.
 * - `busy`: the terminal is busy (another ECR or a local operation): nothing happened.
 * - `unknown`: the command left and no final answer came (timeout, link lost after the command was
 *   acknowledged): the terminal may have charged the card. Never `failed`.
 * - `not_sent`: the command bytes never left (link down, terminal did not acknowledge the frame).
 */
export type IntegratedOutcome =
  | { status: 'approved'; result: TerminalResult }
  | { status: 'declined'; resultCode: string; message: string; result?: TerminalResult }
  | { status: 'not_supported'; code: string; message: string }
  | { status: 'busy'; message: string }
  | { status: 'unknown'; reason: 'timeout' | 'connection_lost' | 'protocol_error'; message: string }
  | { status: 'not_sent'; reason: 'link_down' | 'not_acknowledged' | 'busy_locally'; message: string };

export interface PaymentCommand {
  /** The posbridge operation id (journaled before the command leaves). */
  reference: string;
  /** Minor units. */
  amount: number;
  /** ISO 4217 numeric. */
  currency: string;
}

/** What the terminal says about its last transaction (after a lost result: ZVT repeat receipt 06 20). */
export type LastResultAnswer =
  | { status: 'known'; approved: boolean; result: TerminalResult }
  | { status: 'none' }
  | { status: 'unavailable'; message: string };

export interface IntegratedTerminal extends EventEmitter {
  readonly kind: IntegratedKind;
  readonly capabilities: ReadonlySet<IntegratedCapability>;
  readonly state: IntegratedState;
  info(): IntegratedInfo;
  /** Starts connecting (and reconnecting after losses) until `close()`. */
  start(): this;
  whenReady(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
  sale(cmd: PaymentCommand, onProgress?: (e: IntegratedProgressEvent) => void): Promise<IntegratedOutcome>;
  preauth(cmd: PaymentCommand, onProgress?: (e: IntegratedProgressEvent) => void): Promise<IntegratedOutcome>;
  /** Void a completed sale of the current day by its receipt number (ZVT Reversal 06 30). */
  void(cmd: PaymentCommand & { receiptNo: string }): Promise<IntegratedOutcome>;
  /** Refund (ZVT Refund 06 31); the card is presented again. */
  refund(cmd: PaymentCommand, onProgress?: (e: IntegratedProgressEvent) => void): Promise<IntegratedOutcome>;
  /** Capture part or all of a pre-authorisation (ZVT Book Total 06 24), by its receipt number. */
  capture(
    cmd: PaymentCommand & { receiptNo: string; trace?: string; authCode?: string },
  ): Promise<IntegratedOutcome>;
  /** Release a pre-authorisation (ZVT Partial Reversal 06 25 for the full amount), by its receipt number. */
  preauthVoid(cmd: PaymentCommand & { receiptNo: string; trace?: string }): Promise<IntegratedOutcome>;
  /** Ask the terminal to abort the command in progress (ZVT Abort 06 B0). */
  abort(): Promise<'sent' | 'not_possible'>;
  /** The terminal's last transaction, to repair a lost result (ZVT Repeat Receipt 06 20). */
  lastResult(): Promise<LastResultAnswer>;
  /** End of day (ZVT 06 50): the terminal closes its batch with its host. */
  endOfDay(): Promise<IntegratedOutcome>;
}
