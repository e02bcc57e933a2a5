/**
 * Cashier wording: what a sales person reads for every payment state, reason, reader prompt and error
 * code, in Chinese and English. The code itself is kept beside the words (for support), never shown
 * alone. Used by the `<posbridge-pay>` element and the demo CRM page; a CRM can use it too.
 *
 * Reasons are the engine's `payment.reason` strings: exact ones (`approved_at_host_after_timeout`) and
 * families with a variable tail (`declined_51`, `no_answer_timeout`, `not_sent_link_down`, `qr_<code>`,
 * `cancelled_by_customer`, `interrupted_<state>`, `reversal_refused_<rc>`, ...). Host response codes are
 * ISO 8583 field 39; an integrated (ZVT) terminal's result codes are read with `{ via: 'zvt' }`.
 * Anything unknown gets a generic sentence; the code stays in `code` so support can look it up.
 */
import type { PaymentState, ReaderProgress } from './types.js';

export type Lang = 'zh' | 'en';

/** How a state should look: in progress, done well, needs a look, or went wrong. */
export type Tone = 'progress' | 'success' | 'warning' | 'error' | 'neutral';

export interface CashierText {
  /** One short line for the cashier ("Approved", "已批准"). */
  title: string;
  /** A second line when it helps (what happens next, what to do). */
  detail?: string;
  /** The raw code(s) for support, e.g. "declined · 51". Show small, never alone. */
  code: string;
  tone: Tone;
}

/**
 * Who decides the payment, for the words "bank" / "terminal" / "Alipay": a card reader (posbridge asks
 * the bank), an integrated ZVT terminal (it asks its own bank; its result codes are not ISO 8583), or a
 * scan-to-pay provider.
 */
export type PaymentVia = 'card' | 'zvt' | 'alipay' | 'wechat';

export interface DescribeOptions {
  via?: PaymentVia;
}

/** English first, Chinese second. */
type Words = readonly [en: string, zh: string];

const say = (w: Words, lang: Lang): string => (lang === 'zh' ? w[1] : w[0]);

/** The page's language: `zh` for any Chinese tag (zh, zh-CN, zh-Hans...), otherwise `en`. */
export function pickLang(tag: string | null | undefined): Lang {
  return typeof tag === 'string' && /^zh\b/i.test(tag) ? 'zh' : 'en';
}

// ------------------------------------------------------------------ states

interface StateWords {
  title: Words;
  detail?: Words;
  tone: Tone;
}

export const STATE_WORDS: Readonly<Record<PaymentState, StateWords>> = {
  created: { title: ['Starting…', '正在开始…'], tone: 'progress' },
  awaiting_card: {
    title: ['Waiting for the card', '等待刷卡'],
    detail: ['Insert, tap or swipe the card on the reader.', '请在读卡器上插卡、挥卡或刷卡。'],
    tone: 'progress',
  },
  card_read: { title: ['Card read', '已读卡'], tone: 'progress' },
  authorizing: {
    title: ['Waiting for the bank…', '正在等待银行应答…'],
    detail: ['Do not remove the card.', '请勿拔卡。'],
    tone: 'progress',
  },
  approved: {
    title: ['Approved by the bank, finishing…', '银行已批准，正在完成…'],
    detail: ['Leave the card in until the reader says to remove it.', '读卡器提示前请勿拔卡。'],
    tone: 'progress',
  },
  partially_approved: {
    title: ['Partly approved: accept or decline', '部分批准：请选择接受或拒绝'],
    detail: [
      'The bank approved less than asked. Accept it and take the rest another way, or decline it (nothing is charged).',
      '银行批准的金额少于请求金额。可接受并用其他方式收取余款，或拒绝（不扣款）。',
    ],
    tone: 'warning',
  },
  completing: { title: ['Finishing on the card…', '正在卡上完成交易…'], tone: 'progress' },
  completed: { title: ['Approved', '已批准'], tone: 'success' },
  declined: {
    title: ['Declined', '交易被拒绝'],
    detail: [
      'Nothing was charged. Ask for another card or another way to pay.',
      '未扣款。请客户换卡或换其他方式付款。',
    ],
    tone: 'error',
  },
  unknown: {
    title: ['Checking with the bank — do not charge again', '正在向银行确认结果，请勿重复收款'],
    detail: [
      'The answer was lost. posbridge is finding out what happened; this page shows the outcome.',
      '银行应答丢失，系统正在查询交易结果，结果会显示在本页。',
    ],
    tone: 'warning',
  },
  reversing: {
    title: ['Undoing the payment…', '正在冲正…'],
    detail: [
      'The payment is being reversed at the bank: the customer will not be charged. Do not charge again yet.',
      '正在向银行冲正此交易，客户不会被扣款。请暂勿重复收款。',
    ],
    tone: 'warning',
  },
  reversed: {
    title: ['Reversed: the customer is not charged', '已冲正：客户未被扣款'],
    detail: ['Take the payment again if it is still due.', '如仍需收款，请重新发起。'],
    tone: 'warning',
  },
  cancelled: {
    title: ['Cancelled', '已取消'],
    detail: ['Nothing was charged.', '未扣款。'],
    tone: 'neutral',
  },
  failed: {
    title: ['Failed: nothing was charged', '失败：未扣款'],
    detail: ['Try again, or use another way to pay.', '请重试，或换其他方式付款。'],
    tone: 'error',
  },
  needs_attention: {
    title: ['Needs attention: call the back office', '需要处理：请联系后台'],
    detail: [
      'posbridge could not confirm or undo this payment. Do not charge again until the back office has checked it.',
      '系统无法确认或撤销此交易。后台核查前请勿重复收款。',
    ],
    tone: 'error',
  },
};

/** Short labels for a badge or a timeline step ("Reversed" / "已冲正"). */
const STATE_LABELS: Readonly<Record<PaymentState, Words>> = {
  created: ['Started', '已发起'],
  awaiting_card: ['Waiting for card', '等待刷卡'],
  card_read: ['Card read', '已读卡'],
  authorizing: ['At the bank', '银行处理中'],
  approved: ['Approved', '已批准'],
  partially_approved: ['Partly approved', '部分批准'],
  completing: ['Finishing', '完成中'],
  completed: ['Completed', '已完成'],
  declined: ['Declined', '已拒绝'],
  unknown: ['Checking', '确认中'],
  reversing: ['Reversing', '冲正中'],
  reversed: ['Reversed', '已冲正'],
  cancelled: ['Cancelled', '已取消'],
  failed: ['Failed', '失败'],
  needs_attention: ['Needs attention', '需处理'],
};

/** A state as a short label (a badge, a timeline step); the state itself when this module does not know it. */
export function stateLabel(state: PaymentState, lang: Lang): string {
  const w = STATE_LABELS[state];
  return w ? say(w, lang) : String(state);
}

/** A state's tone alone (how a badge or a timeline step should look). */
export function stateTone(state: PaymentState): Tone {
  return STATE_WORDS[state]?.tone ?? 'warning';
}

/** The words that change when a terminal or a provider, not posbridge, talks to the bank. */
const VIA_STATE: Partial<Record<PaymentVia, Partial<Record<PaymentState, Partial<StateWords>>>>> = {
  zvt: {
    authorizing: {
      title: ['The terminal is taking the payment…', '终端正在处理付款…'],
      detail: ['Follow the prompts on the terminal.', '请按终端提示操作。'],
    },
    approved: { title: ['Approved by the terminal, finishing…', '终端已批准，正在完成…'], detail: undefined },
    unknown: {
      title: ['Checking with the terminal — do not charge again', '正在向终端确认结果，请勿重复收款'],
      detail: [
        "The terminal's answer was lost. posbridge is asking the terminal for its last transaction.",
        '终端应答丢失，系统正在向终端查询最后一笔交易。',
      ],
    },
  },
  alipay: {
    authorizing: { title: ['Waiting for the customer to pay…', '等待客户付款…'], detail: undefined },
    unknown: {
      title: ['Checking with Alipay — do not charge again', '正在向支付宝确认结果，请勿重复收款'],
      detail: [
        'posbridge keeps asking Alipay; this page shows the outcome.',
        '系统正在持续查询支付宝，结果会显示在本页。',
      ],
    },
  },
  wechat: {
    authorizing: { title: ['Waiting for the customer to pay…', '等待客户付款…'], detail: undefined },
    unknown: {
      title: ['Checking with WeChat Pay — do not charge again', '正在向微信支付确认结果，请勿重复收款'],
      detail: [
        'posbridge keeps asking WeChat Pay; this page shows the outcome.',
        '系统正在持续查询微信支付，结果会显示在本页。',
      ],
    },
  },
};

// ------------------------------------------------------------------ host response codes (field 39)

/** ISO 8583 field 39 (CUP and the common international meanings): [meaning en, zh, advice?]. */
const RESPONSE_CODES: Readonly<Record<string, { words: Words; advice?: Words }>> = {
  '00': { words: ['approved', '交易成功'] },
  '01': {
    words: ['refer to the card issuer', '请持卡人联系发卡行'],
    advice: ['Ask the customer to call their bank.', '请客户联系发卡银行。'],
  },
  '02': {
    words: ['refer to the card issuer', '请持卡人联系发卡行'],
    advice: ['Ask the customer to call their bank.', '请客户联系发卡银行。'],
  },
  '03': {
    words: ['invalid merchant', '无效商户'],
    advice: ['Call the back office: the merchant set-up is wrong.', '请联系后台：商户配置有误。'],
  },
  '04': { words: ['card to be retained', '没收卡'], advice: ['Do not accept this card.', '请勿接受此卡。'] },
  '05': { words: ['do not honour', '发卡行拒绝'], advice: ['Ask for another card.', '请客户换卡。'] },
  '06': { words: ['error', '出错'] },
  '07': { words: ['card to be retained', '没收卡'], advice: ['Do not accept this card.', '请勿接受此卡。'] },
  '09': { words: ['request in progress', '交易处理中'] },
  '10': { words: ['partial approval', '部分批准'] },
  '11': { words: ['approved', '交易成功'] },
  '12': { words: ['invalid transaction', '无效交易'] },
  '13': { words: ['invalid amount', '无效金额'], advice: ['Check the amount.', '请核对金额。'] },
  '14': { words: ['invalid card number', '无效卡号'], advice: ['Ask for another card.', '请客户换卡。'] },
  '15': { words: ['no such issuer', '无此发卡行'], advice: ['Ask for another card.', '请客户换卡。'] },
  '19': { words: ['try again', '请重试'], advice: ['Try the payment again.', '请重新发起交易。'] },
  '21': { words: ['no action taken', '未做处理'] },
  '22': { words: ['suspected malfunction', '疑似故障'] },
  '25': { words: ['original transaction not found', '找不到原始交易'] },
  '30': { words: ['format error', '报文格式错误'], advice: ['Call the back office.', '请联系后台。'] },
  '33': { words: ['card expired', '卡已过期'], advice: ['Ask for another card.', '请客户换卡。'] },
  '34': { words: ['suspected fraud', '有作弊嫌疑'], advice: ['Do not accept this card.', '请勿接受此卡。'] },
  '38': {
    words: ['too many wrong PINs', '密码错误次数超限'],
    advice: ['Ask for another card.', '请客户换卡。'],
  },
  '39': { words: ['no credit account', '无信用账户'] },
  '40': { words: ['function not supported', '不支持的功能'] },
  '41': { words: ['card reported lost', '挂失卡'], advice: ['Do not accept this card.', '请勿接受此卡。'] },
  '43': { words: ['card reported stolen', '被窃卡'], advice: ['Do not accept this card.', '请勿接受此卡。'] },
  '51': {
    words: ['insufficient funds', '余额不足'],
    advice: ['Ask for another card or a smaller amount.', '请客户换卡或减少金额。'],
  },
  '52': { words: ['no cheque account', '无支票账户'] },
  '53': { words: ['no savings account', '无储蓄账户'] },
  '54': { words: ['card expired', '卡已过期'], advice: ['Ask for another card.', '请客户换卡。'] },
  '55': {
    words: ['incorrect PIN', '密码错误'],
    advice: ['Ask the customer to try again with the right PIN.', '请客户重新输入正确密码。'],
  },
  '56': { words: ['no card record', '无此卡记录'] },
  '57': {
    words: ['not permitted for this card', '不允许持卡人进行此交易'],
    advice: ['Ask for another card.', '请客户换卡。'],
  },
  '58': {
    words: ['not permitted on this terminal', '不允许终端进行此交易'],
    advice: ['Call the back office.', '请联系后台。'],
  },
  '59': { words: ['suspected fraud', '有作弊嫌疑'], advice: ['Do not accept this card.', '请勿接受此卡。'] },
  '61': {
    words: ['amount limit exceeded', '超出金额限制'],
    advice: ['Ask for another card or split the payment.', '请客户换卡或分笔支付。'],
  },
  '62': { words: ['restricted card', '受限制的卡'], advice: ['Ask for another card.', '请客户换卡。'] },
  '63': { words: ['security violation', '违反安全规定'], advice: ['Call the back office.', '请联系后台。'] },
  '64': { words: ['original amount incorrect', '原始金额不正确'] },
  '65': {
    words: ['too many payments on this card', '超出取款次数限制'],
    advice: ['Ask for another card.', '请客户换卡。'],
  },
  '66': { words: ['call the acquirer', '请联系收单行'] },
  '68': { words: ['answer came too late', '应答超时'] },
  '75': {
    words: ['too many wrong PINs', '密码错误次数超限'],
    advice: ['Ask for another card.', '请客户换卡。'],
  },
  '77': { words: ['batch mismatch', '批次不一致'], advice: ['Call the back office.', '请联系后台。'] },
  '90': {
    words: ['bank closing its day, try later', '银行日切中，请稍后再试'],
    advice: ['Try again in a few minutes.', '请几分钟后重试。'],
  },
  '91': {
    words: ['the card issuer cannot be reached', '发卡行或交换中心不能操作'],
    advice: ['Try again in a moment.', '请稍后重试。'],
  },
  '92': {
    words: ['the card issuer cannot be found', '无法找到发卡行路由'],
    advice: ['Try again in a moment.', '请稍后重试。'],
  },
  '93': { words: ['transaction cannot be completed', '交易违法，不能完成'] },
  '94': {
    words: ['duplicate transaction', '重复交易'],
    advice: ['Check the order before charging again.', '重新收款前请先核对订单。'],
  },
  '96': { words: ['bank system error', '银行系统故障'], advice: ['Try again in a moment.', '请稍后重试。'] },
  '97': {
    words: ['terminal not registered', '终端未登记'],
    advice: ['Call the back office.', '请联系后台。'],
  },
  '98': {
    words: ['no answer from the card issuer', '发卡行无应答'],
    advice: ['Try again in a moment.', '请稍后重试。'],
  },
  '99': { words: ['PIN format error', '密码格式错误'] },
  A0: {
    words: ['security check failed, signing on again', 'MAC校验错，需重新签到'],
    advice: ['Try again in a moment.', '请稍后重试。'],
  },
};

/** The response codes this module words (for tests and for a CRM that wants the list). */
export const RESPONSE_CODE_LIST: readonly string[] = Object.keys(RESPONSE_CODES);

/** A host response code in words ("insufficient funds" / "余额不足"); generic with the code when unknown. */
export function describeResponseCode(code: string, lang: Lang): string {
  const r = RESPONSE_CODES[code.toUpperCase()];
  if (r) return say(r.words, lang);
  return lang === 'zh' ? `银行拒绝（代码 ${code}）` : `declined by the bank (code ${code})`;
}

/** ZVT result codes (one byte, hex) the terminal itself sets; 01-63 are the host's codes in binary. */
const TERMINAL_RESULTS: Readonly<Record<string, Words>> = {
  '64': ['card not readable', '无法读取卡片'],
  '65': ['no card data found', '未找到卡片数据'],
  '66': ['card reader processing error', '读卡处理错误'],
  '6A': ['terminal journal full', '终端交易记录已满'],
  '6B': ['terminal not registered', '终端未登记'],
  '6C': ['cancelled on the terminal or timed out', '终端上已取消或超时'],
  '6E': ['card blocked', '卡片已被列入黑名单'],
  '6F': ['wrong currency', '币种错误'],
  '71': ['not enough credit on the card', '卡内余额不足'],
  '72': ['chip error', '芯片错误'],
  '73': ['card data incorrect', '卡片数据错误'],
  '78': ['card expired', '卡已过期'],
  '79': ['card not yet valid', '卡片尚未生效'],
  '7A': ['card unknown', '未知卡片'],
  '7D': ['terminal cannot reach its bank', '终端通讯错误'],
  '83': ['the terminal cannot do this', '终端不支持此功能'],
  '9B': ['terminal connection error', '终端拨号/通讯故障'],
  '9C': ['terminal busy, please wait', '终端忙，请稍候'],
  A0: ['terminal not ready', '终端未就绪'],
  A1: ["the terminal's bank does not answer", '终端的银行无应答'],
  A3: ['terminal has no connection', '终端无网络连接'],
  B4: ['already reversed', '已冲正'],
  B5: ['reversal not possible', '无法冲正'],
  C3: ['maximum amount exceeded', '超过最高金额'],
  C5: ['payment method not supported', '不支持此付款方式'],
  C6: ['currency not supported', '不支持此币种'],
  C8: ['amount too small', '金额过小'],
  CC: ['printer not ready', '打印机未就绪'],
  E2: ['card reader defective', '读卡器故障'],
  ED: ['PIN pad defective', '密码键盘故障'],
  FF: ['terminal error', '终端错误'],
};

/** A ZVT terminal's result code in words; 01-63 are the host's ISO codes as a binary number. */
export function describeTerminalResult(code: string, lang: Lang): string {
  const c = code.toUpperCase();
  const own = TERMINAL_RESULTS[c];
  if (own) return say(own, lang);
  const n = /^[0-9A-F]{2}$/.test(c) ? parseInt(c, 16) : NaN;
  if (n >= 1 && n <= 0x63) {
    const host = String(n).padStart(2, '0');
    if (RESPONSE_CODES[host]) return describeResponseCode(host, lang);
  }
  return lang === 'zh' ? `终端拒绝（结果码 ${code}）` : `declined by the terminal (result ${code})`;
}

function codeMeaning(code: string, lang: Lang, via: PaymentVia | undefined): string {
  return via === 'zvt' ? describeTerminalResult(code, lang) : describeResponseCode(code, lang);
}

function codeAdvice(code: string, lang: Lang, via: PaymentVia | undefined): string | undefined {
  if (via === 'zvt') {
    const n = parseInt(code, 16);
    if (!(n >= 1 && n <= 0x63)) return undefined;
    code = String(n).padStart(2, '0');
  }
  const a = RESPONSE_CODES[code.toUpperCase()]?.advice;
  return a ? say(a, lang) : undefined;
}

// ------------------------------------------------------------------ reasons

/** Exact `payment.reason` strings the engine, the QR flow, the ZVT flow and the reader set. */
const REASONS: Readonly<Record<string, Words>> = {
  // operator, customer, card
  cancelled_by_operator: ['Cancelled at the desk.', '收银台已取消。'],
  cancelled_by_customer: ['The customer cancelled on the reader.', '客户在读卡器上取消了交易。'],
  no_card: ['No card was presented in time.', '未在规定时间内刷卡。'],
  card_mismatch: ['This is not the card of the original payment.', '所用卡片不是原交易的卡。'],
  card_required: [
    'The original card number is no longer kept: the card must be presented.',
    '原卡号已不再保存，需要客户出示原卡。',
  ],
  card_error: ['The card could not be read.', '无法读取卡片。'],
  chip_declined_after_approval: [
    "The bank approved, but the card's chip refused at the end, so the payment was undone.",
    '银行已批准，但卡片芯片最终拒绝，交易已撤销。',
  ],
  card_removed_before_completion: [
    'The card was removed before the payment finished, so it was undone.',
    '交易完成前卡片被拔出，交易已撤销。',
  ],
  reader_error_after_approval: [
    'The reader failed after the bank approved, so the payment was undone.',
    '银行批准后读卡器出错，交易已撤销。',
  ],
  card_side_unknown_after_restart: [
    'posbridge restarted before the card finished, so the payment was undone.',
    '卡片完成交易前系统重启，交易已撤销。',
  ],
  partial_declined_by_crm: [
    'The partly approved amount was declined at the desk.',
    '收银台拒绝了部分批准的金额。',
  ],
  partial_undecided_at_restart: [
    'The partly approved amount was not decided before a restart, so it was undone.',
    '系统重启前未决定是否接受部分批准金额，已撤销。',
  ],
  // reader
  reader_busy: ['The card reader is busy with another payment.', '读卡器正在处理另一笔交易。'],
  reader_disconnected: ['The card reader is not connected.', '读卡器未连接。'],
  reader_timeout: ['The card reader did not answer.', '读卡器无响应。'],
  reader_refused: ['The card reader refused the request.', '读卡器拒绝了请求。'],
  reader_not_paired: ['The card reader is not paired with posbridge.', '读卡器未与系统配对。'],
  reader_kcv_mismatch: [
    "The card reader's keys do not match: call the back office.",
    '读卡器密钥不匹配，请联系后台。',
  ],
  reader_protocol_error: [
    'The card reader answered something posbridge does not understand.',
    '读卡器应答异常。',
  ],
  reader_low_battery: ['The card reader battery is too low: charge it.', '读卡器电量过低，请充电。'],
  reader_not_connected: ['The card reader is not connected.', '读卡器未连接。'],
  // bank
  host_unavailable: ['The bank could not be reached.', '无法连接银行。'],
  host_mac_error_sign_on: [
    "The bank rejected the message's security check; posbridge signs on again.",
    '银行MAC校验失败，系统将重新签到。',
  ],
  response_mac_invalid: [
    "The bank's answer failed its security check, so the payment was undone.",
    '银行应答MAC校验失败，交易已撤销。',
  ],
  approved_at_host_after_timeout: [
    'The bank approved it after the answer had timed out, so posbridge undid it.',
    '银行在应答超时后才批准，系统已撤销该交易。',
  ],
  host_has_no_record: ['The bank never received it.', '银行没有收到此交易。'],
  no_answer: ['The answer did not arrive.', '应答未到达。'],
  no_answer_inquiry_failed: [
    'The answer was lost and the status check got no answer either, so the payment was undone.',
    '应答丢失且状态查询也无应答，交易已撤销。',
  ],
  no_answer_process_restart: ['posbridge restarted while waiting for the answer.', '等待应答时系统重启。'],
  reversal_pending: [
    'An earlier payment is still being undone at the bank; nothing new goes out before it is.',
    '上一笔冲正尚未送达银行，完成前不会发出新交易。',
  ],
  reversal_attempts_exhausted: [
    'The reversal could not reach the bank after many tries.',
    '多次尝试后冲正仍未送达银行。',
  ],
  pan_unavailable_for_reversal: [
    'The card number needed for the reversal is no longer kept.',
    '冲正所需的卡号已不再保存。',
  ],
  pan_unavailable_for_advice: [
    'The card number needed for the notice to the bank is no longer kept.',
    '通知银行所需的卡号已不再保存。',
  ],
  advice_attempts_exhausted: [
    'A notice to the bank could not be delivered after many tries.',
    '多次尝试后仍无法向银行发送通知。',
  ],
  batch_closed: ['The batch was already closed.', '批次已结算关闭。'],
  settlement_bad_field48: ["The bank's settlement totals could not be read.", '无法读取银行的结算总额。'],
  // restarts
  process_restart: ['posbridge restarted during the payment.', '交易过程中系统重启。'],
  interrupted_before_host: [
    'posbridge restarted before the payment reached the bank: nothing was charged.',
    '交易发往银行前系统重启，未扣款。',
  ],
  interrupted_before_terminal: [
    'posbridge restarted before the payment reached the terminal: nothing was charged.',
    '交易发往终端前系统重启，未扣款。',
  ],
  interrupted_before_provider: [
    'posbridge restarted before the payment reached the provider: nothing was charged.',
    '交易发往支付平台前系统重启，未扣款。',
  ],
  interrupted_reversing: ['posbridge restarted while undoing the payment.', '撤销交易时系统重启。'],
  internal_error: ['posbridge hit an internal error.', '系统内部错误。'],
  // integrated (ZVT) terminal
  terminal_unavailable: ['The payment terminal is not connected.', '支付终端未连接。'],
  terminal_busy: ['The payment terminal is busy with another operation.', '支付终端正忙于其他操作。'],
  terminal_has_no_record: ['The terminal has no record of this payment.', '终端没有此交易的记录。'],
  terminal_result_unknown_other_payment_since: [
    "The terminal's answer was lost and another payment ran on it since.",
    '终端应答丢失，且之后终端上已有其他交易。',
  ],
  not_supported_by_terminal: ['The terminal cannot do this operation.', '终端不支持此操作。'],
  original_has_no_receipt_number: [
    'The original payment has no terminal receipt number.',
    '原交易没有终端凭证号。',
  ],
  protocol_error: ['The terminal answered something posbridge does not understand.', '终端应答异常。'],
  // scan-to-pay
  original_has_no_qr_trade: ['The original payment has no scan-to-pay trade.', '原交易没有扫码支付订单。'],
  qr_closed: ['The QR payment was closed before it was paid.', '扫码订单在付款前已关闭。'],
  qr_expired: ['The QR code expired before the customer paid.', '客户付款前二维码已过期。'],
  qr_paying_timeout: [
    'The customer did not confirm on the phone in time.',
    '客户未在规定时间内在手机上确认。',
  ],
  qr_close_unanswered: ['Closing the QR payment got no answer yet.', '关闭扫码订单尚未得到应答。'],
  qr_reverse_unanswered: ['Undoing the payment got no answer yet.', '撤销交易尚未得到应答。'],
  qr_reverse_expired_refund_it: [
    'It is too late to undo this payment: refund it instead.',
    '已超过撤销期限，请改为退款。',
  ],
  qr_refund_failed: ['The provider could not make the refund.', '支付平台退款失败。'],
  qr_refund_not_made: ['The provider did not make the refund.', '支付平台未执行退款。'],
  qr_refund_unresolved: ["The refund's outcome is not known yet.", '退款结果尚未确定。'],
  qr_provider_not_configured: ['This scan-to-pay provider is not set up.', '未配置此扫码支付平台。'],
};

/** Provider-neutral scan-to-pay refusals (`qr_<code>`, src/qr QR_REJECT_CODES). */
const QR_REJECTS: Readonly<Record<string, Words>> = {
  trade_not_exist: ['The provider has no such payment.', '支付平台无此订单。'],
  trade_closed: ['The payment is already closed.', '订单已关闭。'],
  trade_paid: ['This payment was already paid.', '订单已支付。'],
  duplicate_out_trade_no: [
    'This order number was used before with other details.',
    '订单号重复且信息不一致。',
  ],
  auth_code_invalid: [
    "The customer's payment code is invalid or used: ask them to refresh it.",
    '付款码无效或已使用，请客户刷新付款码。',
  ],
  insufficient_funds: ["The customer's balance is not enough.", '客户余额不足。'],
  buyer_blocked: ["The customer's account cannot pay here.", '客户账户无法在此付款。'],
  refund_amount_invalid: ['The refund amount is more than is left.', '退款金额超出可退金额。'],
  refund_not_allowed: ['This payment can no longer be refunded.', '此订单已不能退款。'],
  merchant_balance_insufficient: [
    "The shop's account balance cannot fund the refund now.",
    '商户账户余额不足以退款。',
  ],
  reverse_expired: [
    'It is too late to undo this payment: refund it instead.',
    '已超过撤销期限，请改为退款。',
  ],
  invalid_request: ['The provider rejected the request as invalid.', '支付平台认为请求参数有误。'],
  auth_failed: [
    "The provider rejected the shop's credentials: call the back office.",
    '支付平台拒绝商户凭证，请联系后台。',
  ],
  rate_limited: ['The provider is busy: try again in a moment.', '支付平台繁忙，请稍后重试。'],
  declined: ['The provider declined the payment.', '支付平台拒绝了此交易。'],
};

/** Why an answer is missing (`no_answer_<why>`, `qr_query_<why>`). */
const NO_ANSWER: Readonly<Record<string, Words>> = {
  timeout: ['did not answer in time', '未在规定时间内应答'],
  connection_lost: ['dropped the connection before answering', '应答前连接中断'],
  connect_timeout: ['could not be reached in time', '连接超时'],
  write_error: ['may not have received the request', '可能未收到请求'],
  protocol_error: ['answered something posbridge does not understand', '应答异常'],
  bad_signature: ['sent an answer that failed its signature check', '应答签名校验失败'],
  system_error: ['reported a system error', '报告系统错误'],
};

/** Why a request never left (`not_sent_<why>`). */
const NOT_SENT: Readonly<Record<string, Words>> = {
  link_down: ['there is no connection', '没有连接'],
  duplicate_in_flight: ['the same request is already on its way', '相同请求正在处理中'],
  encode_error: ['the request could not be built', '无法生成请求报文'],
  mac_unavailable: ['the security key is not ready', '安全密钥未就绪'],
  before_send_failed: ['it could not be recorded first', '无法先行记录'],
  not_acknowledged: ['the terminal did not accept it', '终端未接受请求'],
  busy_locally: ['another request to the terminal was running', '终端正在处理另一请求'],
  bad_url: ['the provider address is wrong', '支付平台地址配置错误'],
  connection_lost: ['the connection dropped', '连接中断'],
  connect_timeout: ['the provider could not be reached', '无法连接支付平台'],
  timeout: ['it timed out', '超时'],
};

function who(via: PaymentVia | undefined): Words {
  if (via === 'zvt') return ['The terminal', '终端'];
  if (via === 'alipay') return ['Alipay', '支付宝'];
  if (via === 'wechat') return ['WeChat Pay', '微信支付'];
  return ['The bank', '银行'];
}

/**
 * A reason's sentence, or undefined when this module has no words for it (then only the code is shown).
 * Exact reasons first, then the families with a variable tail.
 */
export function reasonWording(reason: string, lang: Lang, options: DescribeOptions = {}): string | undefined {
  const via = options.via;
  if (reason.startsWith('declined_offline'))
    return say(['The card declined it offline.', '卡片脱机拒绝了交易。'], lang);
  // "not_sent_x: message" (attempt notes) → its code.
  const r = reason.includes(':') ? reason.slice(0, reason.indexOf(':')) : reason;
  const exact = REASONS[r];
  if (exact) return say(exact, lang);
  let m: RegExpExecArray | null;
  if ((m = /^declined_(.+)$/.exec(r))) {
    const meaning = codeMeaning(m[1]!, lang, via);
    return lang === 'zh'
      ? `${say(who(via), lang)}拒绝：${meaning}。`
      : `${who(via)[0]} declined it: ${meaning}.`;
  }
  if ((m = /^no_answer_(.+)$/.exec(r))) {
    const why = NO_ANSWER[m[1]!];
    return lang === 'zh'
      ? `${say(who(via), lang)}${why ? why[1] : '未应答'}。`
      : `${who(via)[0]} ${why ? why[0] : 'did not answer'}.`;
  }
  if ((m = /^not_sent_(.+)$/.exec(r))) {
    const why = NOT_SENT[m[1]!];
    return lang === 'zh'
      ? `请求未发出${why ? `（${why[1]}）` : ''}，未扣款。`
      : `The request never left${why ? ` (${why[0]})` : ''}: nothing was charged.`;
  }
  if ((m = /^qr_query_(.+)$/.exec(r))) {
    const why = NO_ANSWER[m[1]!];
    return lang === 'zh'
      ? `查询支付结果时平台${why ? why[1] : '无应答'}。`
      : `Asking the provider for the outcome: it ${why ? why[0] : 'gave no answer'}.`;
  }
  if ((m = /^qr_(.+)$/.exec(r))) {
    const q = QR_REJECTS[m[1]!];
    if (q) return say(q, lang);
    return say(['The provider refused the payment.', '支付平台拒绝了此交易。'], lang);
  }
  if ((m = /^cancelled_by_(.+)$/.exec(r))) return say(['It was cancelled.', '交易已取消。'], lang);
  if ((m = /^interrupted_(.+)$/.exec(r)))
    return say(['posbridge restarted in the middle of the payment.', '交易进行中系统重启。'], lang);
  if ((m = /^reversal_refused_(.+)$/.exec(r))) {
    const meaning = describeResponseCode(m[1]!, lang);
    return lang === 'zh' ? `银行拒绝了冲正：${meaning}。` : `The bank refused to undo it: ${meaning}.`;
  }
  if ((m = /^void_after_cancel_(.+)$/.exec(r)))
    return say(
      [
        'The cancel came after the terminal approved, and undoing it on the terminal did not go through.',
        '终端批准后才取消，且在终端上撤销未成功。',
      ],
      lang,
    );
  return undefined;
}

/** A reason code alone ("approved_at_host_after_timeout") in words. */
export function describeReason(reason: string, lang: Lang): string {
  return reasonWording(reason, lang) ?? say(['Other reason: see the code.', '其他原因，请查看代码。'], lang);
}

// ------------------------------------------------------------------ state + reason + code

/** A payment state (with its reason and host response code when there is one) in the cashier's words. */
export function describeState(
  state: PaymentState,
  lang: Lang,
  reason?: string | null,
  responseCode?: string | null,
  options: DescribeOptions = {},
): CashierText {
  const via = options.via;
  const rc = responseCode && responseCode !== '00' ? responseCode : null;
  // "declined_51" says what the response code says: keep one of them in the code.
  const reasonShown = reason && !(rc && reason === `declined_${rc}`) ? reason : null;
  // "00" (approved) adds nothing for support: the state says it.
  const code = [state, reasonShown, rc].filter((x) => x).join(' · ');
  const base: StateWords | undefined = STATE_WORDS[state]
    ? { ...STATE_WORDS[state], ...(via ? VIA_STATE[via]?.[state] : undefined) }
    : undefined;
  if (!base) {
    return {
      title: say(['Payment status not known to this page', '本页无法识别的交易状态'], lang),
      detail: say(['Tell support the code below.', '请将下方代码告知技术支持。'], lang),
      code: code || String(state),
      tone: 'warning',
    };
  }
  let title = say(base.title, lang);
  let detail: string | undefined;
  const declineCode = rc ?? (reason ? /^declined_([0-9A-Za-z]{2})$/.exec(reason)?.[1] : undefined);
  if (state === 'declined' && declineCode) {
    const meaning = codeMeaning(declineCode, lang, via);
    title = lang === 'zh' ? `交易被拒绝：${meaning}` : `Declined: ${meaning}`;
    detail = [
      say(['Nothing was charged.', '未扣款。'], lang),
      codeAdvice(declineCode, lang, via) ??
        say(['Ask for another card or another way to pay.', '请客户换卡或换其他方式付款。'], lang),
    ].join(lang === 'zh' ? '' : ' ');
  } else if (state === 'declined' && reason && /^qr_/.test(reason)) {
    const q = reasonWording(reason, lang, options);
    title = lang === 'zh' ? '交易被拒绝' : 'Declined';
    detail = [q, say(['Nothing was charged.', '未扣款。'], lang)]
      .filter(Boolean)
      .join(lang === 'zh' ? '' : ' ');
  } else {
    const why = reason ? reasonWording(reason, lang, options) : undefined;
    const next = base.detail ? say(base.detail, lang) : undefined;
    detail = [why, next].filter(Boolean).join(lang === 'zh' ? '' : ' ') || undefined;
  }
  return { title, ...(detail ? { detail } : {}), code, tone: base.tone };
}

// ------------------------------------------------------------------ reader prompts

const PROGRESS: Readonly<Record<ReaderProgress, Words>> = {
  present_card: ['Insert, tap or swipe the card', '请插卡、挥卡或刷卡'],
  card_detected: ['Card read', '已读卡'],
  pin_entry_started: ['Customer is entering the PIN', '客户正在输入密码'],
  pin_digit_entered: ['Customer is entering the PIN', '客户正在输入密码'],
  processing: ['Processing: asking the bank', '处理中：正在请求银行'],
  remove_card: ['Remove the card', '请拔卡'],
};

/** A reader prompt ("present_card") in words. */
export function describeProgress(progress: ReaderProgress, lang: Lang): string {
  const w = PROGRESS[progress];
  return w ? say(w, lang) : say(['Follow the reader', '请按读卡器提示操作'], lang);
}

/**
 * The long host wait, counting up: "Waiting for the bank… 12 s — do not remove the card". `seconds`
 * is whole seconds since the payment went to the bank (or the terminal / provider).
 */
export function describeWaiting(seconds: number, lang: Lang, options: DescribeOptions = {}): string {
  const s = Math.max(0, Math.floor(seconds));
  switch (options.via) {
    case 'zvt':
      return lang === 'zh'
        ? `终端正在处理… ${s} 秒，请按终端提示操作`
        : `The terminal is working… ${s} s — follow its prompts`;
    case 'alipay':
    case 'wechat': {
      const name = options.via === 'alipay' ? ['Alipay', '支付宝'] : ['WeChat Pay', '微信支付'];
      return lang === 'zh' ? `等待${name[1]}… ${s} 秒` : `Waiting for ${name[0]}… ${s} s`;
    }
    default:
      return lang === 'zh'
        ? `正在等待银行应答… ${s} 秒，请勿拔卡`
        : `Waiting for the bank… ${s} s — do not remove the card`;
  }
}

// ------------------------------------------------------------------ errors

interface ErrorWords {
  title: Words;
  detail?: Words;
  tone?: Tone;
}

/** RpcError codes (the daemon's `data.code`) and the client's own PosbridgeError codes. */
const ERRORS: Readonly<Record<string, ErrorWords>> = {
  // the daemon (src/api ERROR_CODES)
  parse_error: {
    title: ['The page sent something posbridge cannot read', '页面发送的数据无法解析'],
    detail: ['Reload the page; if it persists, call support.', '请刷新页面；如仍出现请联系技术支持。'],
  },
  invalid_request: {
    title: ['The page sent an invalid request', '页面请求无效'],
    detail: ['Reload the page; if it persists, call support.', '请刷新页面；如仍出现请联系技术支持。'],
  },
  method_not_found: {
    title: ['posbridge does not offer this here', '系统不支持此功能'],
    detail: ['Update posbridge or use another way.', '请升级系统或使用其他方式。'],
  },
  invalid_params: {
    title: ['Some details are not valid', '部分信息无效'],
    detail: ['Check the amount and the details, then try again.', '请核对金额和信息后重试。'],
  },
  unauthorized: {
    title: ['posbridge refused this page', '系统拒绝了本页面'],
    detail: ['Pair this page again (posbridge pair).', '请重新配对本页面。'],
  },
  pairing_unavailable: { title: ['This posbridge does not pair pages', '此系统不支持页面配对'] },
  pairing_code_invalid: {
    title: ['Wrong or expired pairing code', '配对码错误或已过期'],
    detail: ['Get a new code and type it again.', '请获取新配对码后重新输入。'],
  },
  pairing_rate_limited: {
    title: ['Too many wrong pairing codes', '配对码错误次数过多'],
    detail: ['Wait a minute, then get a new code.', '请等待一分钟后获取新配对码。'],
  },
  too_many_requests: {
    title: ['Too many requests at once', '请求过多'],
    detail: ['Wait a moment and try again.', '请稍后重试。'],
    tone: 'warning',
  },
  internal_error: {
    title: ['posbridge hit an internal error', '系统内部错误'],
    detail: ['Check the payment before trying again; call support.', '重试前请先核对交易，并联系技术支持。'],
  },
  unknown_payment: { title: ['Payment not found', '找不到该交易'] },
  unknown_terminal: {
    title: ['Terminal not found', '找不到该终端'],
    detail: ['Check the terminal set-up.', '请检查终端配置。'],
  },
  reader_not_connected: {
    title: ['The card reader is not connected', '读卡器未连接'],
    detail: ['Switch it on or bring it closer, then try again.', '请打开读卡器或靠近后重试。'],
    tone: 'warning',
  },
  reader_busy: {
    title: ['The card reader is busy with another payment', '读卡器正在处理另一笔交易'],
    detail: ['Wait for it to finish, then try again.', '请等待完成后重试。'],
    tone: 'warning',
  },
  terminal_error: {
    title: ['The terminal could not be reached', '无法连接终端'],
    detail: ['Check its cable or power, then try again.', '请检查线缆或电源后重试。'],
    tone: 'warning',
  },
  idempotency_conflict: {
    title: ['This request was already used with other details', '此请求已用不同信息提交过'],
    detail: ['Start a new payment.', '请发起新的交易。'],
  },
  wrong_state: {
    title: ['Not possible in this payment’s state', '当前交易状态下无法执行此操作'],
    detail: ['Reload the order to see where it stands.', '请刷新订单查看当前状态。'],
  },
  already_completed: {
    title: ['The payment completed before the cancel', '取消前交易已完成'],
    detail: ['Void or refund it instead.', '请改为撤销或退款。'],
    tone: 'warning',
  },
  not_supported_by_terminal: {
    title: ['This terminal cannot do this', '此终端不支持该操作'],
    detail: [
      'Nothing was sent and nothing was charged. Use another way, or ask the back office.',
      '未发送、未扣款。请使用其他方式或联系后台。',
    ],
  },
  amount_exceeds_refundable: {
    title: ['More than is left to refund', '超出可退款金额'],
    detail: ['Lower the amount.', '请减少金额。'],
  },
  amount_exceeds_original: {
    title: ['The amount is above what the original allows', '金额超出原交易允许范围'],
    detail: ['Check the amount.', '请核对金额。'],
  },
  void_not_same_batch: {
    title: ['Too late to void: the batch is closed', '批次已结算，无法撤销'],
    detail: ['Refund it instead.', '请改为退款。'],
  },
  card_mismatch: {
    title: ['Not the original card', '不是原交易的卡'],
    detail: ['Present the card used for the payment.', '请出示原交易所用的卡。'],
  },
  card_required: {
    title: ['The card is needed', '需要出示原卡'],
    detail: ['Present the card on the reader.', '请在读卡器上出示原卡。'],
    tone: 'warning',
  },
  supervisor_approval_required: {
    title: ['A supervisor must approve this amount', '此金额需要主管授权'],
    detail: ['Enter the supervisor approval code.', '请输入主管授权码。'],
    tone: 'warning',
  },
  supervisor_approval_invalid: { title: ['Supervisor approval code not recognised', '主管授权码无效'] },
  reversal_pending: {
    title: ['An earlier payment is still being undone', '上一笔冲正尚未完成'],
    detail: ['Wait a moment, then try again.', '请稍后重试。'],
    tone: 'warning',
  },
  print_failed: {
    title: ['The receipt did not print', '小票打印失败'],
    detail: ['Check the paper, then print again.', '请检查打印纸后重新打印。'],
    tone: 'warning',
  },
  signature_too_large: {
    title: ['The signature is too large', '签名文件过大'],
    detail: ['Clear the pad and sign again.', '请清除后重新签名。'],
  },
  signature_invalid: {
    title: ['The signature could not be stored', '签名无法保存'],
    detail: ['Clear the pad and sign again.', '请清除后重新签名。'],
  },
  signature_exists: {
    title: ['This payment is already signed', '此交易已签名'],
    detail: ['The signature on file stays.', '保留已存档的签名。'],
    tone: 'neutral',
  },
  batch_busy: {
    title: ['Payments are still running: the batch cannot close yet', '仍有交易进行中，暂不能结算'],
    detail: ['Try again when they have finished.', '请待交易完成后重试。'],
    tone: 'warning',
  },
  unknown_batch: { title: ['Batch not found', '找不到该批次'] },
  settlement_unavailable: { title: ['This posbridge does not settle batches', '此系统不支持批次结算'] },
  // the client (packages/client/src/errors.ts, flows.ts, index.ts)
  daemon_not_running: {
    title: ['posbridge is not answering', '支付服务无响应'],
    detail: ['Check that posbridge is running on this computer.', '请确认本机的支付服务正在运行。'],
  },
  permission_denied: {
    title: ['The browser blocked the payment service', '浏览器阻止了访问支付服务'],
    detail: ["Allow local network access in the site's settings.", '请在网站设置中允许访问本地网络。'],
  },
  handshake_refused: {
    title: ['posbridge refused the connection', '支付服务拒绝连接'],
    detail: ["This page's address must be allowed in posbridge.", '需要在系统中允许本页面地址。'],
  },
  connection_lost: {
    title: ['Connection to posbridge lost', '与支付服务的连接中断'],
    detail: ['Reconnecting… Check the payment before charging again.', '正在重连…重新收款前请先核对交易。'],
    tone: 'warning',
  },
  timeout: {
    title: ['No answer in time', '请求超时'],
    detail: ['Check the payment before trying again.', '重试前请先核对交易。'],
    tone: 'warning',
  },
  client_closed: {
    title: ['The connection was closed', '连接已关闭'],
    detail: ['Reload the page.', '请刷新页面。'],
  },
  unknown_event: { title: ['The page asked for an event that does not exist', '页面订阅了不存在的事件'] },
  invalid_argument: { title: ['The page passed an invalid value', '页面参数无效'] },
  terminal_not_ready: {
    title: ['The terminal is not ready', '终端未就绪'],
    detail: ['Switch it on or reconnect it, then try again.', '请打开或重新连接终端后重试。'],
    tone: 'warning',
  },
  payment_interrupted: {
    title: ['Connection lost during the payment', '交易过程中连接中断'],
    detail: [
      'Do not charge again: reload and check the payment first.',
      '请勿重复收款：请刷新并先核对交易。',
    ],
    tone: 'warning',
  },
  no_websocket: {
    title: ['This browser cannot connect to posbridge', '此浏览器无法连接支付服务'],
    detail: ['Use a current browser.', '请使用新版浏览器。'],
  },
  not_authorised: {
    title: ['This page is not connected to posbridge', '本页面未连接支付服务'],
    detail: ['Pair this page first.', '请先配对本页面。'],
  },
  reconnect_failed: {
    title: ['Reconnecting to posbridge failed', '重连支付服务失败'],
    detail: ['posbridge keeps trying.', '系统会继续尝试。'],
    tone: 'warning',
  },
  connect_failed: {
    title: ['Could not connect to posbridge', '无法连接支付服务'],
    detail: ['Check that posbridge is running, then reload.', '请确认支付服务正在运行后刷新。'],
  },
  failed: {
    title: ['Something went wrong', '出现错误'],
    detail: ['Tell support the code below.', '请将下方代码告知技术支持。'],
  },
};

/** The error codes this module words (for tests and for a CRM that wants the list). */
export const ERROR_CODE_LIST: readonly string[] = Object.keys(ERRORS);

/** An error code from the daemon or the client (RpcError.code, PosbridgeError.code) in words. */
export function describeError(code: string, lang: Lang): CashierText {
  const e = ERRORS[code];
  if (!e)
    return {
      title: say(['Something went wrong', '出现错误'], lang),
      detail: say(['Tell support the code below.', '请将下方代码告知技术支持。'], lang),
      code,
      tone: 'error',
    };
  return {
    title: say(e.title, lang),
    ...(e.detail ? { detail: say(e.detail, lang) } : {}),
    code,
    tone: e.tone ?? 'error',
  };
}
