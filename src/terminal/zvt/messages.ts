/**
 * The ZVT messages posbridge sends (as `ZvtMessage`s, spec15 §2) and small builders shared with the
 * terminal simulator. Reading what the terminal sends back is in `status.ts` and `receipt.ts`.
 */
import { encodeAmount, encodeBcd, encodeCurrency, encodePassword } from './bcd.js';
import { bmp, type Bmp } from './bitmaps.js';
import type { ZvtMessage } from './codec.js';
import { ZvtError } from './errors.js';
import { encodeTlv, tlv, type TlvNode } from './tlv.js';

/** Config-byte bits of Registration 06 00 (spec15 Table 1 p27). */
export const CONFIG = {
  ecrPrintsPaymentReceipts: 0x02,
  ecrPrintsAdminReceipts: 0x04,
  intermediateStatus: 0x08,
  ecrControlsPayment: 0x10,
  ecrControlsAdmin: 0x20,
  /** With 02 / 04: the PT sends the receipt as Print Line (06 D1) / Text-Block (06 D3) commands. */
  printLines: 0x80,
} as const;

/**
 * posbridge's default: the ECR receives the payment receipts as print lines, controls payments (no
 * amount entry on the PT) and wants intermediate status; the PT keeps administration receipts and
 * functions (9A).
 */
export const DEFAULT_CONFIG_BYTE =
  CONFIG.printLines | CONFIG.ecrControlsPayment | CONFIG.intermediateStatus | CONFIG.ecrPrintsPaymentReceipts;

/** Repeat Receipt service byte: 01 send the Status-Information of the last transaction, 02 print nothing. */
export const REPEAT_RECEIPT_STATUS_ONLY = 0x03;

function msg(cls: number, ins: number, bmps: Bmp[] = [], fields: ZvtMessage['fields'] = []): ZvtMessage {
  return { cls, ins, fields, bmps };
}

function receiptNoBmp(receiptNo: string): Bmp {
  if (!/^[0-9]{1,4}$/.test(receiptNo))
    throw new ZvtError('bad_value', 'receipt number must be 1-4 digits', { bmp: '87' });
  return bmp(0x87, encodeBcd(receiptNo, 2, { bmp: '87' }));
}

/** Trace number: BMP 0B (6 digits) or, when longer, 0B 000000 plus TLV 1F2B (spec15 §3.1.1). */
function traceBmps(trace: string): Bmp[] {
  if (!/^[0-9]{1,12}$/.test(trace))
    throw new ZvtError('bad_value', 'trace number must be 1-12 digits', { bmp: '0B' });
  if (trace.length <= 6) return [bmp(0x0b, encodeBcd(trace, 3, { bmp: '0B' }))];
  const long = trace.length % 2 ? `0${trace}` : trace;
  return [bmp(0x0b, Buffer.alloc(3)), bmp(0x06, encodeTlv([tlv('1F2B', Buffer.from(long, 'hex'))]))];
}

function amountBmps(amount: number | undefined, currency: string | undefined): Bmp[] {
  const out: Bmp[] = [];
  if (amount !== undefined) out.push(bmp(0x04, encodeAmount(amount)));
  if (currency !== undefined) out.push(bmp(0x49, encodeCurrency(currency)));
  return out;
}

export interface RegistrationParams {
  password: string;
  configByte: number;
  /** ISO 4217 numeric; required by the spec when a TLV container or service byte follows. */
  currency?: string;
  serviceByte?: number;
  tlv?: TlvNode[];
}

/** Registration 06 00 `<password> <config-byte> [<CC> [03 <service-byte>] [06 <TLV>]]` (spec15 §2.1). */
export function registration(p: RegistrationParams): ZvtMessage {
  if (!Number.isInteger(p.configByte) || p.configByte < 0 || p.configByte > 0xff)
    throw new ZvtError('bad_config', 'config byte must be 0..255', { path: 'configByte' });
  const fields: ZvtMessage['fields'] = [
    { name: 'password', value: encodePassword(p.password) },
    { name: 'config-byte', value: Buffer.from([p.configByte]) },
  ];
  const needsCc = p.serviceByte !== undefined || p.tlv !== undefined;
  const cc = p.currency ?? (needsCc ? '978' : undefined);
  if (cc !== undefined) fields.push({ name: 'CC', value: encodeCurrency(cc) });
  const bmps: Bmp[] = [];
  if (p.serviceByte !== undefined) bmps.push(bmp(0x03, [p.serviceByte]));
  if (p.tlv) bmps.push(bmp(0x06, encodeTlv(p.tlv)));
  return msg(0x06, 0x00, bmps, fields);
}

export interface PaymentParams {
  amount: number;
  currency?: string;
}

/** Authorisation 06 01 (sale). */
export function authorisation(p: PaymentParams): ZvtMessage {
  return msg(0x06, 0x01, amountBmps(p.amount, p.currency));
}

/** Pre-Authorisation / Reservation 06 22. */
export function preAuthorisation(p: PaymentParams): ZvtMessage {
  return msg(0x06, 0x22, amountBmps(p.amount, p.currency));
}

export interface ByReceiptParams {
  receiptNo: string;
  amount?: number;
  currency?: string;
  trace?: string;
  /** Authorisation attribute (BMP 3B) of the pre-authorisation, when known. */
  authCode?: string;
}

/** Book Total 06 24 `87<receipt-no> [04<amount>] [49<CC>] [0B<trace>] [3B<AID>]` (capture). */
export function bookTotal(p: ByReceiptParams): ZvtMessage {
  const bmps = [receiptNoBmp(p.receiptNo), ...amountBmps(p.amount, p.currency)];
  if (p.trace) bmps.push(...traceBmps(p.trace).filter((b) => b.bmp === 0x0b));
  if (p.authCode) bmps.push(bmp(0x3b, authAttribute(p.authCode)));
  if (p.trace && p.trace.length > 6) bmps.push(...traceBmps(p.trace).filter((b) => b.bmp === 0x06));
  return msg(0x06, 0x24, bmps);
}

/** Pre-Authorisation Reversal 06 25 `87<receipt-no> [04<amount>] [49<CC>]` (release the hold). */
export function preAuthReversal(p: ByReceiptParams): ZvtMessage {
  return msg(0x06, 0x25, [receiptNoBmp(p.receiptNo), ...amountBmps(p.amount, p.currency)]);
}

/** Reversal 06 30 `<password> 87<receipt-no> [04<amount>] [49<CC>]` (void). */
export function reversal(p: ByReceiptParams & { password: string }): ZvtMessage {
  return msg(
    0x06,
    0x30,
    [receiptNoBmp(p.receiptNo), ...amountBmps(p.amount, p.currency)],
    [{ name: 'password', value: encodePassword(p.password) }],
  );
}

/** Refund 06 31 `<password> [04<amount>] [49<CC>]`. */
export function refund(p: PaymentParams & { password: string }): ZvtMessage {
  return msg(0x06, 0x31, amountBmps(p.amount, p.currency), [
    { name: 'password', value: encodePassword(p.password) },
  ]);
}

/** Repeat Receipt 06 20 `<password> [03<service-byte>]`. */
export function repeatReceipt(p: { password: string; serviceByte?: number }): ZvtMessage {
  const bmps = p.serviceByte !== undefined ? [bmp(0x03, [p.serviceByte])] : [];
  return msg(0x06, 0x20, bmps, [{ name: 'password', value: encodePassword(p.password) }]);
}

/** End-of-Day 06 50 `<password>`. */
export function endOfDay(p: { password: string }): ZvtMessage {
  return msg(0x06, 0x50, [], [{ name: 'password', value: encodePassword(p.password) }]);
}

/** Status-Enquiry 05 01 `[<password> [03<service-byte>]]`. */
export function statusEnquiry(p: { password?: string; serviceByte?: number } = {}): ZvtMessage {
  if (p.serviceByte !== undefined && p.password === undefined)
    throw new ZvtError('bad_value', 'a service byte needs the password before it', { command: '05 01' });
  const fields = p.password ? [{ name: 'password', value: encodePassword(p.password) }] : [];
  const bmps = p.serviceByte !== undefined ? [bmp(0x03, [p.serviceByte])] : [];
  return msg(0x05, 0x01, bmps, fields);
}

/** Diagnosis 06 70. */
export function diagnosis(): ZvtMessage {
  return msg(0x06, 0x70);
}

/** Abort 06 B0 (the ECR asks the PT to abort the running command). */
export function abortCommand(): ZvtMessage {
  return msg(0x06, 0xb0);
}

/** Log-Off 06 02. */
export function logOff(): ZvtMessage {
  return msg(0x06, 0x02);
}

/** Positive acknowledgement 80 00 00. */
export function ack(): ZvtMessage {
  return msg(0x80, 0x00);
}

/** Negative acknowledgement 84 <code> 00 (84 9C: repeat later; 84 9A: protocol error; 84 83: not possible). */
export function nack(code: number): ZvtMessage {
  return msg(0x84, code);
}

/** BMP 3B: up to 8 ASCII characters padded with 00 bytes. */
export function authAttribute(code: string): Buffer {
  const b = Buffer.alloc(8);
  Buffer.from(code.slice(0, 8), 'latin1').copy(b);
  return b;
}
