/**
 * Alipay OpenAPI adapter (gateway.do protocol, RSA2). Face-to-face payment (当面付):
 * - merchant-presented QR: alipay.trade.precreate → qr_code; the trade exists at Alipay only once the
 *   customer scanned it (query / close before that answer ACQ.TRADE_NOT_EXIST);
 * - customer-presented code: alipay.trade.pay (scene bar_code) → 10000 paid, 10003 waiting for the buyer's
 *   confirmation (poll alipay.trade.query), failures; alipay.trade.cancel reverses (closes, or refunds when
 *   paid);
 * - alipay.trade.close, alipay.trade.refund (partial, out_request_no), alipay.trade.fastpay.refund.query,
 *   alipay.data.dataservice.bill.downloadurl.query + the bill archive;
 * - asynchronous notifications (form-encoded, RSA2 over the sorted parameters).
 *
 * Common parameters go in the query string and biz_content in a form body (as the official SDK sends
 * them); every answer's `sign` is checked over the exact `<method>_response` text before anything in it is
 * believed.
 */
import type { KeyObject } from 'node:crypto';
import { alipayFailure, describeAlipay, type AlipayAnswer } from './alipay-codes.js';
import {
  alipaySignContent,
  rsa2Sign,
  verifyAlipayNotificationParams,
  verifyAlipayResponse,
} from './alipay-sign.js';
import { parseAlipayBillZip } from './bill.js';
import { cstDateTime, isIsoDate, providerTimeToIso } from './china-time.js';
import { INSPECT, checkAmount, checkNo, checkText, maskLogonId, str, type QrLogger } from './common.js';
import { httpExchange, type HttpOutcome } from './http.js';
import { fenToYuan, yuanValueToFen } from './money.js';
import {
  notSent,
  ok,
  rejected,
  unknown,
  type BillLine,
  type PayByCodeRequest,
  type PrecreateRequest,
  type QrProvider,
  type QrResult,
  type RefundRequest,
  type RefundStatus,
  type TradeStatus,
} from './provider.js';

export const ALIPAY_GATEWAY = 'https://openapi.alipay.com/gateway.do';
export const ALIPAY_SANDBOX_GATEWAY = 'https://openapi-sandbox.dl.alipaydev.com/gateway.do';

export interface AlipayProviderOptions {
  /** 应用 APPID */
  appId: string;
  /** the application's RSA private key (应用私钥) */
  appPrivateKey: KeyObject;
  /** Alipay's RSA public key (支付宝公钥) for answers and notifications */
  alipayPublicKey: KeyObject;
  /** default ALIPAY_GATEWAY */
  gatewayUrl?: string;
  /** where Alipay POSTs trade notifications (notify_url) */
  notifyUrl?: string;
  /** per exchange, default 15000 ms */
  timeoutMs?: number;
  /** optional biz fields sent with payments */
  storeId?: string;
  terminalId?: string;
  operatorId?: string;
  log?: QrLogger;
  now?: () => Date;
}

const OUT_NO = /^[0-9A-Za-z_]{1,64}$/;
const OUT_NO_HINT = '1..64 letters, digits or _';
/** A precreated QR code is valid for two hours at most. */
const QR_MAX_MS = 2 * 3600 * 1000;

type Call =
  | { kind: 'answer'; data: Record<string, unknown> & AlipayAnswer }
  | { kind: 'fail'; result: QrResult<never> };

export class AlipayProvider implements QrProvider {
  readonly method = 'alipay' as const;
  readonly #appPrivateKey: KeyObject;
  readonly #alipayPublicKey: KeyObject;
  readonly #o: Omit<AlipayProviderOptions, 'appPrivateKey' | 'alipayPublicKey'>;
  readonly #gateway: string;

  constructor(o: AlipayProviderOptions) {
    if (!o.appId || !/^[0-9A-Za-z]{1,32}$/.test(o.appId))
      throw new TypeError('appId must be 1..32 letters or digits');
    if (o.appPrivateKey?.type !== 'private') throw new TypeError('appPrivateKey must be a private KeyObject');
    if (o.alipayPublicKey?.type !== 'public')
      throw new TypeError('alipayPublicKey must be a public KeyObject');
    const { appPrivateKey, alipayPublicKey, ...rest } = o;
    this.#appPrivateKey = appPrivateKey;
    this.#alipayPublicKey = alipayPublicKey;
    this.#o = rest;
    this.#gateway = o.gatewayUrl ?? ALIPAY_GATEWAY;
  }

  get appId(): string {
    return this.#o.appId;
  }

  toString(): string {
    return `AlipayProvider(appId=${this.#o.appId}, gateway=${this.#gateway})`;
  }
  toJSON(): Record<string, unknown> {
    return { method: this.method, appId: this.#o.appId, gateway: this.#gateway };
  }
  [INSPECT](): string {
    return this.toString();
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  /** One signed gateway call; the answer is returned only when its signature verified. */
  async #call(
    method: string,
    biz: Record<string, unknown>,
    outTradeNo: string,
    withNotify = false,
  ): Promise<Call> {
    const params: Record<string, string> = {
      app_id: this.#o.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: cstDateTime(this.#now()),
      version: '1.0',
      biz_content: JSON.stringify(biz),
    };
    if (withNotify && this.#o.notifyUrl) params['notify_url'] = this.#o.notifyUrl;
    params['sign'] = rsa2Sign(alipaySignContent(params), this.#appPrivateKey);
    const url = new URL(this.#gateway);
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (k === 'biz_content') form.set(k, v);
      else url.searchParams.set(k, v);
    }
    const started = Date.now();
    const res = await httpExchange({
      method: 'POST',
      url: url.toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded;charset=utf-8',
        accept: 'application/json',
      },
      body: form.toString(),
      timeoutMs: this.#o.timeoutMs ?? 15_000,
    });
    const call = this.#interpret(method, res);
    const outcome = call.kind === 'answer' ? (call.data.code ?? '?') : call.result.status;
    this.#o.log?.info(
      { provider: 'alipay', method, outTradeNo, outcome, ms: Date.now() - started },
      'alipay gateway call',
    );
    return call;
  }

  #interpret(method: string, res: HttpOutcome): Call {
    if (res.kind === 'not_sent') return { kind: 'fail', result: notSent(res.reason, res.message) };
    if (res.kind === 'unknown') return { kind: 'fail', result: unknown(res.reason, res.message) };
    if (res.status !== 200)
      return { kind: 'fail', result: unknown('system_error', `gateway answered HTTP ${res.status}`) };
    const checked = verifyAlipayResponse(res.body.toString('utf8'), method, this.#alipayPublicKey);
    if (!checked.ok)
      return {
        kind: 'fail',
        result: unknown(
          checked.reason === 'bad_signature' ? 'bad_signature' : 'system_error',
          checked.message,
        ),
      };
    return { kind: 'answer', data: checked.data as Record<string, unknown> & AlipayAnswer };
  }

  #payBiz(r: { outTradeNo: string; amount: number; subject: string }): Record<string, unknown> {
    const biz: Record<string, unknown> = {
      out_trade_no: r.outTradeNo,
      total_amount: fenToYuan(r.amount),
      subject: r.subject,
      product_code: 'FACE_TO_FACE_PAYMENT',
    };
    if (this.#o.storeId) biz['store_id'] = this.#o.storeId;
    if (this.#o.terminalId) biz['terminal_id'] = this.#o.terminalId;
    if (this.#o.operatorId) biz['operator_id'] = this.#o.operatorId;
    return biz;
  }

  async precreate(r: PrecreateRequest): Promise<QrResult<{ qrContent: string; expiresAt: Date }>> {
    const bad =
      checkNo(r.outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT) ??
      checkAmount(r.amount) ??
      checkText(r.subject, 'subject', 256);
    if (bad) return bad;
    const now = this.#now();
    if (!(r.expiresAt instanceof Date) || r.expiresAt.getTime() <= now.getTime() + 60_000)
      return notSent('invalid_request', 'expiresAt must be more than a minute ahead');
    const expiresAt = new Date(Math.min(r.expiresAt.getTime(), now.getTime() + QR_MAX_MS));
    const biz = { ...this.#payBiz(r), time_expire: cstDateTime(expiresAt) };
    const call = await this.#call('alipay.trade.precreate', biz, r.outTradeNo, true);
    if (call.kind === 'fail') return call.result;
    const d = call.data;
    if (d.code !== '10000') return alipayFailure(d);
    const qr = str(d['qr_code']);
    if (!qr || (d['out_trade_no'] !== undefined && d['out_trade_no'] !== r.outTradeNo))
      return unknown('system_error', 'the answer does not match the request');
    return ok({ qrContent: qr, expiresAt });
  }

  async payByCode(r: PayByCodeRequest): Promise<QrResult<TradeStatus>> {
    const bad =
      checkNo(r.outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT) ??
      checkAmount(r.amount) ??
      checkText(r.subject, 'subject', 256) ??
      checkNo(r.authCode, 'authCode', /^[0-9]{16,24}$/, '16..24 digits');
    if (bad) return bad;
    const biz = { ...this.#payBiz(r), scene: 'bar_code', auth_code: r.authCode };
    const call = await this.#call('alipay.trade.pay', biz, r.outTradeNo, true);
    if (call.kind === 'fail') return call.result;
    const d = call.data;
    if (d.code === '10000') {
      if (d['out_trade_no'] !== undefined && d['out_trade_no'] !== r.outTradeNo)
        return unknown('system_error', 'the answer does not match the request');
      return ok(this.#status('paid', d));
    }
    if (d.code === '10003') return ok(this.#status('paying', d));
    return alipayFailure(d);
  }

  #status(state: TradeStatus['state'], d: Record<string, unknown>): TradeStatus {
    const s: TradeStatus = { state };
    const tradeNo = str(d['trade_no']);
    if (tradeNo) s.tradeNo = tradeNo;
    if (state === 'paid' || state === 'refunded') {
      const amount = yuanValueToFen(d['total_amount']);
      if (amount !== undefined) s.paidAmount = amount;
      const at = providerTimeToIso(str(d['gmt_payment']) ?? str(d['send_pay_date']));
      if (at) s.paidAt = at;
    }
    const buyer = maskLogonId(d['buyer_logon_id']);
    if (buyer) s.buyer = buyer;
    return s;
  }

  async query(outTradeNo: string): Promise<QrResult<TradeStatus>> {
    const bad = checkNo(outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT);
    if (bad) return bad;
    const call = await this.#call('alipay.trade.query', { out_trade_no: outTradeNo }, outTradeNo);
    if (call.kind === 'fail') return call.result;
    const d = call.data;
    if (d.code === '10000') {
      switch (d['trade_status']) {
        case 'WAIT_BUYER_PAY':
          return ok(this.#status('waiting', d));
        case 'TRADE_SUCCESS':
        case 'TRADE_FINISHED':
          return ok(this.#status('paid', d));
        case 'TRADE_CLOSED':
          // Closed unpaid, or paid and then refunded in full: only the latter has a payment date.
          return ok(this.#status(d['send_pay_date'] ? 'refunded' : 'closed', d));
        default:
          return unknown('system_error', `unexpected trade_status ${String(d['trade_status']).slice(0, 40)}`);
      }
    }
    if (d.sub_code === 'ACQ.TRADE_NOT_EXIST') return ok({ state: 'not_found' });
    return alipayFailure(d);
  }

  async close(outTradeNo: string): Promise<QrResult<void>> {
    const bad = checkNo(outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT);
    if (bad) return bad;
    const call = await this.#call('alipay.trade.close', { out_trade_no: outTradeNo }, outTradeNo);
    if (call.kind === 'fail') return call.result;
    const d = call.data;
    if (d.code === '10000') return ok(undefined);
    if (d.sub_code === 'ACQ.TRADE_NOT_EXIST') {
      // A precreated QR nobody scanned has no trade yet, and its code would stay payable until
      // time_expire: alipay.trade.cancel closes the number for good. Should the customer have paid in
      // the instant between, the cancel gives the money back: nothing stays charged either way.
      const c = await this.cancel(outTradeNo);
      if (c.status === 'ok') {
        if (c.value.reversed)
          this.#o.log?.warn(
            { provider: 'alipay', method: 'alipay.trade.close', outTradeNo },
            'paid while being closed: the payment was given back',
          );
        return ok(undefined);
      }
      if (c.status === 'unknown' || c.status === 'not_sent') return c;
      return alipayFailure(d);
    }
    // Closing a paid trade: "trade status error".
    return alipayFailure(d, { 'ACQ.TRADE_STATUS_ERROR': ['trade_paid', false] });
  }

  async cancel(outTradeNo: string): Promise<QrResult<{ reversed: boolean }>> {
    const bad = checkNo(outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT);
    if (bad) return bad;
    const call = await this.#call('alipay.trade.cancel', { out_trade_no: outTradeNo }, outTradeNo);
    if (call.kind === 'fail') return call.result;
    const d = call.data;
    if (d.code === '10000') {
      if (d['retry_flag'] === 'Y')
        return unknown('system_error', 'Alipay asks to repeat the cancel (retry_flag=Y)');
      const action = str(d['action']);
      return ok({ reversed: action === 'refund' || action === 'add_refund' });
    }
    if (d.sub_code === 'ACQ.TRADE_NOT_EXIST') return ok({ reversed: false });
    if (d['retry_flag'] === 'Y') return unknown('system_error', `${describeAlipay(d)} (retry_flag=Y)`);
    return alipayFailure(d);
  }

  async refund(r: RefundRequest): Promise<QrResult<RefundStatus>> {
    const bad =
      checkNo(r.outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT) ??
      checkNo(r.outRequestNo, 'outRequestNo', OUT_NO, OUT_NO_HINT) ??
      checkAmount(r.amount) ??
      checkAmount(r.totalAmount, 'totalAmount') ??
      (r.reason !== undefined ? checkText(r.reason, 'reason', 256) : undefined);
    if (bad) return bad;
    if (r.amount > r.totalAmount) return notSent('invalid_request', 'amount above totalAmount');
    const biz: Record<string, unknown> = {
      out_trade_no: r.outTradeNo,
      refund_amount: fenToYuan(r.amount),
      out_request_no: r.outRequestNo,
    };
    if (r.reason) biz['refund_reason'] = r.reason;
    const call = await this.#call('alipay.trade.refund', biz, r.outTradeNo);
    if (call.kind === 'fail') return call.result;
    const d = call.data;
    if (d.code === '10000') {
      // fund_change=Y: this call moved the money. N: an earlier call with this out_request_no did, or it
      // is still under way: confirm with the refund query.
      if (d['fund_change'] === 'Y') {
        const s: RefundStatus = { state: 'success', outRequestNo: r.outRequestNo, amount: r.amount };
        const at = providerTimeToIso(str(d['gmt_refund_pay']));
        if (at) s.refundedAt = at;
        return ok(s);
      }
      return ok({ state: 'processing', outRequestNo: r.outRequestNo, amount: r.amount });
    }
    return alipayFailure(d);
  }

  async refundQuery(outTradeNo: string, outRequestNo: string): Promise<QrResult<RefundStatus>> {
    const bad =
      checkNo(outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT) ??
      checkNo(outRequestNo, 'outRequestNo', OUT_NO, OUT_NO_HINT);
    if (bad) return bad;
    const biz = { out_trade_no: outTradeNo, out_request_no: outRequestNo, query_options: ['gmt_refund_pay'] };
    const call = await this.#call('alipay.trade.fastpay.refund.query', biz, outTradeNo);
    if (call.kind === 'fail') return call.result;
    const d = call.data;
    if (d.sub_code === 'ACQ.TRADE_NOT_EXIST') return ok({ state: 'not_found', outRequestNo });
    if (d.code !== '10000') return alipayFailure(d);
    // 10000 only says the query worked. REFUND_SUCCESS (or, in the older form, data without a status) is
    // a refund; no data means no refund happened: refund again with the same out_request_no.
    const status = str(d['refund_status']);
    const amount = yuanValueToFen(d['refund_amount']);
    const hasData = str(d['out_request_no']) !== undefined && amount !== undefined;
    if (status === 'REFUND_SUCCESS' || (status === undefined && hasData)) {
      const s: RefundStatus = { state: 'success', outRequestNo };
      if (amount !== undefined) s.amount = amount;
      const at = providerTimeToIso(str(d['gmt_refund_pay']));
      if (at) s.refundedAt = at;
      return ok(s);
    }
    if (status !== undefined) return ok({ state: 'processing', outRequestNo });
    return ok({ state: 'not_found', outRequestNo });
  }

  verifyNotification(
    headers: Record<string, string>,
    body: string,
  ): QrResult<TradeStatus & { outTradeNo: string }> {
    void headers;
    const form = new URLSearchParams(body);
    const params: Record<string, string> = {};
    for (const [k, v] of form) {
      if (k in params) return rejected('invalid_request', `notification repeats ${k.slice(0, 40)}`);
      params[k] = v;
    }
    if (!verifyAlipayNotificationParams(params, this.#alipayPublicKey))
      return unknown('bad_signature', 'the notification signature does not verify');
    if (params['app_id'] !== this.#o.appId)
      return rejected('invalid_request', 'notification for another app_id');
    const outTradeNo = params['out_trade_no'];
    if (!outTradeNo) return rejected('invalid_request', 'notification without out_trade_no');
    const refunded = (yuanValueToFen(params['refund_fee']) ?? 0) > 0;
    let state: TradeStatus['state'];
    switch (params['trade_status']) {
      case 'WAIT_BUYER_PAY':
        state = 'waiting';
        break;
      case 'TRADE_SUCCESS':
      case 'TRADE_FINISHED':
        state = refunded ? 'refunded' : 'paid';
        break;
      case 'TRADE_CLOSED':
        state = refunded || params['gmt_payment'] ? 'refunded' : 'closed';
        break;
      default:
        return rejected('invalid_request', 'notification without a known trade_status');
    }
    this.#o.log?.info({ provider: 'alipay', method: 'notify', outTradeNo, state }, 'alipay notification');
    return ok({ ...this.#status(state, params), outTradeNo });
  }

  async bill(date: string): Promise<QrResult<BillLine[]>> {
    if (!isIsoDate(date)) return notSent('invalid_request', 'date must be YYYY-MM-DD');
    const call = await this.#call(
      'alipay.data.dataservice.bill.downloadurl.query',
      { bill_type: 'trade', bill_date: date },
      `bill-${date}`,
    );
    if (call.kind === 'fail') return call.result;
    const d = call.data;
    if (d.code !== '10000') {
      if (/bill_not_exist|NO_BILL_DATA/i.test(d.sub_code ?? '')) return ok([]);
      return alipayFailure(d);
    }
    const url = str(d['bill_download_url']);
    if (!url) return unknown('system_error', 'no bill_download_url');
    // The link comes from a signed answer; it must not lead off to another scheme than the gateway's.
    if (new URL(url).protocol !== new URL(this.#gateway).protocol)
      return unknown('system_error', 'bill_download_url scheme differs from the gateway');
    const res = await httpExchange({
      method: 'GET',
      url,
      timeoutMs: this.#o.timeoutMs ?? 15_000,
      maxBytes: 64 * 1024 * 1024,
    });
    if (res.kind === 'not_sent') return notSent(res.reason, res.message);
    if (res.kind === 'unknown') return unknown(res.reason, res.message);
    if (res.status !== 200) return unknown('system_error', `bill download answered HTTP ${res.status}`);
    try {
      return ok(parseAlipayBillZip(res.body));
    } catch (e) {
      return unknown('system_error', `bill archive unreadable: ${(e as Error).message}`);
    }
  }
}
