/**
 * The simulated Alipay OpenAPI gateway (POST /gateway.do): common parameters from the query string and the
 * form body, the request `sign` checked with the app's public key, biz_content JSON, answers
 * `{"<method>_response":{…},"sign":"…"}` signed RSA2 with "Alipay's" key over the exact member text (which
 * escapes "/" as "\/", as Alipay does, so only raw-text verification passes).
 */
import { randomBytes } from 'node:crypto';
import {
  alipayResponseKey,
  alipaySignContent,
  cstDateTime,
  fenToYuan,
  rsa2Sign,
  rsa2Verify,
  yuanValueToFen,
} from '../../src/qr/index.js';
import { QR_SIM_APIS, takeFault, type QrSimApi } from './behaviour.js';
import { alipayBill } from './bills.js';
import type { GatewayReply, QrSimCore } from './core.js';
import type { SimTrade } from './ledger.js';

type Answer = Record<string, unknown>;
const OK = { code: '10000', msg: 'Success' };
const fail = (sub_code: string, sub_msg: string): Answer => ({
  code: '40004',
  msg: 'Business Failed',
  sub_code,
  sub_msg,
});

const AUTH_CODE = /^(2[5-9]|30)[0-9]{14,22}$/;

export class AlipayGateway {
  constructor(private readonly core: QrSimCore) {}

  #reply(method: string, answer: Answer, api: QrSimApi | undefined, key?: string): GatewayReply {
    const inner = JSON.stringify(answer).replaceAll('/', '\\/');
    const bad = api !== undefined && takeFault(this.core.behaviour.badSignature, api);
    const sign = rsa2Sign(bad ? `${inner} ` : inner, this.core.credentials.alipay.alipayPrivateKey);
    const body = `{"${key ?? alipayResponseKey(method)}":${inner},"sign":"${sign}"}`;
    const reply: GatewayReply = {
      status: 200,
      headers: { 'content-type': 'text/html;charset=utf-8' },
      body,
    };
    if (api) reply.api = api;
    return reply;
  }

  handle(query: URLSearchParams, body: string, contentType: string): GatewayReply {
    const params: Record<string, string> = {};
    for (const [k, v] of query) params[k] = v;
    if (/x-www-form-urlencoded/i.test(contentType))
      for (const [k, v] of new URLSearchParams(body)) params[k] = v;
    const method = params['method'] ?? '';
    const c = this.core.credentials.alipay;
    if (!(QR_SIM_APIS as readonly string[]).includes(method) || method.endsWith('.notify'))
      return this.#reply(
        method,
        {
          code: '40002',
          msg: 'Invalid Arguments',
          sub_code: 'isv.invalid-method',
          sub_msg: '不存在的方法名',
        },
        undefined,
        'error_response',
      );
    const api = method as QrSimApi;
    if (params['app_id'] !== c.appId)
      return this.#reply(
        method,
        {
          code: '40002',
          msg: 'Invalid Arguments',
          sub_code: 'isv.invalid-app-id',
          sub_msg: '无效的AppID参数',
        },
        undefined,
      );
    if (
      params['sign_type'] !== 'RSA2' ||
      !rsa2Verify(alipaySignContent(params), params['sign'] ?? '', c.appPublicKey)
    )
      return this.#reply(
        method,
        { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-signature', sub_msg: '验签出错' },
        undefined,
      );
    let biz: Answer;
    try {
      const v: unknown = JSON.parse(params['biz_content'] ?? '{}');
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      biz = v as Answer;
    } catch {
      return this.#reply(
        method,
        {
          code: '40002',
          msg: 'Invalid Arguments',
          sub_code: 'isv.invalid-parameter',
          sub_msg: 'biz_content格式错误',
        },
        api,
      );
    }
    if (takeFault(this.core.behaviour.systemError, api)) {
      const err = method.startsWith('alipay.trade.')
        ? { ...fail('ACQ.SYSTEM_ERROR', '系统错误'), retry_flag: 'Y' }
        : {
            code: '20000',
            msg: 'Service Currently Unavailable',
            sub_code: 'isp.unknow-error',
            sub_msg: '系统繁忙',
          };
      return this.#reply(method, err, api);
    }
    const answer = this.#apply(api, biz, params['notify_url']);
    const reply = this.#reply(method, answer, api);
    if (takeFault(this.core.behaviour.loseAnswer, api)) reply.lose = true;
    return reply;
  }

  #apply(api: QrSimApi, biz: Answer, notifyUrl: string | undefined): Answer {
    const outTradeNo = typeof biz['out_trade_no'] === 'string' ? biz['out_trade_no'] : '';
    if (api !== 'alipay.data.dataservice.bill.downloadurl.query' && !/^[0-9A-Za-z_]{1,64}$/.test(outTradeNo))
      return fail('ACQ.INVALID_PARAMETER', '参数无效: out_trade_no');
    switch (api) {
      case 'alipay.trade.precreate':
        return this.#precreate(outTradeNo, biz, notifyUrl);
      case 'alipay.trade.pay':
        return this.#pay(outTradeNo, biz, notifyUrl);
      case 'alipay.trade.query':
        return this.#query(outTradeNo);
      case 'alipay.trade.close':
        return this.#close(outTradeNo);
      case 'alipay.trade.cancel':
        return this.#cancel(outTradeNo);
      case 'alipay.trade.refund':
        return this.#refund(outTradeNo, biz);
      case 'alipay.trade.fastpay.refund.query':
        return this.#refundQuery(outTradeNo, biz);
      case 'alipay.data.dataservice.bill.downloadurl.query':
        return this.#bill(biz);
      default:
        return fail('ACQ.INVALID_PARAMETER', 'unsupported');
    }
  }

  #amount(biz: Answer, field: string): number | undefined {
    try {
      const v = yuanValueToFen(biz[field]);
      return v !== undefined && v > 0 ? v : undefined;
    } catch {
      return undefined;
    }
  }

  #precreate(outTradeNo: string, biz: Answer, notifyUrl: string | undefined): Answer {
    const amount = this.#amount(biz, 'total_amount');
    const subject = typeof biz['subject'] === 'string' ? biz['subject'] : '';
    if (amount === undefined || !subject)
      return fail('ACQ.INVALID_PARAMETER', '参数无效: total_amount/subject');
    const existing = this.core.ledger.trade('alipay', outTradeNo);
    if (existing) {
      if (existing.status === 'paid') return fail('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
      if (existing.status !== 'created' && existing.status !== 'waiting')
        return fail('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
      if (existing.amount !== amount || existing.kind !== 'qr')
        return fail('ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改');
      return { ...OK, out_trade_no: outTradeNo, qr_code: existing.qrContent };
    }
    const expires = typeof biz['time_expire'] === 'string' ? biz['time_expire'] : undefined;
    const now = this.core.now();
    let expiresAt = new Date(now.getTime() + 2 * 3600 * 1000);
    if (expires) {
      const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(expires);
      if (!m) return fail('ACQ.INVALID_PARAMETER', '参数无效: time_expire');
      const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) - 8 * 3600 * 1000;
      if (t <= now.getTime()) return fail('ACQ.INVALID_PARAMETER', 'time_expire 已过期');
      expiresAt = new Date(Math.min(t, expiresAt.getTime()));
    }
    const t = this.core.ledger.newTrade('alipay', {
      outTradeNo,
      kind: 'qr',
      amount,
      subject,
      expiresAt: expiresAt.toISOString(),
      qrContent: `https://qr.alipay.com/bax0${randomBytes(10).toString('hex')}`,
      ...(notifyUrl ? { notifyUrl } : {}),
    });
    return { ...OK, out_trade_no: outTradeNo, qr_code: t.qrContent };
  }

  #paidFields(t: SimTrade): Answer {
    const a = fenToYuan(t.amount);
    return {
      trade_no: t.tradeNo,
      out_trade_no: t.outTradeNo,
      buyer_logon_id: t.buyerLogonId,
      total_amount: a,
      receipt_amount: a,
      buyer_pay_amount: a,
      gmt_payment: cstDateTime(new Date(t.paidAt ?? this.core.now().toISOString())),
      fund_bill_list: [{ fund_channel: 'ALIPAYACCOUNT', amount: a }],
      buyer_user_id: t.buyerUserId,
    };
  }

  #pay(outTradeNo: string, biz: Answer, notifyUrl: string | undefined): Answer {
    const amount = this.#amount(biz, 'total_amount');
    const subject = typeof biz['subject'] === 'string' ? biz['subject'] : '';
    const authCode = typeof biz['auth_code'] === 'string' ? biz['auth_code'] : '';
    if (amount === undefined || !subject || biz['scene'] !== 'bar_code')
      return fail('ACQ.INVALID_PARAMETER', '参数无效: total_amount/subject/scene');
    const existing = this.core.ledger.trade('alipay', outTradeNo);
    if (existing) {
      if (existing.status === 'paid') return fail('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
      if (existing.status === 'paying')
        return { code: '10003', msg: '等待用户付款', ...this.#brief(existing) };
      return fail('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
    }
    if (!AUTH_CODE.test(authCode) || authCode.endsWith('0014'))
      return fail(
        'ACQ.PAYMENT_AUTH_CODE_INVALID',
        '支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款',
      );
    const t = this.core.ledger.newTrade('alipay', {
      outTradeNo,
      kind: 'code',
      amount,
      subject,
      scanned: true,
      ...(notifyUrl ? { notifyUrl } : {}),
    });
    if (authCode.endsWith('0051')) {
      t.status = 'closed';
      t.closedAt = this.core.now().toISOString();
      this.core.ledger.event('alipay', 'fail', outTradeNo);
      return fail('ACQ.BUYER_BALANCE_NOT_ENOUGH', '买家余额不足');
    }
    if (this.core.behaviour.userPayingMs > 0) {
      this.core.payLater(t, this.core.behaviour.userPayingMs);
      return { code: '10003', msg: '等待用户付款', ...this.#brief(t) };
    }
    this.core.markPaid(t);
    return { ...OK, ...this.#paidFields(t) };
  }

  #brief(t: SimTrade): Answer {
    return {
      trade_no: t.tradeNo,
      out_trade_no: t.outTradeNo,
      buyer_logon_id: t.buyerLogonId,
      total_amount: fenToYuan(t.amount),
    };
  }

  /** The trade as Alipay shows it: undefined while a precreated QR was never scanned. */
  #visible(outTradeNo: string): SimTrade | undefined {
    const t = this.core.ledger.trade('alipay', outTradeNo);
    return t && (t.scanned || t.kind === 'code') ? t : undefined;
  }

  #query(outTradeNo: string): Answer {
    const t = this.#visible(outTradeNo);
    if (!t) return fail('ACQ.TRADE_NOT_EXIST', '交易不存在');
    const status =
      t.status === 'paid'
        ? t.refunded > 0 && t.refunded >= t.amount
          ? 'TRADE_CLOSED'
          : 'TRADE_SUCCESS'
        : t.status === 'waiting' || t.status === 'paying' || t.status === 'created'
          ? 'WAIT_BUYER_PAY'
          : 'TRADE_CLOSED';
    const a: Answer = { ...OK, ...this.#brief(t), trade_status: status, buyer_user_id: t.buyerUserId };
    if (t.paidAt) {
      a['send_pay_date'] = cstDateTime(new Date(t.paidAt));
      a['buyer_pay_amount'] = fenToYuan(t.amount);
      a['receipt_amount'] = fenToYuan(t.amount);
    }
    return a;
  }

  #close(outTradeNo: string): Answer {
    const t = this.#visible(outTradeNo);
    if (!t) return fail('ACQ.TRADE_NOT_EXIST', '交易不存在');
    if (t.status === 'paid' || t.status === 'reversed')
      return fail('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    if (t.status !== 'closed' && t.status !== 'payerror') {
      t.status = 'closed';
      t.closedAt = this.core.now().toISOString();
      this.core.ledger.event('alipay', 'close', outTradeNo);
    }
    return { ...OK, trade_no: t.tradeNo, out_trade_no: outTradeNo };
  }

  #cancel(outTradeNo: string): Answer {
    let t = this.core.ledger.trade('alipay', outTradeNo);
    if (!t) {
      // Nothing arrived (or not yet): a closed trade stands in so a late payment cannot succeed.
      t = this.core.ledger.newTrade('alipay', {
        outTradeNo,
        kind: 'code',
        amount: 0,
        subject: '',
        scanned: true,
      });
      t.status = 'closed';
      t.closedAt = this.core.now().toISOString();
      this.core.ledger.event('alipay', 'reverse', outTradeNo);
      return { ...OK, trade_no: t.tradeNo, out_trade_no: outTradeNo, retry_flag: 'N', action: 'close' };
    }
    let action = 'close';
    if (t.status === 'paid' || t.status === 'reversed') {
      action = 'refund';
      if (t.status === 'paid') {
        t.refunded = t.amount;
        this.core.ledger.event('alipay', 'reverse', outTradeNo, t.amount);
      }
      t.status = 'reversed';
    } else if (t.status !== 'closed' && t.status !== 'payerror') {
      t.status = 'closed';
      this.core.ledger.event('alipay', 'reverse', outTradeNo);
    }
    t.scanned = true;
    t.closedAt ??= this.core.now().toISOString();
    return { ...OK, trade_no: t.tradeNo, out_trade_no: outTradeNo, retry_flag: 'N', action };
  }

  #refund(outTradeNo: string, biz: Answer): Answer {
    const amount = this.#amount(biz, 'refund_amount');
    if (amount === undefined) return fail('ACQ.INVALID_PARAMETER', '参数无效: refund_amount');
    const outRequestNo = typeof biz['out_request_no'] === 'string' ? biz['out_request_no'] : outTradeNo;
    const t = this.#visible(outTradeNo);
    if (!t) return fail('ACQ.TRADE_NOT_EXIST', '交易不存在');
    const prior = this.core.ledger.refund('alipay', outTradeNo, outRequestNo);
    if (prior) {
      if (prior.amount !== amount) return fail('ACQ.DISCORDANT_REPEAT_REQUEST', '重复请求不一致');
      return {
        ...OK,
        trade_no: t.tradeNo,
        out_trade_no: outTradeNo,
        buyer_logon_id: t.buyerLogonId,
        fund_change: 'N',
        refund_fee: fenToYuan(t.refunded),
      };
    }
    if (t.status !== 'paid') return fail('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    if (amount > t.amount - t.refunded) return fail('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
    const partialFails = this.core.behaviour.refundPartiallyFails && amount < t.amount;
    const r = this.core.ledger.addRefund({
      provider: 'alipay',
      outTradeNo,
      tradeNo: t.tradeNo,
      outRequestNo,
      amount,
      status: partialFails ? 'FAILED' : 'SUCCESS',
      ...(typeof biz['refund_reason'] === 'string' ? { reason: biz['refund_reason'] } : {}),
    });
    if (partialFails) {
      this.core.ledger.event('alipay', 'refund_failed', outTradeNo, amount, outRequestNo);
      return {
        ...OK,
        trade_no: t.tradeNo,
        out_trade_no: outTradeNo,
        buyer_logon_id: t.buyerLogonId,
        fund_change: 'N',
        refund_fee: fenToYuan(t.refunded),
      };
    }
    r.successAt = this.core.now().toISOString();
    t.refunded += amount;
    this.core.ledger.event('alipay', 'refund', outTradeNo, amount, outRequestNo);
    this.core.notify(t, r);
    return {
      ...OK,
      trade_no: t.tradeNo,
      out_trade_no: outTradeNo,
      buyer_logon_id: t.buyerLogonId,
      fund_change: 'Y',
      refund_fee: fenToYuan(t.refunded),
      gmt_refund_pay: cstDateTime(new Date(r.successAt)),
      buyer_user_id: t.buyerUserId,
    };
  }

  #refundQuery(outTradeNo: string, biz: Answer): Answer {
    const outRequestNo = typeof biz['out_request_no'] === 'string' ? biz['out_request_no'] : '';
    const t = this.#visible(outTradeNo);
    if (!t) return fail('ACQ.TRADE_NOT_EXIST', '交易不存在');
    const r = this.core.ledger.refund('alipay', outTradeNo, outRequestNo);
    if (!r || r.status !== 'SUCCESS') return { ...OK };
    return {
      ...OK,
      trade_no: t.tradeNo,
      out_trade_no: outTradeNo,
      out_request_no: outRequestNo,
      total_amount: fenToYuan(t.amount),
      refund_amount: fenToYuan(r.amount),
      refund_status: 'REFUND_SUCCESS',
      gmt_refund_pay: cstDateTime(new Date(r.successAt!)),
    };
  }

  #bill(biz: Answer): Answer {
    const date = typeof biz['bill_date'] === 'string' ? biz['bill_date'] : '';
    if (biz['bill_type'] !== 'trade' || !/^\d{4}-\d{2}-\d{2}$/.test(date))
      return fail('isv.invalid-parameter', 'bill_type / bill_date');
    const body = alipayBill(this.core.ledger, date, this.#account());
    if (!body) return fail('isp.bill_not_exist', '账单不存在');
    const token = randomBytes(12).toString('hex');
    this.core.billTokens.set(token, { provider: 'alipay', body });
    return { ...OK, bill_download_url: `${this.core.baseUrl}/alipay/bills/${token}.zip` };
  }

  #account(): string {
    return `2088${this.core.credentials.alipay.appId.slice(-8).padStart(8, '0')}0156`;
  }

  billFile(token: string): Buffer | undefined {
    const b = this.core.billTokens.get(token);
    return b?.provider === 'alipay' ? b.body : undefined;
  }

  billFor(date: string): Buffer | undefined {
    return alipayBill(this.core.ledger, date, this.#account());
  }
}
