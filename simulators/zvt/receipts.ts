/**
 * The simulated terminal's receipts: merchant and customer copies as text lines (masked PAN, at most
 * first six and last four digits), sent to the ECR as Print Line 06 D1 commands or, when the ECR listed
 * 06 D3 at registration, as Print Text-Blocks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeText, encodeTlv, tlv, zvtDataDir, type ZvtMessage } from '../../src/terminal/zvt/index.js';
import type { ZvtTxn } from './ledger.js';

let alphaByNumeric: Map<string, string> | undefined;

export function currencyAlpha(numeric: string): string {
  if (!alphaByNumeric) {
    alphaByNumeric = new Map();
    try {
      const raw = JSON.parse(readFileSync(join(zvtDataDir(), 'currencies.json'), 'utf8')) as {
        currencies?: { alpha: string; numeric: number }[];
      };
      for (const c of raw.currencies ?? []) alphaByNumeric.set(String(c.numeric), c.alpha);
    } catch {
      // numeric codes on the receipt then
    }
  }
  return alphaByNumeric.get(numeric.replace(/^0+/, '')) ?? numeric;
}

const TITLES: Record<ZvtTxn['type'], string> = {
  sale: 'Kartenzahlung',
  preauth: 'Reservierung',
  capture: 'Buchung',
  preauth_void: 'Reservierungsstorno',
  void: 'Storno',
  refund: 'Gutschrift',
  end_of_day: 'Kassenschnitt',
};

function money(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const v = Math.abs(minor);
  return `${sign}${Math.floor(v / 100)},${String(v % 100).padStart(2, '0')}`;
}

function row(left: string, right: string, width = 24): string {
  return `${left}${' '.repeat(Math.max(1, width - left.length - right.length))}${right}`;
}

export interface ReceiptCopy {
  copy: 'merchant' | 'customer' | 'admin';
  lines: string[];
}

export function receiptCopies(t: ZvtTxn, terminalId: string, cardName: string | null): ReceiptCopy[] {
  const d = new Date(t.at);
  const p = (n: number): string => String(n).padStart(2, '0');
  const when = `${p(d.getDate())}.${p(d.getMonth() + 1)}.${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}`;
  const body = (copy: ReceiptCopy['copy']): string[] => {
    const lines = [
      copy === 'merchant'
        ? '** HAENDLERBELEG **'
        : copy === 'customer'
          ? '** KUNDENBELEG **'
          : '** KASSENSCHNITT **',
      'posbridge ZVT simulator',
      row('Terminal-ID', terminalId),
      when,
      TITLES[t.type],
    ];
    if (t.type === 'end_of_day') {
      lines.push(
        row('Anzahl', String(t.count ?? 0)),
        row(`Gesamt ${currencyAlpha(t.currency)}`, money(t.amount)),
      );
      return lines;
    }
    if (cardName) lines.push(cardName);
    if (t.maskedPan) lines.push(`Karte ${t.maskedPan}`);
    lines.push(row(`Betrag ${currencyAlpha(t.currency)}`, money(t.amount)));
    lines.push(row(`Trace ${t.trace}`, t.receiptNo ? `Beleg ${t.receiptNo}` : ''));
    if (t.authCode) lines.push(row('Genehmigungs-Nr.', t.authCode));
    lines.push(t.status === 'declined' ? `Abgelehnt (${t.resultCode})` : 'Zahlung erfolgt');
    if (copy === 'merchant' && t.signature && t.status !== 'declined')
      lines.push('', 'Unterschrift:', '________________________');
    return lines;
  };
  if (t.type === 'end_of_day') return [{ copy: 'admin', lines: body('admin') }];
  return [
    { copy: 'merchant', lines: body('merchant') },
    { copy: 'customer', lines: body('customer') },
  ];
}

const RECEIPT_TYPE = { merchant: 1, customer: 2, admin: 3 } as const;

/** One receipt as Print Line commands: each line attribute 00, then an empty last line (81). */
export function printLineMessages(copy: ReceiptCopy): ZvtMessage[] {
  const out: ZvtMessage[] = copy.lines.map((line, i) => ({
    cls: 0x06,
    ins: 0xd1,
    fields: [{ name: 'attribute', value: Buffer.from([i === 0 ? 0x40 : 0x00]) }],
    ...(line ? { text: encodeText(line) } : {}),
    bmps: [],
  }));
  out.push({ cls: 0x06, ins: 0xd1, fields: [{ name: 'attribute', value: Buffer.from([0x81]) }], bmps: [] });
  return out;
}

/** One receipt as a Print Text-Block 06 D3: TLV 1F07 receipt type, 25 { 07 lines ..., 09 81 }. */
export function textBlockMessage(copy: ReceiptCopy): ZvtMessage {
  const items = [...copy.lines.map((l) => tlv('07', encodeText(l))), tlv('09', Buffer.from([0x81]))];
  const container = [tlv('1F07', Buffer.from([RECEIPT_TYPE[copy.copy]])), tlv('25', items)];
  return {
    cls: 0x06,
    ins: 0xd3,
    fields: [],
    bmps: [{ bmp: 0x06, value: encodeTlv(container) }],
  };
}
