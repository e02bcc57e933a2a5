// The posbridge demo CRM page: plain ESM, no framework, no build step. It uses the typed client
// (@posbridge/client's ESM build, packages/client/dist/esm/, served by the demo at /client/index.js)
// exactly as a CRM page would:
// connect, take payments for an order (several if the customer splits), follow the terminal's prompts,
// collect a signature, show the receipt, refund part of a payment, void one. The same code pays through a
// card reader or an integrated (ZVT) terminal: only terminal.list tells them apart, and the page uses it
// for its wording and its simulator panel. Scan-to-pay (Alipay, WeChat Pay) is payment.qr: a QR the
// customer scans (rendered by the demo at /demo/qr.svg), or the customer's payment code typed or read by
// a USB barcode scanner. The simulator panel talks to the simulators' control APIs through the demo's
// /sim/ proxies (same origin).
import {
  PosbridgeClient,
  newIdempotencyKey,
  RpcError,
  ConnectionLostError,
  DaemonNotRunningError,
  PermissionDeniedError,
  UnauthorizedError,
  PosbridgeError,
  pickLang,
  describeState,
  describeReason,
  describeProgress,
  describeError,
  describeWaiting,
  stateLabel,
  stateTone,
} from '/client/index.js';

// ------------------------------------------------------------------ language

/**
 * The page's language: what the operator chose last (localStorage), else the browser's, else <html lang>.
 * States, reasons, prompts and errors come from the client's wording module (describeState & co.); the
 * page's own sentences are in `T` below, both languages side by side.
 */
const LANG_KEY = 'posbridge.demo.lang';
let lang = pickLang(
  localStorage.getItem(LANG_KEY) ?? globalThis.navigator?.language ?? document.documentElement.lang,
);

/** The page's own words: [English, 中文] or a function of the language and arguments. */
const T = {
  connected: ['connected', '已连接'],
  conn: {
    idle: ['not connected', '未连接'],
    connecting: ['connecting', '连接中'],
    open: ['signing in', '登录中'],
    authenticating: ['signing in', '登录中'],
    reconnecting: ['reconnecting', '重新连接中'],
    closed: ['closed', '已断开'],
  },
  terminalState: {
    idle: ['idle', '空闲'],
    busy: ['busy', '忙碌'],
    connecting: ['connecting', '连接中'],
    disconnected: ['disconnected', '未连接'],
  },
  steps: {
    card: ['Present card', '刷卡'],
    pin: ['PIN', '密码'],
    processing: ['Processing', '处理中'],
    remove: ['Remove card', '拔卡'],
    result: ['Result', '结果'],
  },
  code: ['code', '代码'],
  support: ['details for support', '技术支持信息'],
  replayed: ['replayed', '重放'],
  qrCreated: ['QR code ready', '二维码已生成'],
  starting: ['Starting…', '正在开始…'],
  cancelPayment: ['Cancel payment', '取消交易'],
  cancelQr: ['Cancel QR', '取消二维码'],
  accept: (a) => [`Accept ${a}`, `接受 ${a}`],
  decline: ['Decline', '拒绝'],
  readerHeading: ['Card reader', '读卡器'],
  zvtHeading: ['Payment terminal (ZVT)', '支付终端 (ZVT)'],
  progress: ['Progress', '进度'],
  receipt: ['Receipt', '小票'],
  sign: ['Sign', '签名'],
  refundBtn: ['Refund…', '退款…'],
  voidBtn: ['Void…', '撤销…'],
  voidAll: (a) => [`Void all ${a}?`, `撤销全部 ${a}？`],
  voidConfirm: ['Void payment', '撤销交易'],
  keep: ['Keep', '保留'],
  signed: ['signed', '已签名'],
  voided: ['voided', '已撤销'],
  refundedOf: (a, b) => [`refunded ${a} of ${b}`, `已退款 ${a}（共 ${b}）`],
  ofPayment: (id) => [`of …${id}`, `原交易 …${id}`],
  noPayments: ['No payments yet.', '暂无交易。'],
  price: ['Price', '价格'],
  paid: ['Paid', '已付'],
  refunded: ['Refunded', '已退款'],
  due: ['Due', '待付'],
  paidInFull: ['paid in full', '已付清'],
  over: (a) => [`${a} over`, `超付 ${a}`],
  dueAmount: (a) => [`due ${a}`, `待付 ${a}`],
  confirmedAfterUnknown: [
    'The answer was lost, and posbridge confirmed the payment with the bank: the customer is charged once.',
    '应答曾丢失，系统已向银行确认交易成功：客户只被扣款一次。',
  ],
  confirmedAfterUnknownZvt: [
    'The terminal’s answer was lost, and its repeat receipt shows the payment approved: the customer is charged once. Do not take it again.',
    '终端应答曾丢失，终端重打小票显示交易已批准：客户只被扣款一次。请勿重复收款。',
  ],
  reversedAfterUnknown: [
    'The outcome was unknown, so posbridge reversed the payment at the bank: the customer is not charged. Take the payment again if needed.',
    '交易结果未知，系统已向银行冲正：客户未被扣款。如仍需收款，请重新发起。',
  ],
  notSupported: (what) => [
    `This terminal cannot do ${what[0]}: nothing was sent and nothing was charged. Use another way (e.g. the terminal's own menu, or a bank transfer) or ask the back office.`,
    `此终端不能${what[1]}：未发送、未扣款。请使用其他方式（如终端自带菜单或银行转账）或联系后台。`,
  ],
};

/** English or Chinese, by the page's language (for sentences with values in them). */
const L = (en, zh) => (lang === 'zh' ? zh : en);

/** The page's own words in the page's language. */
function t(key, ...args) {
  const path = key.split('.');
  let w = T;
  for (const k of path) w = w?.[k];
  if (typeof w === 'function') w = w(...args);
  if (!Array.isArray(w)) return key;
  return lang === 'zh' ? w[1] : w[0];
}

/** Who decides a payment, for the wording module: a card reader's bank, the ZVT terminal, a QR provider. */
function viaOf(p, id = p?.paymentId) {
  const qr = qrOf(p, id);
  if (qr) return qr.method;
  return isZvt() ? 'zvt' : 'card';
}

/** A payment's state in the cashier's words (title, detail, code, tone). */
function stateWords(p, s = p?.state, id = p?.paymentId) {
  return describeState(s ?? 'created', lang, p?.reason ?? null, p?.host?.responseCode ?? null, {
    via: viaOf(p, id),
  });
}

/** The code kept small for support: `code: declined · 51`. */
const codeHtml = (code) =>
  code ? `<small class="code" data-role="code">${esc(t('code'))}: ${esc(code)}</small>` : '';

function setLang(next) {
  lang = pickLang(next);
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const b of document.querySelectorAll('#lang button[data-lang]'))
    b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const w = el.dataset.i18n.split('|');
    el.textContent = lang === 'zh' ? w[1] : w[0];
  }
  const conn = $('#conn');
  if (conn) showConn(conn.dataset.state ?? 'idle');
  if (state.terminalInfo) showReader(state.terminalInfo);
  relabelLog();
  render();
  renderRefundForm();
}

// ------------------------------------------------------------------ demo data

/** Fixed demo orders: used cars, amounts in fen (integer minor units, as the protocol wants). */
const ORDERS = [
  {
    id: 'CAR-2024-0001',
    car: '2019 BYD Han EV',
    detail: '42,000 km, pearl white',
    customer: 'Li Wei',
    total: 12_800_000,
  },
  {
    id: 'CAR-2024-0002',
    car: '2020 Toyota Camry 2.5G',
    detail: '38,500 km, black',
    customer: 'Zhang Min',
    total: 9_650_000,
  },
  {
    id: 'CAR-2024-0003',
    car: '2018 BMW 530Li',
    detail: '61,000 km, grey',
    customer: 'Wang Fang',
    total: 21_580_000,
  },
  {
    id: 'CAR-2024-0004',
    car: '2021 Tesla Model 3',
    detail: '25,300 km, red',
    customer: 'Chen Jie',
    total: 18_990_000,
  },
];
const CURRENCY = 'CNY';
const OPERATOR = 'demo-sales-1';

const FINAL = new Set(['completed', 'declined', 'reversed', 'cancelled', 'failed', 'needs_attention']);

// ------------------------------------------------------------------ state

const state = {
  /** @type {PosbridgeClient | undefined} */
  pb: undefined,
  selected: ORDERS[0].id,
  /** orderId → OrderSummary */
  orders: new Map(),
  /** paymentId → Payment */
  payments: new Map(),
  /** The payment shown in the reader panel. */
  current: undefined,
  /** paymentId → durable states in the order they happened */
  timeline: new Map(),
  /** paymentId → the reader's last prompt */
  prompt: new Map(),
  /** paymentId → set of reader steps seen */
  steps: new Map(),
  /** paymentId → PNG data URL of the customer's signature drawn on this page (shown; not the record) */
  signatures: new Map(),
  /**
   * paymentId → true/false: a signature is on file in the daemon. From the daemon (receipt.get's merchant
   * copy, its `signature.onFile`; payment.signature's answer), never from what this page drew, so a
   * reload knows which payments are signed.
   */
  signed: new Map(),
  signFor: undefined,
  /** An amount above what is due, waiting for the operator's confirmation: {orderId, amount, due, run}. */
  overFor: undefined,
  refundFor: undefined,
  /** The payment whose void waits for the operator's confirmation. */
  voidFor: undefined,
  /** From terminal.list: 'reader' or 'zvt' (an integrated terminal), and what it offers. */
  terminal: { kind: undefined, capabilities: undefined },
  /** paymentId → what the page knows of a scan-to-pay payment before payment.get has it: {method, mode, qrContent, expiresAt} */
  qr: new Map(),
  /** Methods another daemon version may not have: undefined (not tried), true, false. */
  has: { signature: undefined, receipt: undefined },
  payTouched: false,
  /** paymentId → when it went to the bank (its `authorizing` event), for the long-wait count-up. */
  waitSince: new Map(),
  /** The terminal last reported (the reader pill re-worded on a language switch). */
  terminalInfo: undefined,
};

// ------------------------------------------------------------------ helpers

const $ = (sel) => document.querySelector(sel);
const esc = (v) =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
// Money is integer fen everywhere in this page (as the protocol wants): never a float, not even to show it.
/** Fen (an integer) → "128000.00". */
function fenText(fen) {
  const f = Math.abs(Math.trunc(fen ?? 0));
  return `${fen < 0 ? '-' : ''}${Math.floor(f / 100)}.${String(f % 100).padStart(2, '0')}`;
}
/** Fen → "¥128,000.00" (digits grouped by three). */
function yuan(fen) {
  const [int, dec] = fenText(fen ?? 0)
    .replace('-', '')
    .split('.');
  return `${fen < 0 ? '-' : ''}¥${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${dec}`;
}
/**
 * The yuan the operator typed → {fen} or {error} (the operator's words). A string parser, no floats:
 * "64,000.5" → 6400050; "12.345" (more than two decimals), "abc", "0" and amounts over 12 digits of fen
 * (the protocol's limit) are refused with a message.
 */
function parseYuanText(text) {
  const v = String(text ?? '').replace(/[,\s¥￥]/g, '');
  if (!v) return { error: L('Enter an amount in yuan, e.g. 64000.00', '请输入金额（元），例如 64000.00') };
  const m = /^(\d+)(?:\.(\d*))?$/.exec(v);
  if (!m)
    return {
      error: L(
        `“${text}” is not an amount: digits and one decimal point only, e.g. 64000.00`,
        `“${text}”不是金额：只能输入数字和一个小数点，例如 64000.00`,
      ),
    };
  const dec = m[2] ?? '';
  if (dec.length > 2)
    return {
      error: L(
        `“${text}” has more than 2 decimals: an amount is in yuan and fen, e.g. 64000.05`,
        `“${text}”超过两位小数：金额精确到分，例如 64000.05`,
      ),
    };
  const int = m[1].replace(/^0+(?=\d)/, '');
  if (int.length > 10)
    return {
      error: L(
        'That amount is too large (at most ¥9,999,999,999.99).',
        '金额过大（最多 ¥9,999,999,999.99）。',
      ),
    };
  const fen = Number(int) * 100 + Number(dec.padEnd(2, '0'));
  if (fen <= 0) return { error: L('Enter an amount above zero.', '请输入大于零的金额。') };
  return { fen };
}
/** Fen, or null when the text is not an amount. */
const parseYuan = (text) => parseYuanText(text).fen ?? null;
const toInput = (fen) => fenText(fen);
const time = (iso) =>
  iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
const shortId = (id) => (id ? String(id).slice(-6) : '');
const order = (id) => ORDERS.find((o) => o.id === id);

/** Scan-to-pay providers in the cashier's words. */
const QR_NAMES = { alipay: 'Alipay', wechat: 'WeChat Pay' };
/** A scan-to-pay payment's facts: payment.get's `qr`, else what the page saw (its call, the qr event). */
function qrOf(p, id = p?.paymentId) {
  const seen = state.qr.get(id);
  const q = p?.qr;
  const method =
    q?.method ?? seen?.method ?? (p?.method === 'alipay' || p?.method === 'wechat' ? p.method : undefined);
  if (!method) return undefined;
  return {
    method,
    mode: q?.mode ?? seen?.mode ?? 'qr',
    qrContent: q?.qrContent ?? seen?.qrContent ?? null,
    expiresAt: q?.expiresAt ?? seen?.expiresAt ?? null,
    tradeNo: q?.tradeNo ?? null,
    buyer: q?.buyer ?? null,
  };
}
/**
 * The provider of a customer's payment code (付款码), from its digits: WeChat Pay 10–15 then 16 digits,
 * Alipay 25–30 then 14–22 digits; undefined when it is neither.
 */
function codeMethod(code) {
  if (/^1[0-5]\d{16}$/.test(code)) return 'wechat';
  if (/^(?:2[5-9]|30)\d{14,22}$/.test(code)) return 'alipay';
  return undefined;
}

/** Sets innerHTML only when it changed (keeps focus and scroll when an event changes nothing here). */
function paint(el, html) {
  if (el.__html === html) return;
  el.__html = html;
  el.innerHTML = html;
}

function banner(text) {
  const b = $('#banner');
  b.hidden = !text;
  b.textContent = text ?? '';
}

const isZvt = () => state.terminal.kind === 'zvt';

/** What the operator calls the operation kinds. */
const KIND_WORDS = {
  sale: ['card payments', '刷卡收款'],
  refund: ['refunds', '退款'],
  void: ['voids', '撤销'],
  preauth: ['pre-authorisations', '预授权'],
  capture: ['captures', '预授权完成'],
  preauth_void: ['releasing pre-authorisations', '预授权撤销'],
};

/** "This terminal cannot do refunds…": the cashier's words for not_supported_by_terminal. */
function notSupportedText(kind) {
  return t('notSupported', KIND_WORDS[kind] ?? ['this', '此操作']);
}

/**
 * An error as the operator should read it (`kind`: the operation that was asked for): the wording
 * module's words for its code, `{ text, code }` (the code shown small, for support).
 */
function explainParts(e, kind) {
  const code = e instanceof PosbridgeError ? e.code : undefined;
  if (code === 'not_supported_by_terminal') return { text: notSupportedText(kind), code };
  if (code) {
    const w = describeError(code, lang);
    return { text: w.detail ? `${w.title}. ${w.detail}` : w.title, code };
  }
  return { text: e?.message ?? String(e), code: undefined };
}

/** The same as one line of text (the code in brackets). */
function explain(e, kind) {
  const { text, code } = explainParts(e, kind);
  return code ? `${text} (${t('code')}: ${code})` : text;
}

/** Shows an error in an element: the words, and the code small beside them. */
function showError(el, e, kind, prefix = '') {
  const { text, code } = explainParts(e, kind);
  el.dataset.code = code ?? '';
  el.innerHTML = `${esc(prefix)}${esc(text)} ${codeHtml(code)}`;
}

const isMissingMethod = (e) =>
  e instanceof RpcError && (e.code === 'method_not_found' || e.rpcCode === -32601);

// ------------------------------------------------------------------ connecting

/**
 * The token: in the demo, from the demo's own /demo/token route (only `posbridge-sim demo` has it;
 * a real daemon never hands out its token over HTTP). Otherwise a token this page got by pairing
 * earlier, kept in localStorage. Otherwise: show the pairing form.
 */
async function findToken() {
  try {
    const res = await fetch('/demo/token', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (res.ok) return { token: (await res.json()).token, source: 'demo' };
  } catch {
    // not the demo
  }
  const paired = localStorage.getItem('posbridge.token');
  return paired ? { token: paired, source: 'paired' } : undefined;
}

function newClient(token) {
  const pb = new PosbridgeClient({
    url: `ws://${location.host}/ws`,
    token,
    operatorId: OPERATOR,
    clientName: 'posbridge demo CRM',
  });
  pb.on('state', (s) => {
    showConn(s);
    if (s === 'ready') {
      banner('');
      void refreshAll();
    }
  });
  pb.on('payment', onPaymentEvent);
  pb.on('terminal', showReader);
  pb.on('error', (e) => {
    if (e instanceof UnauthorizedError) banner('posbridge refused this page’s token. Reload to pair again.');
  });
  return pb;
}

/** The connection pill, in the page's language. */
function showConn(s) {
  const el = $('#conn');
  el.dataset.state = s;
  el.textContent = s === 'ready' ? t('connected') : T.conn[s] ? t(`conn.${s}`) : s;
}

async function connect() {
  const found = await findToken();
  if (!found) {
    $('#pair').hidden = false;
    return;
  }
  const pb = newClient(found.token);
  state.pb = pb;
  try {
    await pb.connect();
  } catch (e) {
    if (e instanceof UnauthorizedError && found.source === 'paired') {
      localStorage.removeItem('posbridge.token');
      $('#pair').hidden = false;
      banner(
        L(
          'The stored token was refused (revoked?): pair this page again.',
          '已保存的令牌被拒绝（已吊销？）：请重新配对本页面。',
        ),
      );
    } else if (e instanceof PermissionDeniedError) {
      banner(
        L(
          'The browser blocked local network access for this page. Allow it in the site settings.',
          '浏览器阻止了本页面访问本地网络，请在网站设置中允许。',
        ),
      );
    } else if (e instanceof DaemonNotRunningError) {
      banner(explain(e));
    } else banner(explain(e));
  }
}

async function pair(ev) {
  ev.preventDefault();
  const code = $('#pair-code').value.trim();
  const pb = newClient(undefined);
  state.pb = pb;
  try {
    const token = await pb.pair(code);
    localStorage.setItem('posbridge.token', token);
    $('#pair').hidden = true;
  } catch (e) {
    $('#pair-status').textContent = isMissingMethod(e) ? 'This daemon cannot pair pages.' : explain(e);
  }
}

// ------------------------------------------------------------------ data

const refreshing = new Map();
/** Reloads one order's summary and payments; calls that arrive meanwhile are folded into one more. */
function refreshOrder(orderId) {
  if (!state.pb || !order(orderId)) return Promise.resolve();
  const running = refreshing.get(orderId);
  if (running) {
    running.again = true;
    return running.promise;
  }
  const entry = { again: false, promise: undefined };
  entry.promise = (async () => {
    do {
      entry.again = false;
      const summary = await state.pb.order.get(orderId);
      state.orders.set(orderId, summary);
      for (const p of summary.operations) state.payments.set(p.paymentId, p);
    } while (entry.again);
  })()
    .catch((e) => {
      if (!(e instanceof ConnectionLostError)) console.warn('order.get', orderId, e);
    })
    .finally(() => {
      refreshing.delete(orderId);
      render();
    });
  refreshing.set(orderId, entry);
  return entry.promise;
}

/** A payment the customer signs for: a completed card sale (scan-to-pay has no signature). */
const signable = (p) => p?.kind === 'sale' && p.state === 'completed' && !qrOf(p);

/**
 * Whether a payment is signed: the daemon says so in the payment itself (`signed`), or this page stored
 * one since it last read it. Only a daemon without payment.signature leaves it to what this page drew.
 */
function signedState(id) {
  if (state.has.signature === false) return state.signatures.has(id);
  return state.signed.get(id) === true || state.payments.get(id)?.signed === true;
}

async function refreshPayment(paymentId) {
  try {
    const p = await state.pb.payment.get({ paymentId });
    state.payments.set(p.paymentId, p);
    if (p.orderId && order(p.orderId)) await refreshOrder(p.orderId);
  } catch (e) {
    if (!(e instanceof ConnectionLostError)) console.warn('payment.get', paymentId, e);
  }
  render();
}

async function refreshAll() {
  try {
    const { terminals } = await state.pb.terminal.list();
    if (terminals[0]) {
      setTerminal(terminals[0]);
      showReader(terminals[0]);
    }
  } catch {
    // shown by the pill
  }
  await Promise.all(ORDERS.map((o) => refreshOrder(o.id)));
  // After a reload: follow a payment still in progress (the page may have been closed mid-payment).
  state.current ??= [...state.payments.values()].find((p) => !p.final)?.paymentId;
  if (state.current) await refreshPayment(state.current);
  if (!state.payTouched) setPayAmount(toTake(state.selected));
}

function onPaymentEvent(e) {
  log(e);
  const id = e.paymentId;
  if (!id) return;
  if (e.type === 'qr') {
    state.qr.set(id, { ...state.qr.get(id), qrContent: e.qrContent ?? null, expiresAt: e.expiresAt ?? null });
    if (!state.current || state.current === id || state.payments.get(state.current)?.final)
      state.current = id;
    renderLive();
    void refreshPayment(id);
    return;
  }
  if (e.type === 'progress') {
    state.prompt.set(id, e);
    const steps = state.steps.get(id) ?? new Set();
    steps.add(stepOf(e.progress));
    state.steps.set(id, steps);
    if (!state.current || state.current === id) {
      state.current = id;
      renderLive();
    }
    return;
  }
  if (e.durable && e.type === 'state' && e.state) {
    const tl = state.timeline.get(id) ?? [];
    tl.push(e.state);
    state.timeline.set(id, tl);
    if (e.state === 'authorizing' && !e.replayed) state.waitSince.set(id, Date.now());
    const known = state.payments.get(id);
    if (known)
      state.payments.set(id, {
        ...known,
        state: e.state,
        final: FINAL.has(e.state),
        reason: e.reason ?? known.reason,
      });
    renderLive();
    void refreshPayment(id).then(() => afterState(id, e.state));
  }
}

/** What the page does when one of its payments reaches a state. */
function afterState(id, s) {
  const p = state.payments.get(id);
  if (!p || !FINAL.has(s)) return;
  if ($('#sim').open) void refreshSim();
  if (p.orderId === state.selected && !state.payTouched) setPayAmount(toTake(state.selected));
  // The pad opens for the open order's payment only, and not when the daemon has its signature already.
  if (
    s === 'completed' &&
    signable(p) &&
    id === state.current &&
    p.orderId === state.selected &&
    !signedState(id)
  )
    openSignature(id);
}

/**
 * The terminal from terminal.list (or a terminal.event): a card reader, or an integrated terminal (kind
 * zvt) that reads the card and authorises with its own acquirer. Payments are the same calls for both;
 * the page adapts its words and its simulator panel.
 */
function setTerminal(t) {
  const kind = t.kind ?? 'reader';
  const changed = kind !== state.terminal.kind;
  state.terminal = { kind, capabilities: t.capabilities };
  document.body.dataset.terminal = kind;
  if (changed) {
    renderSimPanel();
    renderLive();
  }
}

function showReader(info) {
  if (info.kind && info.kind !== state.terminal.kind) setTerminal(info);
  state.terminalInfo = info;
  const el = $('#reader');
  el.dataset.state = info.state === 'idle' ? 'ready' : info.state;
  el.dataset.kind = info.kind ?? 'reader';
  const st = T.terminalState[info.state] ? t(`terminalState.${info.state}`) : info.state;
  el.textContent =
    info.kind === 'zvt'
      ? `${lang === 'zh' ? 'ZVT 终端' : 'ZVT terminal'}${info.serialNumber ? ` ${info.serialNumber}` : ''}: ${st}`
      : `${lang === 'zh' ? '读卡器' : 'reader'} ${info.terminalId}: ${st}${info.batteryPercent !== undefined ? ` · ${info.batteryPercent}%` : ''}`;
}

/**
 * The order's balance, the "Due" line: price − net paid (net = captured − refunded), at least 0. A refund
 * makes it grow again; that is the books, not a request to charge the customer (see toTake).
 */
function due(orderId) {
  const o = order(orderId);
  const s = state.orders.get(orderId);
  return Math.max(0, o.total - (s?.net ?? 0));
}

/**
 * What the page proposes to take (the amount field's pre-fill, "Half of due") and takes without asking:
 * price − captured − payments still in progress, at least 0. `captured` is what the order's completed
 * sales and captures took (voided ones not counted: a void cancels a payment, so its amount is due again),
 * with refunds NOT subtracted. A refund is money given back on purpose (a discount, an overpayment
 * returned), so a refunded amount never becomes due again: not pre-filled, and charging it needs the
 * operator's confirmation like any amount above this. (price − net would put every refund back into the
 * pre-fill: the ¥10,000 refunded on a paid order proposed again next to "Take card payment".)
 */
function toTake(orderId) {
  const o = order(orderId);
  const s = state.orders.get(orderId);
  const inProgress = (s?.operations ?? [])
    .filter((p) => (p.kind === 'sale' || p.kind === 'capture') && !p.final)
    .reduce((sum, p) => sum + p.amount, 0);
  return Math.max(0, o.total - (s?.captured ?? 0) - inProgress);
}

/** Fen paid above the price (net of refunds), 0 when the order is not over-paid. */
function overPaid(orderId) {
  const s = state.orders.get(orderId);
  return s ? Math.max(0, s.net - order(orderId).total) : 0;
}

// ------------------------------------------------------------------ actions

/**
 * A money-moving call with its idempotency key: when the connection drops before the answer, the
 * same call is repeated with the same key (never a second charge).
 */
async function withKey(call) {
  const key = newIdempotencyKey();
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(key);
    } catch (e) {
      if (e instanceof ConnectionLostError && attempt < 3) continue;
      throw e;
    }
  }
}

/** The amount typed for the next payment (fen), or null with the error shown (every way to pay). */
function amountToTake() {
  const err = $('#pay-error');
  err.textContent = '';
  const r = parseYuanText($('#pay-amount').value);
  if (r.error) {
    err.textContent = r.error;
    return null;
  }
  return r.fen;
}

/** How each way to pay reads in the confirmation. */
const HOW = {
  card: ['by card', '刷卡'],
  alipay: ['with an Alipay QR', '用支付宝二维码'],
  wechat: ['with a WeChat Pay QR', '用微信支付二维码'],
  'code-alipay': ['from the customer’s Alipay payment code', '用客户的支付宝付款码'],
  'code-wechat': ['from the customer’s WeChat Pay payment code', '用客户的微信付款码'],
};

/**
 * Starts one payment for the selected order with `submit(idempotencyKey, orderId, amount)`, the button
 * disabled meanwhile; `seen` is what the page knows of a scan-to-pay payment before payment.get has it.
 * An amount above what is due (toTake) is not sent: the page asks first (#pay-confirm), and sends it
 * only when the operator confirms. `how`: a HOW key, for the confirmation's words.
 */
function startPayment(button, submit, seen, how = 'card') {
  const amount = amountToTake();
  if (!amount) return Promise.resolve(false);
  const orderId = state.selected;
  const dueNow = toTake(orderId);
  const run = () => submitPayment(button, submit, seen, orderId, amount);
  if (amount <= dueNow) {
    askOver(undefined);
    return run();
  }
  askOver({ orderId, amount, due: dueNow, how, run });
  return Promise.resolve(false);
}

/** Shows (or, with undefined, withdraws) the over-charge confirmation. */
function askOver(ask) {
  state.overFor = ask;
  const box = $('#pay-confirm');
  if (!box) return;
  box.hidden = !ask;
  if (!ask) {
    delete box.dataset.amount;
    return;
  }
  const o = order(ask.orderId);
  const s = state.orders.get(ask.orderId);
  const over = ask.amount - ask.due;
  box.dataset.order = ask.orderId;
  box.dataset.amount = String(ask.amount);
  box.dataset.due = String(ask.due);
  box.dataset.how = ask.how;
  const how = HOW[ask.how][lang === 'zh' ? 1 : 0];
  $('#pay-confirm-text').textContent =
    ask.due > 0
      ? L(
          `${yuan(ask.amount)} is more than the ${yuan(ask.due)} due on ${o.id}: ${yuan(over)} over the price. Charge ${yuan(ask.amount)} ${how} anyway?`,
          `${yuan(ask.amount)} 超过订单 ${o.id} 的待付金额 ${yuan(ask.due)}：超出 ${yuan(over)}。仍要${how}收取 ${yuan(ask.amount)} 吗？`,
        )
      : L(
          `Nothing is due on ${o.id} (price ${yuan(o.total)}, paid ${yuan(s?.captured ?? 0)}${s?.refunded ? `, ${yuan(s.refunded)} of it refunded on purpose` : ''}): ${yuan(ask.amount)} would all be over the price. Charge ${yuan(ask.amount)} ${how} anyway?`,
          `订单 ${o.id} 已无待付金额（价格 ${yuan(o.total)}，已付 ${yuan(s?.captured ?? 0)}${s?.refunded ? `，其中 ${yuan(s.refunded)} 已有意退款` : ''}）：${yuan(ask.amount)} 将全部超出价格。仍要${how}收取 ${yuan(ask.amount)} 吗？`,
        );
  $('#pay-confirm-yes').textContent = L(`Charge ${yuan(ask.amount)}`, `收取 ${yuan(ask.amount)}`);
  $('#pay-confirm-no').focus();
}

/** The operator confirmed the amount above due: now it is sent (for the order it was typed for). */
function confirmOver() {
  const ask = state.overFor;
  askOver(undefined);
  if (ask && ask.orderId === state.selected) void ask.run();
}

async function submitPayment(button, submit, seen, orderId, amount) {
  button.disabled = true;
  try {
    const { paymentId } = await withKey((idempotencyKey) => submit(idempotencyKey, orderId, amount));
    if (seen) state.qr.set(paymentId, { ...seen, ...state.qr.get(paymentId) });
    state.current = paymentId;
    state.payTouched = false;
    renderLive();
    await refreshPayment(paymentId);
    return true;
  } catch (e) {
    showError($('#pay-error'), e, 'sale');
    return false;
  } finally {
    button.disabled = false;
  }
}

function pay(ev) {
  ev.preventDefault();
  return startPayment($('#pay-submit'), (idempotencyKey, orderId, amount) =>
    state.pb.payment.sale({ idempotencyKey, orderId, amount, currency: CURRENCY }),
  );
}

/** "Alipay QR" / "WeChat Pay QR": a QR for the amount; the customer scans it with the app. */
function payQr(method) {
  return startPayment(
    $(`#pay-${method}`),
    (idempotencyKey, orderId, amount) =>
      state.pb.payment.qr({ idempotencyKey, orderId, amount, currency: CURRENCY, method }),
    { method, mode: 'qr' },
    method,
  );
}

/**
 * "Customer code": the payment code on the customer's phone, typed or read by a USB barcode scanner (a
 * keyboard: digits, then Enter submits the form). The digits say which provider; the field is cleared
 * at once (a payment code is a one-time credential: the page keeps it nowhere but in the pending call,
 * dropped when the operator declines an over-charge confirmation).
 */
async function payCode(ev) {
  ev.preventDefault();
  const input = $('#pay-code');
  const code = input.value.replace(/\s/g, '');
  const err = $('#pay-error');
  const method = codeMethod(code);
  if (!method) {
    err.textContent = code
      ? L(
          'That is not an Alipay or WeChat Pay payment code: scan the code on the customer’s phone again (16 to 24 digits).',
          '这不是支付宝或微信付款码：请重新扫描客户手机上的付款码（16 到 24 位数字）。',
        )
      : L(
          'Scan or type the payment code shown on the customer’s phone.',
          '请扫描或输入客户手机上显示的付款码。',
        );
    input.focus();
    return;
  }
  if (!parseYuan($('#pay-amount').value)) {
    amountToTake();
    return;
  }
  input.value = '';
  await startPayment(
    $('#code-submit'),
    (idempotencyKey, orderId, amount) =>
      state.pb.payment.qr({ idempotencyKey, orderId, amount, currency: CURRENCY, method, authCode: code }),
    { method, mode: 'code' },
    `code-${method}`,
  );
}

async function refund(ev) {
  ev.preventDefault();
  const err = $('#refund-error');
  err.textContent = '';
  const original = state.payments.get(state.refundFor);
  const parsed = parseYuanText($('#refund-amount').value);
  if (!original || parsed.error) {
    err.textContent = parsed.error ?? L('Enter the amount to refund in yuan.', '请输入退款金额（元）。');
    return;
  }
  const amount = parsed.fen;
  const refundable = original.capturedAmount - original.refundedAmount;
  if (amount > refundable) {
    err.textContent = L(
      `At most ${yuan(refundable)} can be refunded on this payment.`,
      `此交易最多可退款 ${yuan(refundable)}。`,
    );
    return;
  }
  $('#refund-submit').disabled = true;
  try {
    let submitted;
    try {
      submitted = await withKey((idempotencyKey) =>
        state.pb.payment.refund({ paymentId: original.paymentId, amount, idempotencyKey }),
      );
    } catch (e) {
      // The original's card number is no longer kept (its batch settled): the card must be presented.
      if (!(e instanceof RpcError && e.code === 'card_required')) throw e;
      err.textContent = L(
        `The card is needed for this refund: present it on the ${isZvt() ? 'terminal' : 'reader'}.`,
        `此退款需要原卡：请在${isZvt() ? '终端' : '读卡器'}上出示。`,
      );
      submitted = await withKey((idempotencyKey) =>
        state.pb.payment.refund({ paymentId: original.paymentId, amount, idempotencyKey, cardPresent: true }),
      );
    }
    state.current = submitted.paymentId;
    state.refundFor = undefined;
    renderRefundForm();
    await refreshPayment(submitted.paymentId);
  } catch (e) {
    showError(err, e, 'refund');
  } finally {
    $('#refund-submit').disabled = false;
  }
}

/** Voids a completed payment (the whole amount; same batch only, else refund it). */
async function voidPayment(id) {
  const original = state.payments.get(id);
  state.voidFor = undefined;
  const err = $('#order-error');
  err.textContent = '';
  try {
    const submitted = await withKey((idempotencyKey) =>
      state.pb.payment.void({ paymentId: id, idempotencyKey }),
    );
    state.current = submitted.paymentId;
    await refreshPayment(submitted.paymentId);
  } catch (e) {
    showError(err, e, original?.kind === 'preauth' ? 'preauth_void' : 'void');
    render();
  }
}

async function onLiveAction(ev) {
  const b = ev.target.closest('button[data-action]');
  if (!b) return;
  const paymentId = state.current;
  b.disabled = true;
  try {
    if (b.dataset.action === 'cancel') await state.pb.payment.cancel({ paymentId });
    if (b.dataset.action === 'accept') await state.pb.payment.acceptPartial({ paymentId });
    if (b.dataset.action === 'decline') await state.pb.payment.declinePartial({ paymentId });
    await refreshPayment(paymentId);
  } catch (e) {
    showError($('#live-error'), e, b.dataset.action === 'cancel' ? 'sale' : b.dataset.action);
  } finally {
    b.disabled = false;
  }
}

function onOrderAction(ev) {
  const b = ev.target.closest('button[data-action]');
  if (!b) return;
  const id = b.dataset.id;
  switch (b.dataset.action) {
    case 'receipt':
      void showReceipt(id);
      break;
    case 'sign':
      openSignature(id);
      break;
    case 'refund':
      state.refundFor = id;
      renderRefundForm();
      $('#refund-amount').focus();
      break;
    case 'void':
      // Two steps: a void gives the whole payment back.
      state.voidFor = id;
      render();
      break;
    case 'void-keep':
      state.voidFor = undefined;
      render();
      break;
    case 'void-confirm':
      void voidPayment(id);
      break;
    case 'follow':
      state.current = id;
      renderLive();
      break;
  }
}

function selectOrder(id) {
  state.selected = id;
  state.refundFor = undefined;
  state.voidFor = undefined;
  askOver(undefined);
  $('#order-error').textContent = '';
  $('#pay-error').textContent = '';
  state.payTouched = false;
  setPayAmount(toTake(id));
  scopePanels(id);
  render();
  renderRefundForm();
}

/**
 * The signature and receipt panels belong to the open order: switching orders closes a pad waiting for
 * another order's payment and a receipt of another order's payment (no signing for CAR-2024-0002 while
 * CAR-2024-0003 is open).
 */
function scopePanels(orderId) {
  const sign = $('#sign');
  if (sign.dataset.paymentId && state.payments.get(sign.dataset.paymentId)?.orderId !== orderId) {
    state.signFor = undefined;
    pad.clear();
    delete sign.dataset.paymentId;
    sign.dataset.order = orderId;
    $('#sign-for').textContent = L(
      `Order ${orderId}: after a card payment, or with “Sign” on one of its payments, the customer signs here.`,
      `订单 ${orderId}：刷卡后，或在交易上点“签名”，客户在此签名。`,
    );
    setSignStatus('idle', '');
    updateSignButtons();
  }
  const receipt = $('#receipt');
  if (receipt.dataset.paymentId && state.payments.get(receipt.dataset.paymentId)?.orderId !== orderId) {
    paint(
      receipt,
      `<h2 id="receipt-h">${esc(t('receipt'))}</h2><p class="muted">${esc(L(`Open a receipt of ${orderId} from its payments.`, `请在订单 ${orderId} 的交易中打开小票。`))}</p>`,
    );
    delete receipt.dataset.paymentId;
    delete receipt.dataset.source;
  }
  receipt.dataset.order = orderId;
}

function setPayAmount(fen) {
  const input = $('#pay-amount');
  if (input) input.value = fen > 0 ? toInput(fen) : '';
}

// ------------------------------------------------------------------ signature

const pad = { drawing: false, ink: false, ctx: undefined };

function setupPad() {
  const canvas = $('#sign-pad');
  const ctx = canvas.getContext('2d');
  pad.ctx = ctx;
  const clear = () => {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    pad.ink = false;
    updateSignButtons();
  };
  clear();
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [
      ((e.clientX - r.left) * canvas.width) / r.width,
      ((e.clientY - r.top) * canvas.height) / r.height,
    ];
  };
  canvas.addEventListener('pointerdown', (e) => {
    if (!state.signFor) return;
    pad.drawing = true;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    ctx.beginPath();
    ctx.moveTo(x, y);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!pad.drawing) return;
    const [x, y] = at(e);
    ctx.lineWidth = 3;
    ctx.lineCap = 'round';
    ctx.strokeStyle = '#111';
    ctx.lineTo(x, y);
    ctx.stroke();
    pad.ink = true;
  });
  const end = () => {
    pad.drawing = false;
    updateSignButtons();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  $('#sign-clear').addEventListener('click', clear);
  $('#sign-save').addEventListener('click', () => void saveSignature());
  pad.clear = clear;
}

function updateSignButtons() {
  $('#sign-save').disabled = !(state.signFor && pad.ink);
}

function openSignature(paymentId) {
  const p = state.payments.get(paymentId);
  state.signFor = paymentId;
  const sign = $('#sign');
  sign.dataset.paymentId = paymentId;
  sign.dataset.order = p?.orderId ?? '';
  pad.clear();
  $('#sign-for').textContent = p
    ? L(
        `Customer signs for ${yuan(p.approvedAmount ?? p.amount)} (payment …${shortId(paymentId)}, order ${p.orderId ?? '–'}).`,
        `客户为 ${yuan(p.approvedAmount ?? p.amount)} 签名（交易 …${shortId(paymentId)}，订单 ${p.orderId ?? '–'}）。`,
      )
    : L(`Customer signs for payment …${shortId(paymentId)}.`, `客户为交易 …${shortId(paymentId)} 签名。`);
  setSignStatus('idle', '');
  updateSignButtons();
}

function setSignStatus(status, text) {
  const el = $('#sign-status');
  el.dataset.status = status;
  el.textContent = text;
}

async function saveSignature() {
  const paymentId = state.signFor;
  if (!paymentId) return;
  const dataUrl = $('#sign-pad').toDataURL('image/png');
  state.signatures.set(paymentId, dataUrl);
  $('#sign-save').disabled = true;
  if (state.has.signature === false) return signatureUnavailable();
  try {
    // PNG as a data: URI (or plain base64); svg is the other format the daemon takes.
    await state.pb.call('payment.signature', { paymentId, png: dataUrl });
    state.has.signature = true;
    state.signed.set(paymentId, true);
    state.signFor = undefined;
    setSignStatus(
      'stored',
      L(
        'Signature stored with the payment (on the merchant copy of the receipt).',
        '签名已随交易保存（显示在商户联小票上）。',
      ),
    );
  } catch (e) {
    if (isMissingMethod(e)) {
      state.has.signature = false;
      signatureUnavailable();
    } else if (e instanceof RpcError && e.code === 'signature_exists') {
      // Another signature is on file (signed before, e.g. before a reload): that one stays.
      state.signatures.delete(paymentId);
      state.signed.set(paymentId, true);
      state.signFor = undefined;
      setSignStatus(
        'stored',
        L(
          'This payment was already signed: the signature on file stays.',
          '此交易已签名：保留已存档的签名。',
        ),
      );
    } else {
      state.signatures.delete(paymentId);
      setSignStatus('error', `${L('Not stored', '未保存')}: ${explain(e)}`);
    }
  } finally {
    updateSignButtons();
    render();
  }
}

function signatureUnavailable() {
  setSignStatus(
    'unavailable',
    'Not available: this daemon has no payment.signature method yet. The signature is kept on this page only (shown with the payment and on the page’s receipt), not stored by posbridge.',
  );
  render();
}

// ------------------------------------------------------------------ receipt

async function showReceipt(paymentId, copy = 'customer') {
  const el = $('#receipt');
  const p = state.payments.get(paymentId) ?? (await state.pb.payment.get({ paymentId }));
  // Only a receipt of the open order (the operator may have switched orders meanwhile).
  const stale = () => p.orderId !== state.selected;
  if (stale()) return;
  let html;
  if (state.has.receipt !== false) {
    try {
      const r = await state.pb.call('receipt.get', { paymentId, copy, format: 'html' });
      state.has.receipt = true;
      html = r.html;
    } catch (e) {
      if (isMissingMethod(e)) state.has.receipt = false;
      else if (stale()) return;
      else {
        paint(
          el,
          `<h2 id="receipt-h">${esc(t('receipt'))}</h2><p class="muted">${esc(L('No receipt', '无法获取小票'))}: ${esc(explain(e))}</p>`,
        );
        el.dataset.source = 'error';
        el.dataset.paymentId = paymentId;
        return;
      }
    }
  }
  if (stale()) return;
  el.dataset.order = p.orderId ?? '';
  if (html !== undefined) {
    paint(
      el,
      `<h2 id="receipt-h">${esc(t('receipt'))}</h2>
       <div class="row">
         <span class="muted small">From the daemon (receipt.get), ${esc(copy)} copy.</span>
         <button type="button" class="small secondary" data-copy="customer" aria-pressed="${copy === 'customer'}">Customer copy</button>
         <button type="button" class="small secondary" data-copy="merchant" aria-pressed="${copy === 'merchant'}">Merchant copy</button>
       </div>
       <iframe id="receipt-frame" title="receipt" sandbox="allow-same-origin" data-payment-id="${esc(paymentId)}"></iframe>`,
    );
    const frame = $('#receipt-frame');
    // Sized to the slip (the signature at its foot stays visible): the page reads the frame's height,
    // which needs same-origin; no scripts run in it (no allow-scripts).
    frame.addEventListener('load', () => {
      const doc = frame.contentDocument;
      if (doc) frame.style.height = `${doc.documentElement.scrollHeight + 2}px`;
    });
    frame.srcdoc = `<!doctype html><meta charset="utf-8"><style>${RECEIPT_CSS}</style>${html}`;
    el.dataset.source = 'daemon';
  } else {
    paint(
      el,
      `<h2 id="receipt-h">${esc(t('receipt'))}</h2>
       <p class="muted small">receipt.get is not available in this daemon: a slip built by the page from payment.get.</p>
       ${slip(p)}`,
    );
    el.dataset.source = 'page';
  }
  el.dataset.paymentId = paymentId;
  el.scrollIntoView({ block: 'nearest' });
}

/**
 * The daemon's receipt fragment (section.posbridge-receipt, dl rows, div.signature) as a paper slip:
 * monospace, centred headings, dashed rules, the signature image full width on the merchant copy.
 */
const RECEIPT_CSS = `
  html { background: #fffef8; }
  body { margin: 0; padding: 12px 14px; font: 13px/1.45 ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'Noto Sans Mono CJK SC', monospace; color: #111; }
  .posbridge-receipt h1 { font-size: 15px; text-align: center; margin: 0 0 2px; letter-spacing: 0.05em; }
  .posbridge-receipt .copy, .posbridge-receipt .reprint { text-align: center; margin: 0 0 8px; }
  .posbridge-receipt .reprint { font-weight: bold; }
  .posbridge-receipt dl { display: grid; grid-template-columns: auto 1fr; gap: 1px 10px; margin: 0; padding: 8px 0; border-top: 1px dashed #777; }
  .posbridge-receipt dt { color: #444; }
  .posbridge-receipt dd { margin: 0; text-align: right; overflow-wrap: anywhere; }
  .posbridge-receipt pre.terminal-receipt { white-space: pre-wrap; margin: 0; border-top: 1px dashed #777; padding-top: 8px; }
  .posbridge-receipt .signature { border-top: 1px dashed #777; padding-top: 8px; }
  .posbridge-receipt .signature p { margin: 0 0 4px; }
  .posbridge-receipt .signature img { display: block; width: 100%; height: auto; max-height: 140px; object-fit: contain; border-bottom: 1px solid #111; background: #fff; }
  .posbridge-receipt .signature-line { border-bottom: 1px solid #111; height: 48px; margin: 0; }
  .posbridge-receipt .acknowledge { font-size: 11px; color: #444; margin: 6px 0 0; }
`;

const KIND_TITLE = { sale: 'SALE', refund: 'REFUND', void: 'VOID', preauth: 'PRE-AUTH', capture: 'CAPTURE' };

/** The page's own slip: only what the protocol gives (masked PAN, device account last four). */
function slip(p) {
  const c = p.card;
  const rows = [
    ['Merchant', 'posbridge demo motors'],
    ['Order', p.orderId ?? '–'],
    ['Amount', `${yuan(p.approvedAmount ?? p.amount)} ${p.currency}`],
  ];
  if (c?.kind === 'device_token') {
    rows.push(['Paid with', `${c.scheme.toUpperCase()} device token`]);
    if (c.deviceAccountLast4) rows.push(['Device account', `•••• ${c.deviceAccountLast4}`]);
    if (c.fundingLast4) rows.push(['Card', `•••• ${c.fundingLast4}`]);
  } else if (c) {
    rows.push(['Card', `${c.scheme.toUpperCase()} ${c.panDisplay}`], ['Entry', c.kind]);
  }
  const qr = qrOf(p);
  if (qr) {
    rows.push(['Paid with', `${QR_NAMES[qr.method]} (${qr.mode === 'code' ? 'payment code' : 'QR'})`]);
    if (qr.tradeNo) rows.push(['Trade no.', qr.tradeNo]);
    if (qr.buyer) rows.push(['Buyer', qr.buyer]);
  }
  rows.push(
    ['Auth code', p.host?.authCode ?? '–'],
    ['RRN', p.host?.rrn ?? '–'],
    ['Batch / STAN', `${p.host?.batch ?? '–'} / ${p.host?.stan ?? '–'}`],
    ['Date', new Date(p.updatedAt).toLocaleString()],
    ['Result', p.state.toUpperCase()],
  );
  if (p.originalId) rows.push(['Original', `…${shortId(p.originalId)}`]);
  const sig = state.signatures.get(p.paymentId);
  return `<div class="slip" data-payment-id="${esc(p.paymentId)}">
    <h3>${esc(KIND_TITLE[p.kind] ?? p.kind.toUpperCase())}</h3>
    <dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
    ${sig ? `<img alt="customer signature" src="${esc(sig)}" />` : ''}
  </div>`;
}

// ------------------------------------------------------------------ rendering

function render() {
  renderOrders();
  renderOrder();
  renderLive();
}

function renderOrders() {
  paint(
    $('#order-list'),
    ORDERS.map((o) => {
      const d = due(o.id);
      const over = overPaid(o.id);
      const known = state.orders.has(o.id);
      const text = !known
        ? '…'
        : over
          ? t('over', yuan(over))
          : d === 0
            ? t('paidInFull')
            : t('dueAmount', yuan(d));
      return `<li><button type="button" data-order="${esc(o.id)}" aria-pressed="${o.id === state.selected}">
        <strong>${esc(o.car)}</strong>
        <span class="muted small">${esc(o.id)} · ${esc(o.customer)}</span>
        <span class="due num" data-paid="${over ? 'over' : known && d === 0}">${esc(text)}</span>
      </button></li>`;
    }).join(''),
  );
}

function renderOrder() {
  const o = order(state.selected);
  const s = state.orders.get(o.id);
  const d = due(o.id);
  const take = toTake(o.id);
  const over = overPaid(o.id);
  $('#order-title').textContent = `${o.id} · ${o.car}`;
  $('#order-sub').textContent = `${o.detail} · customer ${o.customer}`;
  const root = $('#order');
  root.dataset.order = o.id;
  root.dataset.due = String(d);
  root.dataset.toTake = String(take);
  root.dataset.over = String(over);
  paint(
    $('#order-totals'),
    `<div><dt>${esc(t('price'))}</dt><dd class="num">${yuan(o.total)}</dd></div>
     <div><dt>${esc(t('paid'))}</dt><dd class="num" id="order-paid">${yuan(s?.captured ?? 0)}</dd></div>
     <div><dt>${esc(t('refunded'))}</dt><dd class="num" id="order-refunded">${yuan(s?.refunded ?? 0)}</dd></div>
     <div><dt>${esc(t('due'))}</dt><dd class="num" id="order-due"${over ? ' data-over="true"' : ''}>${over ? esc(t('over', yuan(over))) : d === 0 && s ? esc(t('paidInFull')) : yuan(d)}</dd></div>`,
  );
  // Refunded money in the balance is not asked for again (toTake); over-payment is a warning, not "paid".
  const refundedInDue = Math.min(
    s?.refunded ?? 0,
    Math.max(0, d - Math.max(0, o.total - (s?.captured ?? 0))),
  );
  paint(
    $('#order-notes'),
    [
      over
        ? `<p class="warn" id="order-over" role="alert">Paid ${esc(yuan(s.net))}${s.refunded ? ' (after refunds)' : ''} on a ${esc(yuan(o.total))} price: ${esc(yuan(over))} over. Refund the difference to the customer if it was not meant.</p>`
        : '',
      refundedInDue > 0
        ? `<p class="muted small" id="order-due-note">${esc(yuan(refundedInDue))} of the balance was refunded to the customer on purpose: it is not due again, so the page does not propose it (charging it asks for your confirmation).</p>`
        : '',
    ].join(''),
  );
  const ops = [...(s?.operations ?? [])].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  paint(
    $('#order-payments'),
    ops.length ? ops.map(paymentRow).join('') : `<li class="muted">${esc(t('noPayments'))}</li>`,
  );
}

function paymentRow(p) {
  const c = p.card;
  const qr = qrOf(p);
  const card = qr
    ? `${qrName(qr.method)} ${qr.mode === 'code' ? (lang === 'zh' ? '付款码' : 'payment code') : lang === 'zh' ? '二维码' : 'QR'}${qr.buyer ? ` ${qr.buyer}` : ''}`
    : c
      ? c.kind === 'device_token'
        ? `device account •••• ${c.deviceAccountLast4 ?? c.panDisplay.slice(-4)}`
        : `${c.panDisplay} ${c.kind}`
      : '';
  const refundable = p.capturedAmount - p.refundedAmount;
  const signed = signable(p) ? signedState(p.paymentId) : undefined;
  // The image drawn here, shown only once the daemon keeps it (or when it cannot: page-only).
  const sig = signed ? state.signatures.get(p.paymentId) : undefined;
  // Scan-to-pay payments are given back by refund (the page offers no void for them).
  const voidable =
    !qr &&
    (p.kind === 'sale' || p.kind === 'capture') &&
    p.state === 'completed' &&
    !p.voided &&
    !p.refundedAmount;
  const confirming = voidable && state.voidFor === p.paymentId;
  const actions = [
    `<button type="button" class="small secondary" data-action="follow" data-id="${esc(p.paymentId)}">${esc(t('progress'))}</button>`,
    // Only completed payments have receipts (receipt.get answers wrong_state for the others).
    p.state === 'completed'
      ? `<button type="button" class="small secondary" data-action="receipt" data-id="${esc(p.paymentId)}">${esc(t('receipt'))}</button>`
      : '',
    // "Sign" only when the daemon says no signature is on file (not while it is being asked).
    signable(p) && signed === false
      ? `<button type="button" class="small secondary" data-action="sign" data-id="${esc(p.paymentId)}">${esc(t('sign'))}</button>`
      : '',
    (p.kind === 'sale' || p.kind === 'capture') && p.state === 'completed' && refundable > 0 && !p.voided
      ? `<button type="button" class="small danger" data-action="refund" data-id="${esc(p.paymentId)}">${esc(t('refundBtn'))}</button>`
      : '',
    voidable && !confirming
      ? `<button type="button" class="small danger" data-action="void" data-id="${esc(p.paymentId)}">${esc(t('voidBtn'))}</button>`
      : '',
    confirming
      ? `<span class="confirm">${esc(t('voidAll', yuan(p.approvedAmount ?? p.amount)))}</span>
         <button type="button" class="small danger" data-action="void-confirm" data-id="${esc(p.paymentId)}">${esc(t('voidConfirm'))}</button>
         <button type="button" class="small secondary" data-action="void-keep" data-id="${esc(p.paymentId)}">${esc(t('keep'))}</button>`
      : '',
  ].join('');
  const words = stateWords(p);
  const notes = [
    p.refundedAmount ? t('refundedOf', yuan(p.refundedAmount), yuan(p.capturedAmount)) : '',
    p.voided ? t('voided') : '',
    p.originalId ? t('ofPayment', shortId(p.originalId)) : '',
  ].filter(Boolean);
  const why = p.final ? (qr ? qrClosedText(p, qr) : failureText(p)) : '';
  // The code for support: shown when there is more than the state (a reason, a response code).
  const code = words.code !== p.state ? words.code : '';
  return `<li class="payment" data-payment-id="${esc(p.paymentId)}" data-kind="${esc(p.kind)}" data-state="${esc(p.state)}" data-method="${esc(qr?.method ?? 'card')}" data-amount="${esc(p.approvedAmount ?? p.amount)}" data-signed="${signed === undefined ? '' : signed}">
    <div class="line">
      <span class="badge" data-state="${esc(p.state)}" data-tone="${esc(words.tone)}">${esc(stateLabel(p.state, lang))}</span>
      <span class="num">${p.kind === 'refund' ? '−' : ''}${yuan(p.approvedAmount ?? p.amount)}</span>
      <span class="who">${esc(kindLabel(p.kind))} · ${esc(card)} · ${esc(time(p.createdAt))}</span>
      ${sig ? `<img class="sig" alt="signed" src="${esc(sig)}" />` : signed ? `<span class="signed">${esc(t('signed'))}</span>` : ''}
    </div>
    <div class="actions">${actions}</div>
    ${notes.length || code ? `<div class="muted small notes">${esc(notes.join(' · '))} ${codeHtml(code)}</div>` : ''}
    ${why ? `<div class="explain small" data-role="why" data-tone="${esc(words.tone)}">${esc(why)}</div>` : ''}
  </li>`;
}

function renderRefundForm() {
  const form = $('#refund-form');
  const p = state.payments.get(state.refundFor);
  form.hidden = !p;
  if (!p) return;
  const refundable = p.capturedAmount - p.refundedAmount;
  $('#refund-label').textContent = L(
    `Refund part of ${yuan(p.capturedAmount)} (payment …${shortId(p.paymentId)}; up to ${yuan(refundable)})`,
    `退还 ${yuan(p.capturedAmount)} 中的部分（交易 …${shortId(p.paymentId)}；最多 ${yuan(refundable)}）`,
  );
  $('#refund-amount').value = toInput(refundable);
  $('#refund-error').textContent = '';
}

const STEPS = ['card', 'pin', 'processing', 'remove', 'result'];

function stepOf(progress) {
  switch (progress) {
    case 'present_card':
    case 'card_detected':
      return 'card';
    case 'pin_entry_started':
    case 'pin_digit_entered':
      return 'pin';
    case 'processing':
      return 'processing';
    case 'remove_card':
      return 'remove';
    default:
      return 'card';
  }
}

/** A reader prompt in the page's language (PIN digits as dots, never the digits). */
function promptText(e) {
  if (!e?.progress) return t('starting');
  const words = describeProgress(e.progress, lang);
  return e.progress === 'pin_digit_entered' ? `${words} ${'•'.repeat(e.digits ?? 0)}` : words;
}

/**
 * After how long a host wait gets its count-up ("Waiting for the bank… 12 s"): 3 s, or the page's
 * `?waitNoticeMs=` (the browser suite runs it short).
 */
const WAIT_NOTICE_MS = (() => {
  const m = /[?&]waitNoticeMs=(\d+)/.exec(location.search);
  return m ? Number(m[1]) : 3000;
})();

/** Whole seconds a payment has been with the bank (terminal, provider), or undefined when it is not. */
function waitingFor(id, p, s) {
  if (s !== 'authorizing') return undefined;
  const since = state.waitSince.get(id) ?? (p?.updatedAt ? Date.parse(p.updatedAt) : undefined);
  if (since === undefined) return undefined;
  const ms = Date.now() - since;
  return ms >= WAIT_NOTICE_MS ? Math.floor(ms / 1000) : undefined;
}

/** Why a payment ended without money moving, in the cashier's words ('' when there is nothing to add). */
function failureText(p) {
  if (p.state !== 'failed' && p.state !== 'declined') return '';
  if (p.reason === 'not_supported_by_terminal') return notSupportedText(p.kind);
  const w = stateWords(p);
  return [w.title, w.detail].filter(Boolean).join(lang === 'zh' ? '。' : '. ');
}

/** The note under the live prompt: what happened and what happens next. */
function explainState(p, timeline) {
  const zvt = isZvt();
  if (p.state === 'completed' && timeline.includes('unknown'))
    return t(zvt ? 'confirmedAfterUnknownZvt' : 'confirmedAfterUnknown');
  if (p.state === 'reversed' && timeline.includes('unknown') && !p.reason?.startsWith('cancelled'))
    return t('reversedAfterUnknown');
  if (p.reason === 'not_supported_by_terminal' && p.state === 'failed') return notSupportedText(p.kind);
  if (p.state === 'completed') return '';
  return stateWords(p).detail ?? '';
}

/**
 * How each step of the live panel looks. A payment that did not end well never shows all green: the
 * result step takes the outcome's tone (warning, error, or stopped), and so does the step where it went
 * wrong (the bank for a decline, a lost answer or a reversal; the card for a cancel before the bank).
 */
function stepStatuses(s, final, prompt, seen, timeline) {
  const active = final ? STEPS.length - 1 : prompt ? STEPS.indexOf(stepOf(prompt.progress)) : 0;
  const statuses = STEPS.map((k, i) => {
    if (k === 'result') return final ? 'done' : 'pending';
    if (final || i < active) return seen.has(k) ? 'done' : 'skipped';
    if (i === active && prompt && !['authorizing', 'unknown', 'reversing'].includes(s)) return 'active';
    if (i === active && !prompt) return 'active';
    return 'pending';
  });
  const tone = final ? stateTone(s) : ['unknown', 'reversing'].includes(s) ? 'warning' : undefined;
  if (!tone || tone === 'success') return statuses;
  const bad = tone === 'neutral' ? 'stopped' : tone;
  if (final) statuses[STEPS.length - 1] = bad;
  const atBank =
    timeline.includes('authorizing') || timeline.includes('unknown') || ['unknown', 'reversing'].includes(s);
  const lastSeen = [...STEPS].reverse().find((k) => seen.has(k));
  const where =
    s === 'declined' || timeline.includes('unknown') || (atBank && !seen.has('remove'))
      ? 'processing'
      : (lastSeen ?? 'card');
  statuses[STEPS.indexOf(where)] = bad;
  return statuses;
}

/** The durable states a payment went through, as labelled steps (data-state keeps the code). */
function timelineHtml(timeline) {
  const items = timeline.map(
    (st, i) =>
      `<li data-state="${esc(st)}" data-tone="${esc(i === timeline.length - 1 || FINAL.has(st) || ['unknown', 'reversing'].includes(st) ? stateTone(st) : 'progress')}">${esc(stateLabel(st, lang))}</li>`,
  );
  return `<ol class="timeline" id="live-timeline" data-states="${esc(timeline.join(' '))}">${items.join('')}</ol>`;
}

/** The sticky bar at the top on a phone: the followed payment's prompt or outcome, without scrolling. */
function renderBar(id, big, words, waiting) {
  const bar = $('#status-bar');
  if (!bar) return;
  bar.hidden = !id;
  if (!id) return;
  bar.dataset.paymentId = id;
  bar.dataset.tone = words.tone;
  paint(
    bar,
    `<span class="bar-prompt" id="bar-prompt">${esc(big)}</span>
     ${waiting !== undefined ? `<span class="bar-wait" id="bar-wait">${esc(waiting)}</span>` : ''}
     ${codeHtml(words.code)}`,
  );
}

function renderLive() {
  const el = $('#live');
  const id = state.current;
  renderQrSim();
  if (!id) return renderBar(undefined);
  const p = state.payments.get(id);
  const timeline = state.timeline.get(id) ?? [];
  const s = p?.state ?? timeline[timeline.length - 1] ?? 'created';
  const qr = qrOf(p, id);
  if (qr) return renderQrLive(el, id, p, s, timeline, qr);
  delete el.dataset.qr;
  const final = FINAL.has(s);
  const prompt = state.prompt.get(id);
  const seen = state.steps.get(id) ?? new Set();
  const statuses = stepStatuses(s, final, prompt, seen, timeline);
  const steps = STEPS.map((k, i) => {
    const label = k === 'result' && final ? stateLabel(s, lang) : t(`steps.${k}`);
    return `<li data-step="${k}" data-status="${statuses[i]}">${esc(label)}</li>`;
  }).join('');
  const words = describeState(s, lang, p?.reason ?? null, p?.host?.responseCode ?? null, {
    via: viaOf(p, id),
  });
  const secs = waitingFor(id, p, s);
  const waiting = secs !== undefined ? describeWaiting(secs, lang, { via: viaOf(p, id) }) : undefined;
  const big =
    final || ['unknown', 'reversing', 'partially_approved', 'approved', 'completing'].includes(s)
      ? `${words.title}${s === 'completed' && p ? ` ${yuan(p.approvedAmount ?? p.amount)}` : ''}`
      : (waiting ?? (prompt ? promptText(prompt) : words.title));
  const note = p ? explainState({ ...p, state: s }, timeline) : '';
  const buttons = [
    !final && s !== 'unknown' && s !== 'reversing'
      ? `<button type="button" class="danger" data-action="cancel">${esc(t('cancelPayment'))}</button>`
      : '',
    s === 'partially_approved' && p
      ? `<button type="button" data-action="accept">${esc(t('accept', yuan(p.approvedAmount)))}</button>
         <button type="button" class="secondary" data-action="decline">${esc(t('decline'))}</button>`
      : '',
  ].join('');
  el.dataset.paymentId = id;
  el.dataset.state = s;
  el.dataset.tone = words.tone;
  if (waiting !== undefined) el.dataset.waiting = String(secs);
  else delete el.dataset.waiting;
  renderBar(id, big, words, s === 'authorizing' && waiting && big !== waiting ? waiting : undefined);
  paint(
    el,
    `<h2 id="live-h">${esc(t(isZvt() ? 'zvtHeading' : 'readerHeading'))}</h2>
     <p class="muted small">${p ? `${esc(kindLabel(p.kind))} ${yuan(p.amount)} · ${esc(orderWord())} ${esc(p.orderId ?? '–')} · …${esc(shortId(id))}` : `…${esc(shortId(id))}`}</p>
     <ol class="steps">${steps}</ol>
     <p class="prompt" id="live-prompt" data-tone="${esc(words.tone)}">${esc(big)}</p>
     ${waiting !== undefined && big !== waiting ? `<p class="wait" id="live-wait">${esc(waiting)}</p>` : ''}
     <p class="status-line"><span class="badge" id="live-state" data-state="${esc(s)}" data-tone="${esc(words.tone)}">${esc(stateLabel(s, lang))}</span>
        ${codeHtml(words.code)}</p>
     ${note ? `<p class="explain" id="live-note" data-tone="${esc(words.tone)}">${esc(note)}</p>` : ''}
     ${timelineHtml(timeline)}
     <div class="row">${buttons}</div>
     <p id="live-error" class="muted"></p>`,
  );
}

/** The operation kinds as the cashier calls them (one payment). */
const KIND_LABEL = {
  sale: ['sale', '消费'],
  refund: ['refund', '退款'],
  void: ['void', '撤销'],
  preauth: ['pre-auth', '预授权'],
  capture: ['capture', '预授权完成'],
  preauth_void: ['pre-auth release', '预授权撤销'],
  balance: ['balance', '余额查询'],
};
const kindLabel = (k) => (KIND_LABEL[k] ? KIND_LABEL[k][lang === 'zh' ? 1 : 0] : k);
const orderWord = () => (lang === 'zh' ? '订单' : 'order');

/** Scan-to-pay providers in the cashier's words. */
const qrName = (method) => (lang === 'zh' ? { alipay: '支付宝', wechat: '微信支付' } : QR_NAMES)[method];

/** Why a scan-to-pay payment ended without the money staying taken, in the cashier's words. */
function qrClosedText(p, qr) {
  const name = qrName(qr.method);
  const r = p.reason ?? '';
  const zh = lang === 'zh';
  if (p.state === 'cancelled') {
    if (r === 'qr_expired')
      return zh
        ? `${name}二维码在客户付款前已过期：未扣款。`
        : `The ${name} QR expired before the customer paid: nothing was charged.`;
    if (r === 'cancelled_by_operator')
      return zh
        ? `收银台已取消：${name}${qr.mode === 'code' ? '付款' : '二维码'}已关闭，未扣款。`
        : `Cancelled at the desk: the ${name} ${qr.mode === 'code' ? 'payment' : 'QR'} is closed, nothing was charged.`;
    if (r === 'qr_paying_timeout')
      return zh
        ? `客户未及时在${name}中确认：交易已取消，未扣款。`
        : `The customer did not confirm in ${name} in time: the payment is cancelled, nothing was charged.`;
    return zh
      ? `${name}交易已关闭（客户取消或已过期）：未扣款。`
      : `The ${name} payment was closed (the customer cancelled, or it expired): nothing was charged.`;
  }
  if (p.state === 'reversed')
    return zh
      ? `${name}交易已撤销：款项退回客户。`
      : `The ${name} payment was undone: the money goes back to the customer.`;
  if (p.state === 'declined') {
    const why = r ? describeReason(r, lang) : '';
    const again = qr.mode === 'code';
    return zh
      ? `${name}拒绝了此交易：${why}未扣款。${again ? '请客户刷新付款码或换其他方式付款。' : ''}`
      : `${name} refused this payment${why ? `: ${why}` : '.'} Nothing was charged.${again ? ' Ask the customer to refresh the payment code, or pay another way.' : ''}`;
  }
  if (p.state === 'failed')
    return zh
      ? `请求未到达${name}：未扣款。请重试。`
      : `The request never reached ${name}: nothing was charged. Try again.`;
  if (p.state === 'needs_attention')
    return zh
      ? `系统无法确认或关闭此${name}交易，请后台向${name}核查。`
      : `posbridge could not confirm or close this ${name} payment. The back office must check it with ${name}.`;
  return '';
}

/**
 * The live panel for a scan-to-pay payment: the QR to scan while it is open (waiting), then paid or
 * closed, in the cashier's words. `data-qr` says which (waiting, paid, closed) for tests and styles.
 */
function renderQrLive(el, id, p, s, timeline, qr) {
  const name = qrName(qr.method);
  const zh = lang === 'zh';
  const final = FINAL.has(s);
  const amount = yuan(p?.approvedAmount ?? p?.amount ?? 0);
  const refund = p?.kind === 'refund';
  const phase = refund ? 'refund' : !final ? 'waiting' : s === 'completed' ? 'paid' : 'closed';
  const words = describeState(s, lang, p?.reason ?? null, p?.host?.responseCode ?? null, { via: qr.method });
  let big;
  if (refund)
    big =
      s === 'completed'
        ? zh
          ? `已退款 ${amount} 至客户的${name}`
          : `Refunded ${amount} to the customer’s ${name}`
        : final
          ? zh
            ? `${name}退款未成功（${stateLabel(s, lang)}）。`
            : `The refund through ${name} did not go through (${stateLabel(s, lang)}).`
          : zh
            ? `正在通过${name}退款 ${amount}…`
            : `Refunding ${amount} through ${name}…`;
  else if (s === 'completed')
    big = zh
      ? `${name}已付款：${amount}${qr.buyer ? `（${qr.buyer}）` : ''}`
      : `Paid with ${name}: ${amount}${qr.buyer ? ` (${qr.buyer})` : ''}`;
  else if (final) big = qrClosedText({ ...p, state: s }, qr) || words.title;
  else if (s === 'unknown') big = words.title;
  else if (qr.mode === 'code')
    big = zh
      ? `等待中：客户正在手机${name}上确认 ${amount}…`
      : `Waiting: the customer confirms ${amount} in ${name} on the phone…`;
  else if (qr.qrContent)
    big = zh
      ? `等待中：客户用${name}扫描此码并支付 ${amount}`
      : `Waiting: the customer scans this code with ${name} and pays ${amount}`;
  else big = zh ? `正在生成${name}二维码…` : `Creating the ${name} QR…`;
  const expires =
    !final && !refund && qr.mode === 'qr' && qr.expiresAt
      ? zh
        ? `二维码将于 ${time(qr.expiresAt)} 过期。`
        : `The code expires at ${time(qr.expiresAt)}.`
      : '';
  const image =
    !final && !refund && qr.mode === 'qr' && qr.qrContent
      ? `<img id="live-qr" class="qr" width="240" height="240" alt="${esc(name)} QR code for ${esc(amount)}" src="/demo/qr.svg?text=${esc(encodeURIComponent(qr.qrContent))}" />`
      : '';
  const cancel =
    !final && !refund && s !== 'unknown' && s !== 'reversing'
      ? `<button type="button" class="danger" data-action="cancel">${esc(t(qr.mode === 'qr' ? 'cancelQr' : 'cancelPayment'))}</button>`
      : '';
  el.dataset.paymentId = id;
  el.dataset.state = s;
  el.dataset.qr = phase;
  el.dataset.tone = words.tone;
  delete el.dataset.waiting;
  renderBar(id, big, words, undefined);
  paint(
    el,
    `<h2 id="live-h">${esc(name)} ${qr.mode === 'code' ? (zh ? '付款码' : 'payment code') : zh ? '二维码' : 'QR'}</h2>
     <p class="muted small">${p ? `${esc(kindLabel(p.kind))} ${amount} · ${esc(orderWord())} ${esc(p.orderId ?? '–')} · …${esc(shortId(id))}` : `…${esc(shortId(id))}`}</p>
     ${image ? `<div class="qr-box" data-method="${esc(qr.method)}">${image}</div>` : ''}
     <p class="prompt" id="live-prompt" data-tone="${esc(words.tone)}">${esc(big)}</p>
     ${expires ? `<p class="muted small" id="live-expires">${esc(expires)}</p>` : ''}
     <p class="status-line"><span class="badge" id="live-state" data-state="${esc(s)}" data-tone="${esc(words.tone)}">${esc(stateLabel(s, lang))}</span>
        ${codeHtml(words.code)}</p>
     ${timelineHtml(timeline)}
     <div class="row">${cancel}</div>
     <p id="live-error" class="muted"></p>`,
  );
}

/** One event log line's words: the state or prompt in the page's language (the code small, raw JSON folded). */
function logWords(e) {
  if (e.type === 'progress' && e.progress) return { text: promptText(e), code: e.progress };
  if (e.type === 'qr') return { text: t('qrCreated'), code: e.type };
  if (e.state) {
    const w = describeState(e.state, lang, e.reason ?? null, e.responseCode ?? null, {
      via: viaOf(state.payments.get(e.paymentId), e.paymentId),
    });
    const reason = e.reason ? describeReason(e.reason, lang) : '';
    return { text: `${stateLabel(e.state, lang)}${e.reason ? ` — ${reason}` : ''}`, code: w.code };
  }
  return { text: e.type ?? '', code: e.type ?? '' };
}

function logLine(li) {
  const e = li.__event;
  const { text, code } = logWords(e);
  li.innerHTML = `<span class="log-seq">#${esc(e.seq)}</span> <span class="log-id">…${esc(shortId(e.paymentId))}</span>
    <span class="log-text">${esc(text)}</span>${e.replayed ? ` <span class="muted">[${esc(t('replayed'))}]</span>` : ''}
    <details class="support"><summary>${esc(t('support'))}</summary>${codeHtml(code)}<pre>${esc(JSON.stringify(e, null, 1))}</pre></details>`;
}

/** Re-words the event log after a language switch. */
function relabelLog() {
  for (const li of document.querySelectorAll('#log li')) if (li.__event) logLine(li);
}

let logCount = 0;
function log(e) {
  const li = document.createElement('li');
  li.value = ++logCount;
  li.dataset.paymentId = e.paymentId ?? '';
  li.dataset.type = e.type;
  if (e.state) li.dataset.state = e.state;
  if (e.progress) li.dataset.progress = e.progress;
  li.__event = e;
  logLine(li);
  const list = $('#log');
  list.prepend(li);
  while (list.children.length > 150) list.lastElementChild.remove();
}

// ------------------------------------------------------------------ simulators panel

async function sim(method, path, body) {
  const res = await fetch(`/sim/${path}`, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(json?.error?.message ?? `HTTP ${res.status}`);
  return json;
}

const READER_FLAGS = ['customerCancels', 'wrongPin', 'noCard', 'chipDeclines', 'cardRemovedBeforeCompletion'];

/** The ZVT terminal simulator's behaviours the panel offers (simulators/zvt/behaviour.ts). */
const ZVT_FLAGS = [
  'declineAmountSuffix',
  'customerCancels',
  'approveThenDropCompletion',
  'disconnectMidTransaction',
  'signatureRequired',
  'busy',
];
/** "Refunds disabled": the terminal answers Refund 06 31 with 84 83 (function not possible). */
const ZVT_REFUND = '06 31';

/** Shows the panel of the terminal terminal.list reported (card reader + host, or ZVT) and loads it. */
function renderSimPanel() {
  const kind = state.terminal.kind ?? 'reader';
  for (const el of document.querySelectorAll('#sim [data-terminal]'))
    el.hidden = el.dataset.terminal !== kind;
  $('#sim').dataset.terminal = kind;
  $('#sim-summary').textContent =
    kind === 'zvt'
      ? 'Simulators: ZVT terminal behaviours and scan-to-pay'
      : 'Simulators: card, faults and scan-to-pay';
  void loadSim();
}

/** Re-reads what the simulators say (one-shot faults clear themselves once they happened). */
function refreshSim() {
  return (isZvt() ? loadZvt() : loadFaults()).catch(() => undefined);
}

/** The QR the customer would scan: the followed payment when it is an open QR, else the newest open one. */
function openQr() {
  const open = (p) => p && p.kind === 'sale' && !p.final && qrOf(p)?.mode === 'qr' && qrOf(p).qrContent;
  const current = state.payments.get(state.current);
  if (open(current)) return current;
  return [...state.payments.values()].filter(open).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
}

function renderQrSim() {
  const box = $('#sim-qr');
  if (!box) return;
  const p = openQr();
  const qr = p && qrOf(p);
  for (const b of box.querySelectorAll('button[data-qr-action]')) b.disabled = !p;
  box.dataset.paymentId = p?.paymentId ?? '';
  $('#sim-qr-for').textContent = p
    ? `Open: ${QR_NAMES[qr.method]} QR for ${yuan(p.amount)} (order ${p.orderId ?? '–'}, …${shortId(p.paymentId)})`
    : 'No open QR: take an Alipay or WeChat Pay QR payment first.';
}

/** The customer's phone, through the QR simulator's control API (POST /sim/qr/scan). */
async function qrScan(action) {
  const p = openQr();
  const status = $('#sim-qr-status');
  if (!p) return;
  const name = QR_NAMES[qrOf(p).method];
  try {
    await sim('POST', 'qr/scan', { qrContent: qrOf(p).qrContent, action });
    status.dataset.action = action;
    status.textContent = {
      pay: `The customer scanned the code and paid in ${name}.`,
      cancel: `The customer scanned the code and backed out in ${name}: the QR stays open until it expires or you cancel it.`,
      expire: `The ${name} QR is now past its expiry: posbridge closes it.`,
      userpaying_then_pay: `The customer is confirming in ${name}, then pays.`,
    }[action];
  } catch (e) {
    status.dataset.action = 'error';
    status.textContent = `Not sent: ${e.message}`;
  }
  await refreshPayment(p.paymentId);
}

async function loadSim() {
  if (isZvt()) return loadZvt();
  try {
    const [cards, behaviour] = await Promise.all([
      sim('GET', 'reader/cards'),
      sim('GET', 'reader/behaviour'),
    ]);
    $('#sim-card').innerHTML = cards
      .map(
        (c) =>
          `<option value="${esc(c.id)}">${esc(c.id)} · ${esc(c.pan)}${c.token ? ` (${esc(c.token.wallet)})` : ''}</option>`,
      )
      .join('');
    showBehaviour(behaviour);
    await loadFaults();
  } catch (e) {
    $('#sim-reader-status').textContent = `Simulators not reachable: ${e.message}`;
  }
}

function showBehaviour(b) {
  $('#sim-card').value = b.card;
  $('#sim-presentation').value = b.presentation;
  for (const f of READER_FLAGS) $(`#sim-${f}`).checked = Boolean(b[f]);
  $('#sim-dropLinkAt').value = b.dropLinkAt ?? '';
  const status = $('#sim-reader-status');
  status.dataset.card = b.card;
  status.dataset.presentation = b.presentation;
  const flags = READER_FLAGS.filter((f) => b[f]);
  status.textContent = `Reader: ${b.card}, ${b.presentation}${flags.length ? `; ${flags.join(', ')}` : ''}${b.dropLinkAt ? `; drop link ${b.dropLinkAt}` : ''}`;
}

async function applyReader() {
  const body = {
    card: $('#sim-card').value,
    presentation: $('#sim-presentation').value,
    dropLinkAt: $('#sim-dropLinkAt').value || null,
  };
  for (const f of READER_FLAGS) body[f] = $(`#sim-${f}`).checked;
  try {
    showBehaviour(await sim('POST', 'reader/behaviour', body));
  } catch (e) {
    $('#sim-reader-status').textContent = `Not applied: ${e.message}`;
  }
}

async function loadFaults() {
  const faults = await sim('GET', 'host/faults');
  const list = $('#sim-faults');
  list.dataset.count = String(faults.length);
  list.innerHTML = faults.length
    ? faults
        .map(
          (f) =>
            `<li data-fault="${esc(f.id)}" data-action-name="${esc(f.action)}">${esc(f.action)} ${esc(JSON.stringify(f.match ?? {}))}` +
            ` · fired ${esc(f.fired ?? 0)}${f.times ? `/${esc(f.times)}` : ''}` +
            ` <button type="button" class="small secondary" data-remove="${esc(f.id)}">remove</button></li>`,
        )
        .join('')
    : '<li class="muted">No faults: the host behaves.</li>';
}

async function loadZvt() {
  try {
    const [behaviour, txns] = await Promise.all([
      sim('GET', 'zvt/behaviour'),
      sim('GET', 'zvt/transactions'),
    ]);
    showZvt(behaviour);
    showZvtLedger(txns);
  } catch (e) {
    $('#sim-zvt-status').textContent = `Simulator not reachable: ${e.message}`;
  }
}

function showZvt(b) {
  for (const f of ZVT_FLAGS) $(`#zvt-${f}`).checked = Boolean(b[f]);
  const refundsOff = (b.disabledCommands ?? []).includes(ZVT_REFUND);
  $('#zvt-refundsDisabled').checked = refundsOff;
  const flags = [...ZVT_FLAGS.filter((f) => b[f]), ...(refundsOff ? ['refundsDisabled'] : [])];
  const status = $('#sim-zvt-status');
  status.dataset.card = b.card;
  status.dataset.flags = flags.join(' ');
  status.textContent = `Terminal: card ${b.card}${flags.length ? `; ${flags.join(', ')}` : ''}`;
}

function showZvtLedger(txns) {
  const list = $('#sim-zvt-ledger');
  const last = txns.slice(-6).reverse();
  list.dataset.count = String(txns.length);
  list.innerHTML = last.length
    ? last
        .map(
          (t) =>
            `<li data-receipt-no="${esc(t.receiptNo ?? '')}" data-type="${esc(t.type)}" data-status="${esc(t.status)}">` +
            `${esc(t.type)} ${yuan(t.amount)} · ${esc(t.status)}${t.receiptNo ? ` · receipt ${esc(t.receiptNo)}` : ''}` +
            `${t.originalReceiptNo ? ` (of ${esc(t.originalReceiptNo)})` : ''}</li>`,
        )
        .join('')
    : '<li class="muted">No transactions on the terminal yet.</li>';
}

async function applyZvt() {
  const body = {};
  for (const f of ZVT_FLAGS) body[f] = $(`#zvt-${f}`).checked;
  body.disabledCommands = $('#zvt-refundsDisabled').checked ? [ZVT_REFUND] : [];
  try {
    showZvt(await sim('POST', 'zvt/behaviour', body));
  } catch (e) {
    $('#sim-zvt-status').textContent = `Not applied: ${e.message}`;
  }
}

async function addFault() {
  const action = $('#sim-fault-action').value;
  const target = $('#sim-fault-target').value;
  const rule = {
    action,
    match: target === 'any' || action === 'refuse_connections' ? {} : { mti: target },
    ...(action === 'delay' ? { delayMs: 35_000 } : {}),
    ...(action === 'refuse_connections' || action === 'reversal_96' ? { times: 3 } : { times: 1 }),
  };
  try {
    await sim('POST', 'host/faults', rule);
  } catch (e) {
    $('#sim-faults').textContent = `Not added: ${e.message}`;
    return;
  }
  await loadFaults();
}

// ------------------------------------------------------------------ start

function start() {
  $('#order').innerHTML = `
    <h2 id="order-title">Order</h2>
    <p id="order-sub" class="muted"></p>
    <dl class="totals" id="order-totals"></dl>
    <form id="pay-form" class="pay row" novalidate>
      <label>Amount (¥) <input id="pay-amount" name="amount" inputmode="decimal" autocomplete="off" /></label>
      <button type="submit" id="pay-submit" data-i18n="Take card payment|刷卡收款">Take card payment</button>
      <button type="button" id="pay-alipay" class="qr-pay" data-method="alipay" data-i18n="Alipay QR|支付宝二维码">Alipay QR</button>
      <button type="button" id="pay-wechat" class="qr-pay" data-method="wechat" data-i18n="WeChat Pay QR|微信支付二维码">WeChat Pay QR</button>
      <button type="button" id="pay-half" class="secondary" data-i18n="Half of due|待付的一半">Half of due</button>
    </form>
    <form id="code-form" class="pay row" novalidate>
      <label>Customer code <input id="pay-code" name="code" inputmode="numeric" autocomplete="off" maxlength="40"
        placeholder="scan or type the code on the customer’s phone" /></label>
      <button type="submit" id="code-submit" class="secondary">Charge code</button>
    </form>
    <div id="pay-confirm" class="over-confirm" role="alertdialog" aria-labelledby="pay-confirm-text" hidden>
      <p id="pay-confirm-text"></p>
      <div class="row">
        <button type="button" id="pay-confirm-yes" class="danger">Charge anyway</button>
        <button type="button" id="pay-confirm-no" class="secondary">Change the amount</button>
      </div>
    </div>
    <p id="pay-error" class="muted" role="alert"></p>
    <div id="order-notes"></div>
    <h3 data-i18n="Payments|交易">Payments</h3>
    <ul class="payments" id="order-payments"></ul>
    <p id="order-error" class="muted" role="alert"></p>
    <form id="refund-form" class="row" hidden novalidate>
      <label><span id="refund-label">Refund</span> <input id="refund-amount" inputmode="decimal" autocomplete="off" /></label>
      <button type="submit" id="refund-submit" class="danger">Refund</button>
      <button type="button" id="refund-cancel" class="secondary">Close</button>
      <p id="refund-error" class="muted" role="alert"></p>
    </form>`;
  $('#order-list').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-order]');
    if (b) selectOrder(b.dataset.order);
  });
  $('#pay-form').addEventListener('submit', (e) => void pay(e));
  $('#pay-alipay').addEventListener('click', () => void payQr('alipay'));
  $('#pay-wechat').addEventListener('click', () => void payQr('wechat'));
  $('#code-form').addEventListener('submit', (e) => void payCode(e));
  $('#sim-qr').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-qr-action]');
    if (b) void qrScan(b.dataset.qrAction);
  });
  $('#pay-amount').addEventListener('input', () => {
    state.payTouched = true;
    // A confirmation is for the amount it shows: typing another withdraws it.
    askOver(undefined);
  });
  $('#pay-confirm-yes').addEventListener('click', confirmOver);
  $('#pay-confirm-no').addEventListener('click', () => {
    askOver(undefined);
    $('#pay-amount').focus();
  });
  $('#pay-half').addEventListener('click', () => {
    setPayAmount(Math.floor(toTake(state.selected) / 2));
    state.payTouched = true;
    askOver(undefined);
  });
  $('#order-payments').addEventListener('click', onOrderAction);
  $('#refund-form').addEventListener('submit', (e) => void refund(e));
  $('#refund-cancel').addEventListener('click', () => {
    state.refundFor = undefined;
    renderRefundForm();
  });
  $('#live').addEventListener('click', (e) => void onLiveAction(e));
  $('#receipt').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-copy]');
    if (b) void showReceipt($('#receipt').dataset.paymentId, b.dataset.copy);
  });
  $('#pair').addEventListener('submit', (e) => void pair(e));
  for (const id of [
    '#sim-card',
    '#sim-presentation',
    '#sim-dropLinkAt',
    ...READER_FLAGS.map((f) => `#sim-${f}`),
  ])
    $(id).addEventListener('change', () => void applyReader());
  $('#sim-fault-add').addEventListener('click', () => void addFault());
  $('#sim-fault-clear').addEventListener('click', () => void sim('DELETE', 'host/faults').then(loadFaults));
  $('#sim-faults').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-remove]');
    if (b) void sim('DELETE', `host/faults/${encodeURIComponent(b.dataset.remove)}`).then(loadFaults);
  });
  for (const f of [...ZVT_FLAGS, 'refundsDisabled'])
    $(`#zvt-${f}`).addEventListener('change', () => void applyZvt());
  $('#sim').addEventListener('toggle', () => $('#sim').open && void refreshSim());
  setupPad();
  $('#lang').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-lang]');
    if (b) setLang(b.dataset.lang);
  });
  setLang(lang);
  // The long host wait counts up: re-render the followed payment while it is with the bank.
  window.setInterval(() => {
    const id = state.current;
    const s = id && (state.payments.get(id)?.state ?? state.timeline.get(id)?.at(-1));
    if (s === 'authorizing') renderLive();
  }, 500);
  // The simulator panel follows the terminal terminal.list reports (renderSimPanel, once connected).
  void connect();
  // Tests and curious developers: the client and the page state.
  window.posbridgeDemo = state;
}

start();
