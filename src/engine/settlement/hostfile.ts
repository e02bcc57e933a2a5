/**
 * The host's settlement file (docs/host-simulator.md "Settlement file"): CSV with a header
 * `date,tid,batch,stan,rrn,amount,type,status`, one line per approved request, amounts in fen, date the
 * host's YYYY-MM-DD. Columns are found by their header names (in any order); `batch` may be missing or
 * empty (some national switches give none). Without a header the order above is assumed (7 columns:
 * the same without `batch`). A line that cannot be read is reported with its number, never skipped
 * silently.
 */
import { dateOfDay, dayNumber, hostClass } from './classify.js';
import type { HostRecord } from './types.js';

export interface HostFile {
  records: HostRecord[];
  errors: { line: number; error: string }[];
  /** True when at least one line carries a batch number. */
  hasBatchNumbers: boolean;
}

const TYPES = new Set([
  'sale',
  'preauth',
  'preauth_void',
  'completion',
  'completion_void',
  'void',
  'refund',
  'balance',
]);
const STATUSES = new Set([
  'approved',
  'partially_approved',
  'declined',
  'reversed',
  'voided',
  'refunded',
  'partially_refunded',
  'held',
  'completed',
  'released',
]);

const ALIASES: Record<string, string> = {
  date: 'date',
  host_date: 'date',
  settlement_date: 'date',
  tid: 'tid',
  terminal: 'tid',
  terminal_id: 'tid',
  batch: 'batch',
  batch_no: 'batch',
  stan: 'stan',
  trace: 'stan',
  rrn: 'rrn',
  amount: 'amount',
  type: 'type',
  status: 'status',
};

const REQUIRED = ['date', 'tid', 'stan', 'rrn', 'amount', 'type', 'status'] as const;

/** Splits one CSV line (RFC 4180 quotes, commas inside quotes). */
function splitLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function normDate(v: string): string | undefined {
  const s = v.trim();
  const d = /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}` : s;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) return undefined;
  const day = dayNumber(d);
  return !Number.isNaN(day) && dateOfDay(day) === d ? d : undefined;
}

export function parseHostFile(text: string): HostFile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const errors: HostFile['errors'] = [];
  const records: HostRecord[] = [];
  let col: Record<string, number> = {
    date: 0,
    tid: 1,
    batch: 2,
    stan: 3,
    rrn: 4,
    amount: 5,
    type: 6,
    status: 7,
  };
  let start = 0;
  const first = (lines[0] ?? '').trim().toLowerCase();
  if (/[a-z]/.test(first.split(',')[0] ?? '')) {
    col = {};
    splitLine(first).forEach((h, i) => {
      const name = ALIASES[h.trim().replace(/[\s-]+/g, '_')];
      if (name && col[name] === undefined) col[name] = i;
    });
    const missing = REQUIRED.filter((r) => col[r] === undefined);
    if (missing.length) {
      errors.push({ line: 1, error: `header lacks ${missing.join(', ')}` });
      return { records, errors, hasBatchNumbers: false };
    }
    start = 1;
  } else if (splitLine(first).length === 7) {
    col = { date: 0, tid: 1, stan: 2, rrn: 3, amount: 4, type: 5, status: 6 };
  }
  let hasBatchNumbers = false;
  for (let i = start; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const lineNo = i + 1;
    const f = splitLine(raw);
    const get = (name: string): string => {
      const idx = col[name];
      return idx === undefined ? '' : (f[idx] ?? '').trim();
    };
    const bad = (error: string): void => {
      errors.push({ line: lineNo, error });
    };
    const date = normDate(get('date'));
    if (!date) {
      bad('date is not YYYY-MM-DD');
      continue;
    }
    const tid = get('tid');
    if (!tid) {
      bad('tid is empty');
      continue;
    }
    const stan = get('stan');
    if (!/^\d{1,6}$/.test(stan)) {
      bad('stan is not 1-6 digits');
      continue;
    }
    const amountText = get('amount');
    if (!/^\d{1,12}$/.test(amountText)) {
      bad('amount is not an integer of minor units (fen)');
      continue;
    }
    const type = get('type').toLowerCase();
    if (!TYPES.has(type)) {
      bad('unknown type');
      continue;
    }
    const status = get('status').toLowerCase();
    if (!STATUSES.has(status)) {
      bad('unknown status');
      continue;
    }
    if (type === 'balance') continue;
    const batchText = get('batch');
    if (batchText && !/^\d{1,6}$/.test(batchText)) {
      bad('batch is not 1-6 digits');
      continue;
    }
    if (batchText) hasBatchNumbers = true;
    records.push({
      line: lineNo,
      date,
      terminalId: tid,
      batch: batchText ? batchText.padStart(6, '0') : null,
      stan: stan.padStart(6, '0'),
      rrn: get('rrn'),
      amount: Number(amountText),
      type,
      status,
      class: hostClass(type, status),
    });
  }
  return { records, errors, hasBatchNumbers };
}
