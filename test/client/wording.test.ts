// Cashier wording (@posbridge/client's wording.ts): every state, reader prompt, reason and error code the
// code base can emit has Chinese and English words, with the code kept for support. The lists are
// derived from the code itself (type lists, ERROR_CODES, the reason literals of the engine's flows), so a
// new code without wording fails here.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODE_LIST,
  PAYMENT_STATES,
  READER_PROGRESS,
  describeError,
  describeProgress,
  describeReason,
  describeResponseCode,
  describeState,
  describeTerminalResult,
  describeWaiting,
  pickLang,
  reasonWording,
  stateLabel,
  type CashierText,
  type Lang,
} from '@posbridge/client';
import { ERROR_CODES } from '../../src/api/schemas.js';
import { QR_REJECT_CODES } from '../../src/qr/provider.js';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const LANGS: Lang[] = ['en', 'zh'];
const HAN = /[\u4e00-\u9fff]/;
const SNAKE = /[a-z0-9]_[a-z0-9]/i;

/** Words for people: no snake_case, Chinese in zh, none in en. */
function expectWords(text: string | undefined, lang: Lang): void {
  expect(text, 'words').toBeTruthy();
  expect(text).not.toMatch(SNAKE);
  if (lang === 'zh') expect(text).toMatch(HAN);
  else expect(text).not.toMatch(HAN);
}

function expectCashierText(t: CashierText, lang: Lang, code: string): void {
  expectWords(t.title, lang);
  if (t.detail !== undefined) expectWords(t.detail, lang);
  expect(t.code).toContain(code);
  expect(['progress', 'success', 'warning', 'error', 'neutral']).toContain(t.tone);
}

// ------------------------------------------------------------------ codes from the code base

/** `reason` literals of the engine's flows (exact ones and the `prefix_${...}` families). */
function engineReasons(): { exact: string[]; families: string[] } {
  const files = ['engine.ts', 'saf.ts', 'qr-flow.ts', 'integrated-flow.ts'].map((f) =>
    read(`src/engine/${f}`),
  );
  const exact = new Set<string>();
  const families = new Set<string>();
  for (const src of files) {
    for (const m of src.matchAll(/'([a-z][a-z0-9]*(?:_[a-z0-9]+)+)'/g)) exact.add(m[1]!);
    for (const m of src.matchAll(/`([a-z][a-z0-9_]*_)\$\{/g)) families.add(m[1]!);
  }
  // Snake_case literals of those files that are not reasons: states, kinds, statuses, audit names,
  // API error codes (worded by describeError), return values of start-up recovery.
  const notReasons = new Set<string>([
    ...PAYMENT_STATES,
    ...Object.keys(ERROR_CODES),
    'preauth_void',
    'not_sent',
    'mac_error',
    'not_found',
    'not_supported',
    'too_late',
    'unknown_trade',
    'waiting_card',
    'script_advice',
    'tc_upload',
    'esign_upload',
    'supervisor_approval',
    'refund_exceeds_captured',
    'already_final',
    'asked_terminal',
    'card_removed',
    'declined_offline',
    'trade_not_exist',
    'trade_paid',
    'trade_closed',
    'reverse_expired',
    'partial_accepted',
    'reversal_queued',
    'balance_failed',
    'cancelled_before_host',
    'cancelled_before_terminal',
    'cancelled_before_provider',
    'completed_from_reader_status',
    'integrated_terminal_not_configured',
    'qr_resumed',
    'qr_refund_resumed',
    'void_resumed',
  ]);
  return {
    exact: [...exact].filter((r) => !notReasons.has(r)).sort(),
    families: [...families].filter((f) => f !== 'submit_').sort(),
  };
}

/** A string-literal union's members: `type Name = | 'a' | 'b';` in a source file. */
function unionMembers(path: string, name: string): string[] {
  const m = new RegExp(`type ${name} =([^;]+);`).exec(read(path));
  if (!m) throw new Error(`${name} not found in ${path}`);
  return [...m[1]!.matchAll(/'([a-z_]+)'/g)].map((x) => x[1]!);
}

/** The client's own PosbridgeError codes (errors.ts, flows.ts, index.ts). */
function clientErrorCodes(): string[] {
  const dir = join(ROOT, 'packages/client/src');
  const codes = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const src = readFileSync(join(dir, f), 'utf8');
    for (const m of src.matchAll(/(?:super|new PosbridgeError)\(\s*'([a-z_]+)'/g)) codes.add(m[1]!);
  }
  return [...codes].sort();
}

/** Field 39 values the ISO 8583 dialect names. */
function dialectResponseCodes(): string[] {
  const spec = JSON.parse(read('protocols/iso8583/cup-pos.json')) as {
    fields: Record<string, { values?: Record<string, string> }>;
  };
  return Object.keys(spec.fields['39']?.values ?? {});
}

const HOST_CODES = [
  '00',
  '01',
  '03',
  '05',
  '12',
  '13',
  '14',
  '30',
  '41',
  '43',
  '51',
  '54',
  '55',
  '57',
  '58',
  '61',
  '62',
  '65',
  '75',
  '91',
  '94',
  '96',
  'A0',
];

// ------------------------------------------------------------------ tests

describe('cashier wording', () => {
  it('picks zh for any Chinese language tag, en otherwise', () => {
    for (const t of ['zh', 'zh-CN', 'zh-Hans', 'zh-TW', 'ZH-cn']) expect(pickLang(t)).toBe('zh');
    for (const t of ['en', 'en-US', 'de-DE', '', null, undefined, 'zhx']) expect(pickLang(t)).toBe('en');
  });

  it('words every payment state in both languages, the state kept in the code', () => {
    expect(PAYMENT_STATES.length).toBeGreaterThan(10);
    for (const s of PAYMENT_STATES)
      for (const lang of LANGS)
        for (const via of [undefined, 'zvt', 'alipay', 'wechat'] as const)
          expectCashierText(describeState(s, lang, null, null, via ? { via } : {}), lang, s);
    for (const s of PAYMENT_STATES) for (const lang of LANGS) expectWords(stateLabel(s, lang), lang);
  });

  it('gives unknown, reversing, reversed and needs_attention a warning or error tone and says what happens next', () => {
    for (const s of ['unknown', 'reversing', 'reversed', 'needs_attention'] as const)
      for (const lang of LANGS) {
        const t = describeState(s, lang);
        expect(['warning', 'error']).toContain(t.tone);
        expect(t.detail).toBeTruthy();
      }
    expect(describeState('unknown', 'en').title).toBe('Checking with the bank — do not charge again');
    expect(describeState('unknown', 'zh').title).toBe('正在向银行确认结果，请勿重复收款');
    expect(describeState('completed', 'en').tone).toBe('success');
    expect(describeState('declined', 'en').tone).toBe('error');
  });

  it('words a decline with its response code and keeps the code once', () => {
    const en = describeState('declined', 'en', 'declined_51', '51');
    expect(en.title).toBe('Declined: insufficient funds');
    expect(en.code).toBe('declined · 51');
    expect(en.detail).toContain('Nothing was charged');
    const zh = describeState('declined', 'zh', 'declined_51', '51');
    expect(zh.title).toBe('交易被拒绝：余额不足');
    expect(zh.code).toBe('declined · 51');
    // The reason alone (no response code on the payment) says the same.
    expect(describeState('declined', 'en', 'declined_55').title).toBe('Declined: incorrect PIN');
  });

  it('reads an integrated terminal’s result codes as ZVT, not ISO 8583', () => {
    // 0x33 is the host's 51 in binary; 6C is the terminal's own abort.
    expect(describeState('declined', 'en', 'declined_33', '33', { via: 'zvt' }).title).toBe(
      'Declined: insufficient funds',
    );
    expect(describeTerminalResult('6C', 'en')).toBe('cancelled on the terminal or timed out');
    expect(describeTerminalResult('6C', 'zh')).toMatch(HAN);
    expect(describeTerminalResult('EE', 'en')).toContain('EE');
  });

  it('words every host response code (the required list and the dialect’s field 39 table)', () => {
    for (const c of new Set([...HOST_CODES, ...dialectResponseCodes()]))
      for (const lang of LANGS) {
        const w = describeResponseCode(c, lang);
        expectWords(w, lang);
        expect(w).not.toContain(c); // a real meaning, not the generic sentence
      }
    expect(describeResponseCode('51', 'en')).toBe('insufficient funds');
    expect(describeResponseCode('51', 'zh')).toBe('余额不足');
  });

  it('falls back to a generic sentence with the code kept for unknown codes', () => {
    expect(describeResponseCode('Q7', 'en')).toContain('Q7');
    expect(describeResponseCode('Q7', 'zh')).toContain('Q7');
    const t = describeState('declined', 'en', 'declined_Q7', 'Q7');
    expect(t.title).toContain('Q7');
    expect(t.code).toBe('declined · Q7');
    const e = describeError('brand_new_code', 'zh');
    expect(e.code).toBe('brand_new_code');
    expectWords(e.title, 'zh');
    expect(reasonWording('brand_new_reason', 'en')).toBeUndefined();
    expectWords(describeReason('brand_new_reason', 'en'), 'en');
    const s = describeState('failed', 'en', 'brand_new_reason');
    expect(s.code).toBe('failed · brand_new_reason');
    expect(s.detail).not.toMatch(SNAKE);
  });

  it('words every reader prompt', () => {
    for (const p of READER_PROGRESS) for (const lang of LANGS) expectWords(describeProgress(p, lang), lang);
  });

  it('words every reason the engine, the QR flow and the ZVT flow set', () => {
    const { exact, families } = engineReasons();
    expect(exact).toContain('approved_at_host_after_timeout');
    expect(families).toEqual(expect.arrayContaining(['declined_', 'no_answer_', 'not_sent_', 'qr_']));
    const missing: string[] = [];
    for (const r of [...exact, ...families.map((f) => `${f}x`)])
      for (const lang of LANGS) {
        const w = reasonWording(r, lang);
        if (w === undefined) missing.push(`${r} (${lang})`);
        else expectWords(w, lang);
      }
    expect(missing).toEqual([]);
  });

  it('words the reasons that come from the reader, the host link and the QR providers', () => {
    const reader = unionMembers('src/terminal/reader.ts', 'ReaderErrorCode');
    expect(reader).toContain('reader_disconnected');
    const reasons = [
      ...reader,
      'cancelled_by_customer',
      'cancelled_by_operator',
      'declined_offline:card said no',
      ...QR_REJECT_CODES.map((c) => `qr_${c}`),
    ];
    for (const r of reasons)
      for (const lang of LANGS) {
        const w = reasonWording(r, lang);
        expect(w, r).toBeDefined();
        expectWords(w, lang);
      }
    // The tails of no_answer_ / not_sent_ have their own words (not the family's generic one).
    const tails = (status: string): string[] =>
      ['src/host/outcome.ts', 'src/terminal/integrated.ts', 'src/qr/provider.ts'].flatMap((f) =>
        [
          ...read(f).matchAll(
            new RegExp(`status: '${status}';[^}]*?reason: ((?:\\s*\\|?\\s*'[a-z_]+')+)`, 'g'),
          ),
        ].flatMap((m) => [...m[1]!.matchAll(/'([a-z_]+)'/g)].map((x) => x[1]!)),
      );
    const unknownTails = tails('unknown');
    const notSentTails = tails('not_sent');
    expect(unknownTails).toEqual(expect.arrayContaining(['timeout', 'connection_lost', 'protocol_error']));
    expect(notSentTails).toEqual(expect.arrayContaining(['link_down', 'not_acknowledged']));
    for (const lang of LANGS) {
      for (const t of unknownTails)
        expect(reasonWording(`no_answer_${t}`, lang), t).not.toBe(reasonWording('no_answer_zzz', lang));
      for (const t of notSentTails)
        expect(reasonWording(`not_sent_${t}`, lang), t).not.toBe(reasonWording('not_sent_zzz', lang));
    }
  });

  it('explains a reversed payment’s reason and what happens next', () => {
    const t = describeState('reversed', 'en', 'approved_at_host_after_timeout');
    expect(t.tone).toBe('warning');
    expect(t.detail).toContain('timed out');
    expect(t.detail).toContain('Take the payment again');
    expect(t.code).toBe('reversed · approved_at_host_after_timeout');
    const zh = describeState('reversed', 'zh', 'approved_at_host_after_timeout');
    expect(zh.title).toMatch(HAN);
    expect(zh.detail).toMatch(HAN);
  });

  it('words every daemon and client error code', () => {
    const codes = [...Object.keys(ERROR_CODES), ...clientErrorCodes()];
    expect(codes).toEqual(
      expect.arrayContaining(['reader_busy', 'daemon_not_running', 'payment_interrupted']),
    );
    const missing = codes.filter((c) => !ERROR_CODE_LIST.includes(c));
    expect(missing).toEqual([]);
    for (const c of codes) for (const lang of LANGS) expectCashierText(describeError(c, lang), lang, c);
  });

  it('counts the long host wait up, in the page’s language', () => {
    expect(describeWaiting(12.7, 'en')).toBe('Waiting for the bank… 12 s — do not remove the card');
    expect(describeWaiting(12, 'zh')).toBe('正在等待银行应答… 12 秒，请勿拔卡');
    expectWords(describeWaiting(3, 'zh', { via: 'zvt' }), 'zh');
  });
});
