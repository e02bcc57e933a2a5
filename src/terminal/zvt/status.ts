/**
 * Reading what the terminal reports: Status-Information 04 0F → `TerminalResult`, Intermediate Status
 * 04 FF → `IntegratedProgress`, Abort 06 1E, negative acknowledgements 84 xx, the Status-Enquiry
 * completion. Card numbers leave here masked: E nibbles become `*`, and never more than the first six
 * and last four digits are shown even if a terminal sends the whole PAN.
 */
import { maskPan } from '../../card/index.js';
import type { IntegratedProgress, TerminalResult } from '../integrated.js';
import { decodeAmount, decodeCurrency, isBcd, nibbles } from './bcd.js';
import { findBmp } from './bitmaps.js';
import { decodeText, type ZvtCharset } from './charset.js';
import { field, type ZvtMessage } from './codec.js';
import { hex2 } from './errors.js';
import { decodeTlv, findTlv, type TlvNode } from './tlv.js';
import type { ZvtTables } from './tables.js';

function tlvNodes(m: ZvtMessage): TlvNode[] {
  const out: TlvNode[] = [];
  for (const b of m.bmps) {
    if (b.bmp !== 0x06) continue;
    try {
      out.push(...decodeTlv(b.value));
    } catch {
      // an unreadable container carries nothing we need
    }
  }
  return out;
}

function bcdOf(m: ZvtMessage, code: number): string | undefined {
  const b = findBmp(m.bmps, code);
  return b && isBcd(b.value) ? nibbles(b.value) : undefined;
}

/** A card number as the terminal sent it (BCD nibbles, E = masked, F = pad), safely masked. */
export function maskedPanOf(raw: Uint8Array): string | undefined {
  let s = nibbles(raw).replace(/F+$/, '');
  const sep = s.indexOf('D');
  if (sep >= 0) s = s.slice(0, sep);
  if (!s) return undefined;
  s = s.replace(/[^0-9]/g, '*');
  // Never more than first six / last four: hide what maskPan would hide, whatever the terminal sent.
  const pattern = maskPan('0'.repeat(s.length));
  return [...s].map((c, i) => (pattern[i] === '*' ? '*' : c)).join('');
}

function ascii(b: Uint8Array | undefined, charset: ZvtCharset): string | undefined {
  if (!b) return undefined;
  const s = decodeText(b, charset).trim();
  return s || undefined;
}

/** Status-Information 04 0F → what posbridge journals. */
export function statusToResult(m: ZvtMessage, charset: ZvtCharset = 'cp437'): TerminalResult {
  const r: TerminalResult = {};
  const rc = findBmp(m.bmps, 0x27);
  if (rc && rc.value.length === 1) r.resultCode = hex2(rc.value[0]!);
  const amount = findBmp(m.bmps, 0x04);
  if (amount && isBcd(amount.value)) r.amount = decodeAmount(amount.value);
  const cc = findBmp(m.bmps, 0x49);
  if (cc && isBcd(cc.value)) r.currency = decodeCurrency(cc.value);
  const receiptNo = bcdOf(m, 0x87);
  if (receiptNo && receiptNo !== 'FFFF') r.receiptNo = receiptNo;
  const nodes = tlvNodes(m);
  let trace = bcdOf(m, 0x0b);
  const longTrace = findTlv(nodes, '1F2B');
  if ((!trace || /^0+$/.test(trace)) && longTrace && isBcd(longTrace.value))
    trace = nibbles(longTrace.value).replace(/^0+(?=\d)/, '');
  if (trace) r.trace = trace;
  const turnover = bcdOf(m, 0x88);
  if (turnover) r.turnoverNo = turnover;
  const tid = bcdOf(m, 0x29);
  if (tid) r.terminalId = tid;
  const auth = ascii(findBmp(m.bmps, 0x3b)?.value, charset);
  if (auth) r.authCode = auth;
  const pan = findBmp(m.bmps, 0x22);
  const masked = pan ? maskedPanOf(pan.value) : undefined;
  if (masked) r.maskedPan = masked;
  const name = ascii(findBmp(m.bmps, 0x8b)?.value, charset);
  if (name) r.cardName = name;
  const aid = findTlv(nodes, '43');
  if (aid && aid.value.length) r.aid = nibbles(aid.value);
  const date = bcdOf(m, 0x0d);
  if (date) r.date = date;
  const time = bcdOf(m, 0x0c);
  if (time) r.time = time;
  const cvm = findTlv(nodes, '1F10');
  if (cvm && cvm.value.length === 1 && [0x01, 0x05, 0x06, 0x07].includes(cvm.value[0]!))
    r.signatureRequired = true;
  return r;
}

/** Result code of a Status-Information (27), default "00" when a terminal leaves it out. */
export function statusResultCode(m: ZvtMessage): string {
  const rc = findBmp(m.bmps, 0x27);
  return rc && rc.value.length === 1 ? hex2(rc.value[0]!) : '00';
}

export interface AbortInfo {
  resultCode: string;
  /** Vendor error code (TLV 1F16), hex. Vendor text (1F17) is not kept: it is free text. */
  vendorCode?: string;
}

/** Abort 06 1E `<result-code> [...]`; an empty Abort (`06 1E 00`) has no code: reported as FF. */
export function abortOf(m: ZvtMessage): AbortInfo {
  const rc = field(m, 'result-code');
  const info: AbortInfo = { resultCode: rc && rc.length === 1 ? hex2(rc[0]!) : 'FF' };
  const vendor = findTlv(tlvNodes(m), '1F16');
  if (vendor) info.vendorCode = nibbles(vendor.value);
  return info;
}

/** A safe message for a result code: the table's meaning, never terminal free text. */
export function resultMessage(tables: ZvtTables, code: string): string {
  return tables.resultMeaning(code) ?? `result code ${code}`;
}

export interface IntermediateInfo {
  code: string;
  progress: IntegratedProgress;
  text?: string;
  /** New T4 in minutes, when the terminal sent it. */
  timeoutMinutes?: number;
}

/** Intermediate Status 04 FF → posbridge's progress names (a posbridge choice, not a protocol fact). */
export function progressOf(code: number): IntegratedProgress {
  if (code === 0x0a || code === 0x2a) return 'present_card';
  if (code === 0x68) return 'card_detected';
  if ([0x01, 0x02, 0x6a, 0x6b, 0x6c, 0x6d].includes(code)) return 'pin_entry_started';
  if (code === 0x0b || (code >= 0x41 && code <= 0x67) || code === 0x5e || code === 0xa1 || code === 0xa3)
    return 'remove_card';
  if (
    [
      0x04, 0x05, 0x06, 0x0e, 0x0f, 0x17, 0x1b, 0x1c, 0x2b, 0xa0, 0xa2, 0xc9, 0xca, 0xd2, 0xd3, 0xf1, 0xf2,
      0xf3,
    ].includes(code)
  )
    return 'processing';
  return 'waiting';
}

export function intermediateOf(
  m: ZvtMessage,
  tables: ZvtTables,
  charset: ZvtCharset = 'cp437',
): IntermediateInfo {
  const status = field(m, 'intermediate-status');
  const code = status && status.length === 1 ? status[0]! : 0xff;
  const info: IntermediateInfo = { code: hex2(code), progress: progressOf(code) };
  const timeout = field(m, 'timeout');
  if (timeout && timeout.length === 1 && isBcd(timeout)) {
    const minutes = Number(nibbles(timeout));
    if (minutes > 0) info.timeoutMinutes = minutes;
  }
  const lines = findTlv(tlvNodes(m), '24')?.children?.filter((n) => n.tag === '07') ?? [];
  const text = lines
    .map((l) => decodeText(l.value, charset).trim())
    .filter(Boolean)
    .join(' ');
  const fallback = tables.intermediateText(info.code);
  if (text) info.text = text;
  else if (fallback) info.text = fallback;
  return info;
}

export interface StatusEnquiryInfo {
  /** Terminal status code (00 = ready) and its meaning from the table. */
  terminalStatus: string;
  meaning?: string;
  swVersion?: string;
  terminalId?: string;
  model?: string;
  firmware?: string;
}

/** The Completion that ends Status-Enquiry 05 01 (decoded with `after: '05 01'`). */
export function statusEnquiryOf(m: ZvtMessage, tables: ZvtTables): StatusEnquiryInfo {
  const st = field(m, 'terminal-status');
  const code = st && st.length === 1 ? hex2(st[0]!) : 'FF';
  const info: StatusEnquiryInfo = { terminalStatus: code };
  const meaning = tables.terminalStatusMeaning(code);
  if (meaning) info.meaning = meaning;
  const sw = ascii(field(m, 'sw-version'), 'cp437');
  if (sw) info.swVersion = sw;
  const nodes = tlvNodes(m);
  const tid = findTlv(nodes, '1F44');
  if (tid && isBcd(tid.value)) info.terminalId = nibbles(tid.value);
  const model = ascii(findTlv(nodes, '1F40')?.value, 'cp437');
  if (model) info.model = model;
  const fw = ascii(findTlv(nodes, '1F41')?.value, 'cp437');
  if (fw) info.firmware = fw;
  return info;
}
