import type { Pan, SensitiveBytes } from '../card/index.js';
import type { KeyScheme, SecurityModule } from '../crypto/index.js';
import type { ParamLoadResult, ReaderParamSet } from './param-push.js';

/**
 * What the engine needs from a card reader, whatever the transport (BLE, serial, TCP) and the reader
 * model (a protocol profile in protocols/terminal). The driver implements it; the engine never sees
 * frames, sequence numbers or check bytes.
 */

export type ReaderState = 'disconnected' | 'connecting' | 'idle' | 'busy';

export interface ReaderStateEvent {
  state: ReaderState;
  at: Date;
  reason?: string;
}

export interface ReaderInfo {
  serialNumber: string;
  model: string;
  firmware: string;
  /** Battery level in percent, when the reader reports one. */
  batteryPercent?: number;
  /** Key check values (uppercase hex) of the keys the reader holds. */
  keyCheckValues: { tmk?: string; pik?: string; mak?: string; tdk?: string };
  /** The key schemes the reader's master key works in (device_info `key_scheme`; absent = DES only). */
  keySchemes?: readonly KeyScheme[];
  /** Digests of the CAPK / AID sets the reader holds (hex), when it holds one. */
  paramDigests?: { capk?: string; aid?: string };
}

export type TransactionType = 'sale' | 'balance' | 'preauth' | 'refund' | 'void' | 'capture';

export type CardInterface = 'chip' | 'contactless' | 'magstripe' | 'keyed';

export interface StartTransaction {
  /** Minor units (fen); 0 for a balance inquiry. */
  amount: bigint;
  /** ISO 4217 numeric, e.g. "156". */
  currency: string;
  type: TransactionType;
  /** Seconds the reader waits for a card. */
  timeoutSeconds: number;
  interfaces: readonly CardInterface[];
  /** Ask for an online PIN (the reader decides per CVM; this allows it). */
  pinAllowed: boolean;
}

/** Transient progress: pushed live to the CRM, never journaled. */
export type ReaderProgress =
  'present_card' | 'card_detected' | 'pin_entry_started' | 'pin_digit_entered' | 'processing' | 'remove_card';

export interface ReaderProgressEvent {
  progress: ReaderProgress;
  /** PIN digits entered so far (count only), for pin_digit_entered. */
  digits?: number;
  at: Date;
}

/** What the reader read. Card data arrive in the value types that refuse to print in clear. */
export interface CardResult {
  pan: Pan;
  /** Track 2 / 3 encrypted with the TDK (nibbles as ASCII characters, for ISO 8583 fields 35 / 36). */
  track2?: SensitiveBytes;
  track3?: SensitiveBytes;
  /** PIN block encrypted under the PIK (field 52), when a PIN was entered. */
  pinBlock?: SensitiveBytes;
  /** A DUKPT reader's key serial number for `pinBlock` (10 bytes TDES, 12 AES); not secret. */
  ksn?: Buffer;
  /** The reader's EMV data (BER-TLV) for field 55; the engine filters it through a field-55 profile. */
  iccData?: Buffer;
  /** ISO 8583 field 22, e.g. "051" chip with PIN, "072" contactless without PIN. */
  entryMode: string;
  /** Card sequence number (field 23), 3 digits. */
  cardSequenceNumber?: string;
  /** YYMM, sensitive. */
  expiry?: SensitiveBytes;
  interface: CardInterface;
  /** Chip-to-magstripe fallback (field 22 "80x" / 60.x per dialect). */
  fallback: boolean;
}

export type StartResult =
  | { status: 'card_read'; card: CardResult }
  | { status: 'cancelled'; by: 'customer' | 'operator' }
  | { status: 'timeout' }
  | { status: 'declined_offline'; reason: string }
  | { status: 'error'; code: ReaderErrorCode; message: string };

/** The host's answer, for the chip to decide (second GENERATE AC). */
export interface CompleteTransaction {
  /** Host approved (field 39 approval) or not; sent to the card as 8A. */
  approved: boolean;
  responseCode: string;
  authCode?: string;
  /** Field 55 of the host response: 91 issuer authentication data, 71/72 scripts. */
  issuerData?: Buffer;
  /** True when the host never answered: the card decides offline (usually AAC). */
  unableToGoOnline?: boolean;
}

export type CompleteResult =
  | {
      status: 'completed';
      /** The chip's decision: TC (approve) or AAC (decline). Magstripe/contactless without second AC: 'none'. */
      cryptogram: 'tc' | 'aac' | 'none';
      /** TLV to upload (TC upload, script results DF31 / 9F5B). */
      iccData?: Buffer;
      scriptResults?: Buffer;
    }
  | { status: 'card_removed' }
  | { status: 'error'; code: ReaderErrorCode; message: string };

export type CancelResult =
  /** Nothing was read: safe to forget the transaction. */
  | { status: 'cancelled' }
  /** The card was already read (or the transaction already completed): the engine must decide. */
  | { status: 'too_late'; stage: 'card_read' | 'completed' }
  | { status: 'no_transaction' };

/** After a link drop: what the reader knows about its last transaction. */
export interface LastTransactionStatus {
  /** The engine's transaction reference given at start (so a status is never applied to the wrong payment). */
  reference?: string;
  stage: 'none' | 'waiting_card' | 'card_read' | 'completed' | 'cancelled';
  cryptogram?: 'tc' | 'aac' | 'none';
  iccData?: Buffer;
}

export type ReaderErrorCode =
  | 'reader_busy'
  | 'reader_disconnected'
  | 'reader_timeout'
  | 'reader_refused'
  | 'reader_not_paired'
  | 'reader_kcv_mismatch'
  | 'reader_protocol_error'
  | 'reader_low_battery'
  | 'card_error';

/**
 * One card reader. One transaction at a time (`reader_busy` otherwise); the MAC commands of that
 * transaction are allowed inside it. Every method settles; none throws for reader behaviour (errors
 * are results); a thrown ReaderError means misuse or a broken link.
 */
export interface CardReader {
  readonly state: ReaderState;
  info(): Promise<ReaderInfo>;
  /** `reference` is the engine's id for this transaction, echoed by lastTransactionStatus. */
  startTransaction(
    reference: string,
    request: StartTransaction,
    onProgress?: (e: ReaderProgressEvent) => void,
  ): Promise<StartResult>;
  completeTransaction(reference: string, answer: CompleteTransaction): Promise<CompleteResult>;
  /** Cancels the transaction in progress; `reference` names one a previous process left on the reader. */
  cancel(reference?: string): Promise<CancelResult>;
  lastTransactionStatus(): Promise<LastTransactionStatus>;
  displayText(lines: readonly string[]): Promise<void>;
  printLines(lines: readonly string[]): Promise<void>;
  beep(): Promise<void>;
  /**
   * Gives the reader a downloaded CAPK or AID set (readers that take them; see param-push.ts). The set
   * is remembered and pushed again when the reader connects holding another one.
   */
  loadParameters?(set: ReaderParamSet): Promise<ParamLoadResult>;
  /** The reader as a security module: keys loaded encrypted, MACs computed by the reader. */
  readonly securityModule: SecurityModule;
  on(event: 'state', listener: (e: ReaderStateEvent) => void): this;
  off(event: 'state', listener: (e: ReaderStateEvent) => void): this;
  close(): Promise<void>;
}
