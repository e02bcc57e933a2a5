/** Messages the simulated terminal sends: intermediate status, Status-Information, Completion, Abort. */
import {
  authAttribute,
  bmp,
  encodeAmount,
  encodeBcd,
  encodeCurrency,
  encodeText,
  encodeTlv,
  tlv,
  type Bmp,
  type ZvtMessage,
} from '../../src/terminal/zvt/index.js';
import type { ZvtTxn } from './ledger.js';

export function intermediate(code: number): ZvtMessage {
  return {
    cls: 0x04,
    ins: 0xff,
    fields: [{ name: 'intermediate-status', value: Buffer.from([code]) }],
    bmps: [],
  };
}

export function completion(bmps: Bmp[] = []): ZvtMessage {
  return { cls: 0x06, ins: 0x0f, fields: [], bmps };
}

export function abortMessage(code: number): ZvtMessage {
  return { cls: 0x06, ins: 0x1e, fields: [{ name: 'result-code', value: Buffer.from([code]) }], bmps: [] };
}

/** 04 0F 27 <code> 29 <TID>: what a terminal sends before aborting (vector bo-status-info-abort-6c). */
export function failureStatus(code: number, terminalId: string): ZvtMessage {
  return {
    cls: 0x04,
    ins: 0x0f,
    fields: [],
    bmps: [bmp(0x27, [code]), bmp(0x29, encodeBcd(terminalId, 4))],
  };
}

/** The masked PAN as BMP 22 nibbles: `*` → E, odd length padded with F. */
export function panBmp(masked: string): Bmp {
  let nib = masked.replace(/\*/g, 'E');
  if (nib.length % 2) nib += 'F';
  return bmp(0x22, Buffer.from(nib, 'hex'));
}

export interface StatusFacts {
  txn: ZvtTxn;
  terminalId: string;
  /** Echo BMP 49 only when the ECR sent one (spec15 §1.4). */
  echoCurrency: boolean;
  cardName: string | null;
  cardType: number | null;
  originalTrace?: string;
}

export function statusInformation(f: StatusFacts): ZvtMessage {
  const t = f.txn;
  const d = new Date(t.at);
  const p = (n: number): string => String(n).padStart(2, '0');
  const bmps: Bmp[] = [bmp(0x27, [parseInt(t.resultCode, 16)]), bmp(0x04, encodeAmount(t.amount))];
  if (f.echoCurrency) bmps.push(bmp(0x49, encodeCurrency(t.currency)));
  bmps.push(bmp(0x0b, encodeBcd(t.trace, 3)));
  if (f.originalTrace) bmps.push(bmp(0x37, encodeBcd(f.originalTrace, 3)));
  bmps.push(bmp(0x0c, encodeBcd(`${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`, 3)));
  bmps.push(bmp(0x0d, encodeBcd(`${p(d.getMonth() + 1)}${p(d.getDate())}`, 2)));
  if (t.maskedPan) bmps.push(panBmp(t.maskedPan));
  if (t.receiptNo) bmps.push(bmp(0x87, encodeBcd(t.receiptNo, 2)));
  if (t.receiptNo) bmps.push(bmp(0x88, encodeBcd(t.turnoverNo, 3)));
  bmps.push(bmp(0x29, encodeBcd(f.terminalId, 4)));
  if (t.authCode) bmps.push(bmp(0x3b, authAttribute(t.authCode)));
  if (f.cardType !== null) bmps.push(bmp(0x8a, [f.cardType]));
  if (f.cardName) bmps.push(bmp(0x8b, Buffer.concat([encodeText(f.cardName), Buffer.from([0])])));
  if (t.maskedPan && t.status !== 'declined') {
    const cvm = t.signature ? 0x01 : 0x02;
    bmps.push(bmp(0x06, encodeTlv([tlv('2F', [tlv('1F10', Buffer.from([cvm]))])])));
  }
  return { cls: 0x04, ins: 0x0f, fields: [], bmps };
}

/** End-of-Day Status-Information: 27 00, 04 total, 0B trace, 0C time, 0D date. */
export function endOfDayStatus(total: number, trace: string, echoCurrency: string | null): ZvtMessage {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  const bmps: Bmp[] = [bmp(0x27, [0]), bmp(0x04, encodeAmount(Math.max(0, total)))];
  if (echoCurrency) bmps.push(bmp(0x49, encodeCurrency(echoCurrency)));
  bmps.push(
    bmp(0x0b, encodeBcd(trace, 3)),
    bmp(0x0c, encodeBcd(`${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`, 3)),
    bmp(0x0d, encodeBcd(`${p(d.getMonth() + 1)}${p(d.getDate())}`, 2)),
  );
  return { cls: 0x04, ins: 0x0f, fields: [], bmps };
}

/** Completion of Status-Enquiry: `[<SW version LLLVAR>] <terminal status> [06 <TLV>]`. */
export function statusEnquiryCompletion(o: {
  swVersion: string | null;
  terminalStatus: number;
  terminalId: string;
  model: string;
  withTlv: boolean;
}): ZvtMessage {
  const fields: ZvtMessage['fields'] = [];
  if (o.swVersion) fields.push({ name: 'sw-version', value: encodeText(o.swVersion), format: 'lllvar' });
  fields.push({ name: 'terminal-status', value: Buffer.from([o.terminalStatus]) });
  const bmps: Bmp[] = [];
  if (o.withTlv)
    bmps.push(
      bmp(
        0x06,
        encodeTlv([
          tlv('1F44', encodeBcd(o.terminalId, 4)),
          tlv('E4', [tlv('1F40', encodeText(o.model)), tlv('1F41', encodeText(o.swVersion ?? 'sim'))]),
        ]),
      ),
    );
  return { cls: 0x06, ins: 0x0f, fields, bmps };
}
