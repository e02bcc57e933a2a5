/**
 * Receipts as pure functions of a journaled operation and the terminal's configuration: `buildReceipt`
 * gives the facts a UnionPay POS slip carries (the JSON the CRM gets), `renderText` lays them out for a
 * 32- or 48-column printer, `renderHtml` as an escaped fragment for a page. Card data: the masked PAN
 * (first 6 / last 4 at most) or, for a device token, the device account's and funding card's last four;
 * chip data: the AID and the TC, never a sensitive tag.
 */
import { findTlv, tryParseTlv, type Tlv } from '../../emv/index.js';
import type { OperationKind, OperationRow } from '../../journal/index.js';
import { currencyCode, formatMinor } from './money.js';
import { alignRight, center, spread, wrap } from './text.js';

export type ReceiptCopy = 'merchant' | 'customer';
export type ReceiptFormat = 'text' | 'html' | 'json';
export type ReceiptWidth = 32 | 48;

export interface ReceiptSignature {
  format: 'svg' | 'png';
  image: Buffer;
  sha256: string;
}

export interface ReceiptInput {
  op: OperationRow;
  /** The payment a void, refund or capture refers to. */
  original?: OperationRow | null;
  config: { merchantId: string; merchantName?: string | undefined; timeZone?: string | undefined };
  copy: ReceiptCopy;
  /** This copy has been printed before. */
  reprint: boolean;
  /** When the request went to the host (ISO 8601); default the operation's creation. */
  at?: string | null;
  /** The cardholder's signature, when one is on file (shown on the merchant copy only). */
  signature?: ReceiptSignature | null;
}

/** What a receipt says, for the CRM (`receipt.get` with `format: "json"`). */
export interface Receipt {
  copy: ReceiptCopy;
  reprint: boolean;
  merchant: { name: string | null; id: string };
  terminalId: string;
  operatorId: string;
  transaction: { kind: OperationKind; name: string };
  card: {
    scheme: string;
    /** Masked PAN of a physical card; null for a device token (its account number is not a card number). */
    panDisplay: string | null;
    /** chip, contactless, magstripe, fallback, keyed. */
    entry: string;
    /** ISO 8583 field 22. */
    entryMode: string;
    deviceToken: boolean;
    deviceAccountLast4: string | null;
    fundingLast4: string | null;
  } | null;
  batch: string | null;
  stan: string | null;
  rrn: string | null;
  authCode: string | null;
  /** Local date and time of the transaction (`timeZone`). */
  date: string;
  time: string;
  timeZone: string;
  amount: { minor: number; currency: string; text: string };
  /** The original of a void, refund or capture. */
  original: { batch: string | null; stan: string | null; rrn: string | null; date: string | null } | null;
  /** Chip transactions: the application and the final cryptogram, where known. */
  chip: { aid: string | null; tc: string | null } | null;
  /** Merchant copy: whether a signature is on file (HTML embeds it). Customer copy: null. */
  signature: { onFile: boolean; format: 'svg' | 'png' | null; sha256: string | null } | null;
  /**
   * An integrated terminal's (ZVT) own slip for this copy, as the terminal printed it (masked by the
   * terminal). When present the receipt is that slip under posbridge's header; else null.
   */
  terminalLines: string[] | null;
}

/** Transaction names as UnionPay slips print them. */
export const TRANSACTION_NAMES: Readonly<Record<OperationKind, string>> = {
  sale: '消费 SALE',
  balance: '余额查询 BALANCE',
  preauth: '预授权 PRE-AUTH',
  preauth_void: '预授权撤销 PRE-AUTH VOID',
  capture: '预授权完成 AUTH COMPLETE',
  void: '消费撤销 VOID',
  refund: '退货 REFUND',
};

const ENTRY_NAMES: Readonly<Record<string, string>> = {
  chip: '插卡 CHIP (I)',
  contactless: '挥卡 CONTACTLESS (C)',
  magstripe: '刷卡 SWIPE (S)',
  fallback: '降级 FALLBACK (F)',
  keyed: '手输 KEYED (M)',
};

const L = {
  title: 'POS签购单 POS SALES SLIP',
  merchantCopy: '商户存根 MERCHANT COPY',
  customerCopy: '持卡人存根 CARDHOLDER COPY',
  reprint: '重打印 REPRINT',
  merchantName: '商户名称 MERCHANT NAME',
  merchantNo: '商户编号 MERCHANT NO.',
  terminalNo: '终端编号 TERMINAL NO.',
  operator: '操作员 OPERATOR',
  scheme: '卡组织 SCHEME',
  cardNo: '卡号 CARD NO.',
  deviceAccount: '设备账号 DEVICE ACCOUNT',
  fundingCard: '资金卡号 FUNDING CARD',
  entry: '输入方式 ENTRY',
  type: '交易类型 TRANS TYPE',
  batch: '批次号 BATCH NO.',
  voucher: '凭证号 VOUCHER NO.',
  ref: '参考号 REF NO.',
  auth: '授权码 AUTH NO.',
  dateTime: '日期时间 DATE/TIME',
  origVoucher: '原凭证号 ORIG VOUCHER',
  origRef: '原参考号 ORIG REF NO.',
  amount: '金额 AMOUNT',
  signature: '持卡人签名 CARDHOLDER SIGNATURE',
  onFile: ['电子签名已存档', 'SIGNATURE ON FILE'],
  acknowledge: [
    '本人确认以上交易,同意将其记入本卡账户',
    'I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES',
  ],
} as const;

/** Last four digits shown as the device account / funding card. */
const lastFour = (d: string): string => `**** ${d}`;

/** Local date (YYYY-MM-DD) and time (HH:mm:ss) of an instant in `timeZone` (default the system's). */
export function localDateTime(
  at: string | Date,
  timeZone: string | undefined,
): { date: string; time: string; zone: string } {
  const fmt = new Intl.DateTimeFormat('en-GB', {
    ...(timeZone ? { timeZone } : {}),
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  const parts = Object.fromEntries(fmt.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  return {
    date: `${parts['year']}-${parts['month']}-${parts['day']}`,
    time: `${parts['hour']}:${parts['minute']}:${parts['second']}`,
    zone: fmt.resolvedOptions().timeZone,
  };
}

const hexOf = (t: Tlv | undefined): string | null => (t ? t.value.toString('hex').toUpperCase() : null);

/** AID (4F, else 84) and TC (9F26 of the final cryptogram when 9F27 says TC) from the stored field 55. */
function chipFacts(op: OperationRow): Receipt['chip'] {
  if (!op.iccRequest && !op.iccFinal) return null;
  const parse = (b: Buffer | null): Tlv[] => {
    if (!b) return [];
    const r = tryParseTlv(b);
    return r.ok ? r.elements : [];
  };
  const req = parse(op.iccRequest);
  const fin = parse(op.iccFinal);
  const aid = hexOf(findTlv(fin, '4F') ?? findTlv(req, '4F') ?? findTlv(fin, '84') ?? findTlv(req, '84'));
  const cid = findTlv(fin, '9F27')?.value[0];
  const tc = cid === undefined || (cid & 0xc0) === 0x40 ? hexOf(findTlv(fin, '9F26')) : null;
  return { aid, tc };
}

/** The receipt's facts (pure: the same input gives the same receipt). */
export function buildReceipt(input: ReceiptInput): Receipt {
  const { op, original, config, copy } = input;
  const when = localDateTime(input.at ?? op.createdAt, config.timeZone);
  const c = op.card;
  const token = c?.kind === 'device_token';
  const physicalEntry = token ? 'contactless' : (c?.kind ?? '');
  return {
    copy,
    reprint: input.reprint,
    merchant: { name: config.merchantName?.trim() || null, id: config.merchantId },
    terminalId: op.terminalId,
    operatorId: op.operatorId,
    transaction: { kind: op.kind, name: TRANSACTION_NAMES[op.kind] },
    card: c
      ? {
          scheme: c.scheme,
          panDisplay: token ? null : c.panDisplay,
          entry: physicalEntry,
          entryMode: c.entryMode,
          deviceToken: token,
          deviceAccountLast4: token ? (c.deviceAccountLast4 ?? null) : null,
          fundingLast4: token ? (c.fundingLast4 ?? null) : null,
        }
      : null,
    batch: op.batch,
    stan: op.stan,
    rrn: op.rrn,
    authCode: op.authCode,
    date: when.date,
    time: when.time,
    timeZone: when.zone,
    amount: {
      minor: op.approvedAmount ?? op.amount,
      currency: currencyCode(op.currency),
      text: formatMinor(op.approvedAmount ?? op.amount, op.currency),
    },
    original: original
      ? { batch: original.batch, stan: original.stan, rrn: original.rrn, date: original.localDate }
      : null,
    chip: chipFacts(op),
    terminalLines: terminalLinesOf(op, copy),
    signature:
      copy === 'merchant'
        ? {
            onFile: !!input.signature,
            format: input.signature?.format ?? null,
            sha256: input.signature?.sha256 ?? null,
          }
        : null,
  };
}

/** The lines an integrated terminal printed for `copy` (journaled in the operation's result). */
function terminalLinesOf(op: ReceiptInput['op'], copy: ReceiptCopy): string[] | null {
  const t = (op.result as { terminal?: { receipt?: Record<string, unknown>; receiptNo?: string } } | null)
    ?.terminal;
  const lines = t?.receipt?.[copy];
  return Array.isArray(lines) && lines.length && lines.every((l) => typeof l === 'string')
    ? (lines as string[])
    : null;
}

// ------------------------------------------------------------------ layout shared by text and HTML

interface Row {
  label: string;
  value: string;
  /** Print the value on its own line(s), aligned so, even when it would fit beside the label. */
  block?: 'left' | 'right';
}

/** The receipt as labelled rows, in groups separated by rules. */
function groups(r: Receipt): Row[][] {
  const head: Row[] = [];
  if (r.merchant.name) head.push({ label: L.merchantName, value: r.merchant.name, block: 'left' });
  head.push(
    { label: L.merchantNo, value: r.merchant.id },
    { label: L.terminalNo, value: r.terminalId },
    { label: L.operator, value: r.operatorId },
  );
  const card: Row[] = [];
  if (r.card) {
    card.push({ label: L.scheme, value: r.card.scheme.toUpperCase() });
    if (r.card.deviceToken) {
      if (r.card.deviceAccountLast4)
        card.push({ label: L.deviceAccount, value: lastFour(r.card.deviceAccountLast4) });
      if (r.card.fundingLast4) card.push({ label: L.fundingCard, value: lastFour(r.card.fundingLast4) });
    } else if (r.card.panDisplay) card.push({ label: L.cardNo, value: r.card.panDisplay });
    card.push({ label: L.entry, value: ENTRY_NAMES[r.card.entry] ?? r.card.entry.toUpperCase() });
  }
  const txn: Row[] = [{ label: L.type, value: r.transaction.name }];
  const opt = (label: string, value: string | null): void => {
    if (value) txn.push({ label, value });
  };
  opt(L.batch, r.batch);
  opt(L.voucher, r.stan);
  opt(L.ref, r.rrn);
  opt(L.auth, r.authCode);
  txn.push({ label: L.dateTime, value: `${r.date} ${r.time}` });
  if (r.original) {
    opt(L.origVoucher, r.original.stan);
    opt(L.origRef, r.original.rrn);
  }
  const amount: Row[] = [{ label: L.amount, value: `${r.amount.currency} ${r.amount.text}`, block: 'right' }];
  const chip: Row[] = [];
  if (r.chip?.aid) chip.push({ label: 'AID', value: r.chip.aid });
  if (r.chip?.tc) chip.push({ label: 'TC', value: r.chip.tc });
  return [head, card, txn, amount, chip].filter((g) => g.length > 0);
}

function rowLines(row: Row, width: number): string[] {
  if (!row.block) return spread(row.label, row.value, width);
  const value = wrap(row.value, width);
  return [
    ...wrap(row.label, width),
    ...(row.block === 'right' ? value.map((l) => alignRight(l, width)) : value),
  ];
}

/**
 * The receipt as printer lines, none wider than `width` columns (a CJK character counts two). Rules and
 * label/value lines are exactly `width` wide.
 */
export function renderText(r: Receipt, width: ReceiptWidth): string[] {
  const out: string[] = [];
  out.push(...center(L.title, width));
  out.push(...center(r.copy === 'merchant' ? L.merchantCopy : L.customerCopy, width));
  if (r.reprint) out.push(...center(`*** ${L.reprint} ***`, width));
  out.push('='.repeat(width));
  if (r.terminalLines) {
    // The terminal's slip as it printed it: its lines, wrapped to this printer's width.
    for (const line of r.terminalLines) out.push(...(line.trim() ? wrap(line.trimEnd(), width) : ['']));
    out.push('='.repeat(width));
    return out;
  }
  groups(r).forEach((g, i) => {
    if (i > 0) out.push('-'.repeat(width));
    for (const row of g) out.push(...rowLines(row, width));
  });
  out.push('='.repeat(width));
  if (r.signature) {
    out.push(...wrap(L.signature, width));
    if (r.signature.onFile) for (const t of L.onFile) out.push(...wrap(t, width));
    else out.push('', `X${'_'.repeat(width - 1)}`);
    out.push('');
    for (const t of L.acknowledge) out.push(...wrap(t, width));
  }
  return out;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

const MIME = { svg: 'image/svg+xml', png: 'image/png' } as const;

/**
 * The receipt as an HTML fragment (a `<section class="posbridge-receipt">`) for the page to insert:
 * every value escaped; the merchant copy embeds the signature as an `<img>` data URI (an SVG loaded as an
 * image runs no script).
 */
export function renderHtml(r: Receipt, signature?: ReceiptSignature | null): string {
  const e = escapeHtml;
  const out: string[] = [];
  out.push(
    `<section class="posbridge-receipt" data-copy="${e(r.copy)}"${r.reprint ? ' data-reprint="true"' : ''}>`,
  );
  out.push(`<h1>${e(L.title)}</h1>`);
  out.push(`<p class="copy">${e(r.copy === 'merchant' ? L.merchantCopy : L.customerCopy)}</p>`);
  if (r.reprint) out.push(`<p class="reprint">${e(L.reprint)}</p>`);
  if (r.terminalLines) {
    out.push(`<pre class="terminal-receipt">${e(r.terminalLines.join('\n'))}</pre>`, '</section>');
    return out.join('\n');
  }
  for (const g of groups(r)) {
    out.push('<dl>');
    for (const row of g) out.push(`<dt>${e(row.label)}</dt><dd>${e(row.value)}</dd>`);
    out.push('</dl>');
  }
  if (r.signature) {
    out.push('<div class="signature">', `<p>${e(L.signature)}</p>`);
    if (signature && r.signature.onFile)
      out.push(
        `<img alt="cardholder signature" src="data:${MIME[signature.format]};base64,${signature.image.toString('base64')}">`,
      );
    else out.push('<p class="signature-line">&nbsp;</p>');
    out.push('</div>', `<p class="acknowledge">${e(L.acknowledge.join(' '))}</p>`);
  }
  out.push('</section>');
  return out.join('\n');
}
