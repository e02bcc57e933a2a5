/**
 * The simulated WeChat Pay gateway.
 * - API v3 (/v3/...): the request's `Authorization: WECHATPAY2-SHA256-RSA2048 …` is checked (merchant id,
 *   certificate serial, timestamp within 5 minutes, SHA256withRSA with the merchant's public key); answers
 *   carry Wechatpay-Timestamp / -Nonce / -Signature / -Serial signed with the platform key (errors too).
 * - API v2 payment code (/pay/micropay, /pay/orderquery, /secapi/pay/reverse): XML, sign checked with the
 *   API v2 key (sign_type HMAC-SHA256, or MD5 when absent); answers signed the same way; a refused request
 *   (bad sign, wrong ids) is answered return_code=FAIL, unsigned, as WeChat Pay does.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  WECHAT_AUTH_SCHEME,
  buildWechatXml,
  cstCompact,
  cstRfc3339,
  nonceStr,
  parseWechatAuthorization,
  parseWechatXml,
  sha256WithRsa,
  sha256WithRsaVerify,
  wechatV2Sign,
  wechatV2Verify,
  wechatV3RequestMessage,
  wechatV3ResponseMessage,
  type V2SignType,
} from '../../src/qr/index.js';
import { takeFault, type QrSimApi } from './behaviour.js';
import { wechatBill } from './bills.js';
import type { GatewayReply, QrSimCore } from './core.js';
import type { SimRefund, SimTrade } from './ledger.js';

type Json = Record<string, unknown>;
const OUT_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
const AUTH_CODE = /^1[0-5][0-9]{16}$/;

export class WechatGateway {
  constructor(private readonly core: QrSimCore) {}

  // ---- v3 ------------------------------------------------------------------------------------------

  #v3Reply(status: number, body: Json | undefined, api: QrSimApi | undefined): GatewayReply {
    const text = body === undefined ? '' : JSON.stringify(body);
    const ts = String(Math.floor(this.core.now().getTime() / 1000));
    const nonce = nonceStr();
    const bad = api !== undefined && takeFault(this.core.behaviour.badSignature, api);
    const c = this.core.credentials.wechat;
    const signature = sha256WithRsa(
      wechatV3ResponseMessage(ts, nonce, bad ? `${text} ` : text),
      c.platformPrivateKey,
    );
    const headers: Record<string, string> = {
      'wechatpay-timestamp': ts,
      'wechatpay-nonce': nonce,
      'wechatpay-signature': signature,
      'wechatpay-serial': c.platformSerialNo,
      'wechatpay-signature-type': WECHAT_AUTH_SCHEME,
      'request-id': randomBytes(16).toString('hex'),
    };
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    const r: GatewayReply = { status, headers, body: text };
    if (api) r.api = api;
    return r;
  }

  #error(status: number, code: string, message: string, api?: QrSimApi): GatewayReply {
    return this.#v3Reply(status, { code, message }, api);
  }

  #authorised(
    method: string,
    pathAndQuery: string,
    authorization: string | undefined,
    body: string,
  ): boolean {
    const c = this.core.credentials.wechat;
    const a = parseWechatAuthorization(authorization);
    if (!a || a.scheme !== WECHAT_AUTH_SCHEME) return false;
    const { mchid, nonce_str, signature, timestamp, serial_no } = a.params;
    if (mchid !== c.mchid || serial_no !== c.merchantSerialNo || !nonce_str || !signature || !timestamp)
      return false;
    if (
      !/^[0-9]{1,12}$/.test(timestamp) ||
      Math.abs(this.core.now().getTime() / 1000 - Number(timestamp)) > 300
    )
      return false;
    return sha256WithRsaVerify(
      wechatV3RequestMessage(method, pathAndQuery, timestamp, nonce_str, body),
      signature,
      c.merchantPublicKey,
    );
  }

  /** Routes /v3/...; undefined for an unknown path. */
  handleV3(
    method: string,
    pathAndQuery: string,
    authorization: string | undefined,
    body: string,
  ): GatewayReply | undefined {
    const url = new URL(pathAndQuery, 'http://sim');
    const path = url.pathname;
    let api: QrSimApi | undefined;
    let m: RegExpExecArray | null = null;
    if (method === 'POST' && path === '/v3/pay/transactions/native') api = 'wechat.native';
    else if (method === 'GET' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/.exec(path)))
      api = 'wechat.query';
    else if (method === 'POST' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/.exec(path)))
      api = 'wechat.close';
    else if (method === 'POST' && path === '/v3/refund/domestic/refunds') api = 'wechat.refund';
    else if (method === 'GET' && (m = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(path)))
      api = 'wechat.refund.query';
    else if (method === 'GET' && path === '/v3/bill/tradebill') api = 'wechat.tradebill';
    else if (method === 'GET' && path === '/v3/billdownload/file') {
      if (!this.#authorised(method, pathAndQuery, authorization, body))
        return this.#error(401, 'SIGN_ERROR', '签名错误');
      const file = this.core.billTokens.get(url.searchParams.get('token') ?? '');
      if (!file || file.provider !== 'wechat') return this.#error(404, 'RESOURCE_NOT_EXISTS', '账单不存在');
      // The download is not signed: the tradebill answer carried its SHA1.
      return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: file.body };
    } else return undefined;
    if (!this.#authorised(method, pathAndQuery, authorization, body))
      return this.#error(401, 'SIGN_ERROR', '签名错误，请检查签名参数和方法是否都符合签名算法要求', api);
    let json: Json = {};
    if (method === 'POST') {
      try {
        const v: unknown = JSON.parse(body || '{}');
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        json = v as Json;
      } catch {
        return this.#error(400, 'PARAM_ERROR', '请求体不是合法的JSON', api);
      }
    }
    if (takeFault(this.core.behaviour.systemError, api))
      return this.#error(500, 'SYSTEM_ERROR', '系统错误', api);
    const id = m ? decodeURIComponent(m[1]!) : '';
    let reply: GatewayReply;
    switch (api) {
      case 'wechat.native':
        reply = this.#native(json);
        break;
      case 'wechat.query':
        reply = this.#query(id, url.searchParams.get('mchid'));
        break;
      case 'wechat.close':
        reply = this.#close(id, json);
        break;
      case 'wechat.refund':
        reply = this.#refund(json);
        break;
      case 'wechat.refund.query':
        reply = this.#refundQuery(id);
        break;
      default:
        reply = this.#tradebill(url.searchParams);
    }
    if (takeFault(this.core.behaviour.loseAnswer, api)) reply.lose = true;
    return reply;
  }

  #native(b: Json): GatewayReply {
    const c = this.core.credentials.wechat;
    const api: QrSimApi = 'wechat.native';
    const amount = (b['amount'] as Json | undefined)?.['total'];
    const out = b['out_trade_no'];
    if (b['appid'] !== c.appid || b['mchid'] !== c.mchid)
      return this.#error(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配', api);
    if (
      typeof out !== 'string' ||
      !OUT_NO.test(out) ||
      !Number.isSafeInteger(amount) ||
      (amount as number) <= 0
    )
      return this.#error(400, 'PARAM_ERROR', '参数错误', api);
    if (typeof b['description'] !== 'string' || !b['description'] || typeof b['notify_url'] !== 'string')
      return this.#error(400, 'PARAM_ERROR', '缺少参数 description / notify_url', api);
    const existing = this.core.ledger.trade('wechat', out);
    if (existing) {
      if (existing.status === 'paid') return this.#error(400, 'ORDERPAID', '该订单已支付', api);
      if (existing.status !== 'created' && existing.status !== 'waiting')
        return this.#error(400, 'ORDER_CLOSED', '订单已关闭', api);
      if (existing.amount !== amount || existing.kind !== 'qr')
        return this.#error(400, 'OUT_TRADE_NO_USED', '商户订单号重复', api);
      return this.#v3Reply(200, { code_url: existing.qrContent }, api);
    }
    let expiresAt = new Date(this.core.now().getTime() + 2 * 3600 * 1000);
    if (b['time_expire'] !== undefined) {
      const t = typeof b['time_expire'] === 'string' ? Date.parse(b['time_expire']) : NaN;
      if (Number.isNaN(t) || t <= this.core.now().getTime())
        return this.#error(400, 'PARAM_ERROR', 'time_expire 无效', api);
      expiresAt = new Date(t);
    }
    const t = this.core.ledger.newTrade('wechat', {
      outTradeNo: out,
      kind: 'qr',
      amount: amount as number,
      subject: b['description'],
      expiresAt: expiresAt.toISOString(),
      notifyUrl: b['notify_url'],
      qrContent: `weixin://wxpay/bizpayurl?pr=${randomBytes(6).toString('base64url')}`,
    });
    return this.#v3Reply(200, { code_url: t.qrContent }, api);
  }

  #state(t: SimTrade): string {
    switch (t.status) {
      case 'created':
      case 'waiting':
        return 'NOTPAY';
      case 'paying':
        return 'USERPAYING';
      case 'paid':
        return t.refunded > 0 ? 'REFUND' : 'SUCCESS';
      case 'closed':
        return 'CLOSED';
      case 'payerror':
        return 'PAYERROR';
      case 'reversed':
        return 'REVOKED';
    }
  }

  #transaction(t: SimTrade): Json {
    const c = this.core.credentials.wechat;
    const state = this.#state(t);
    const j: Json = {
      appid: c.appid,
      mchid: c.mchid,
      out_trade_no: t.outTradeNo,
      trade_type: t.kind === 'code' ? 'MICROPAY' : 'NATIVE',
      trade_state: state,
      trade_state_desc: state,
      amount: { total: t.amount, currency: 'CNY' },
    };
    if (t.paidAt) {
      j['transaction_id'] = t.tradeNo;
      j['bank_type'] = 'OTHERS';
      j['success_time'] = cstRfc3339(new Date(t.paidAt));
      j['payer'] = { openid: t.openid };
      j['amount'] = { total: t.amount, payer_total: t.amount, currency: 'CNY', payer_currency: 'CNY' };
    }
    return j;
  }

  #query(out: string, mchid: string | null): GatewayReply {
    const api: QrSimApi = 'wechat.query';
    if (mchid !== this.core.credentials.wechat.mchid)
      return this.#error(400, 'PARAM_ERROR', 'mchid 参数错误', api);
    const t = this.core.ledger.trade('wechat', out);
    if (!t) return this.#error(404, 'ORDER_NOT_EXIST', '订单不存在', api);
    return this.#v3Reply(200, this.#transaction(t), api);
  }

  #close(out: string, b: Json): GatewayReply {
    const api: QrSimApi = 'wechat.close';
    if (b['mchid'] !== this.core.credentials.wechat.mchid)
      return this.#error(400, 'PARAM_ERROR', 'mchid 参数错误', api);
    const t = this.core.ledger.trade('wechat', out);
    if (!t) return this.#error(404, 'ORDER_NOT_EXIST', '订单不存在', api);
    if (t.status === 'paid') return this.#error(400, 'ORDERPAID', '订单已支付', api);
    if (t.status === 'created' || t.status === 'waiting' || t.status === 'paying') {
      t.status = 'closed';
      t.closedAt = this.core.now().toISOString();
      this.core.ledger.event('wechat', 'close', out);
    }
    return this.#v3Reply(204, undefined, api);
  }

  #refundJson(r: SimRefund, t: SimTrade): Json {
    const j: Json = {
      refund_id: r.refundId,
      out_refund_no: r.outRequestNo,
      transaction_id: r.tradeNo,
      out_trade_no: r.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      create_time: cstRfc3339(new Date(r.createdAt)),
      status: r.status,
      funds_account: 'AVAILABLE',
      amount: {
        total: t.amount,
        refund: r.amount,
        payer_total: t.amount,
        payer_refund: r.amount,
        settlement_refund: r.amount,
        settlement_total: t.amount,
        discount_refund: 0,
        currency: 'CNY',
        refund_fee: 0,
      },
    };
    if (r.successAt) j['success_time'] = cstRfc3339(new Date(r.successAt));
    return j;
  }

  #refund(b: Json): GatewayReply {
    const api: QrSimApi = 'wechat.refund';
    const out = b['out_trade_no'];
    const no = b['out_refund_no'];
    const amount = b['amount'] as Json | undefined;
    const refund = amount?.['refund'];
    const total = amount?.['total'];
    if (typeof out !== 'string' || typeof no !== 'string' || !/^[0-9A-Za-z_\-|*@]{1,64}$/.test(no))
      return this.#error(400, 'PARAM_ERROR', '参数错误', api);
    if (
      !Number.isSafeInteger(refund) ||
      (refund as number) <= 0 ||
      !Number.isSafeInteger(total) ||
      amount?.['currency'] !== 'CNY'
    )
      return this.#error(400, 'PARAM_ERROR', '金额参数错误', api);
    const t = this.core.ledger.trade('wechat', out);
    if (!t) return this.#error(404, 'RESOURCE_NOT_EXISTS', '订单不存在', api);
    const prior = this.core.ledger.refund('wechat', out, no);
    if (prior) {
      if (prior.outTradeNo !== out || prior.amount !== refund)
        return this.#error(400, 'INVALID_REQUEST', '退款单号重复，但退款参数不一致', api);
      return this.#v3Reply(200, this.#refundJson(prior, t), api);
    }
    if (t.status !== 'paid') return this.#error(400, 'INVALID_REQUEST', '订单状态不正确，不能退款', api);
    if (total !== t.amount) return this.#error(400, 'INVALID_REQUEST', '订单金额与原订单不一致', api);
    if ((refund as number) > t.amount - t.refunded)
      return this.#error(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额', api);
    const partialFails = this.core.behaviour.refundPartiallyFails && (refund as number) < t.amount;
    const r = this.core.ledger.addRefund({
      provider: 'wechat',
      outTradeNo: out,
      tradeNo: t.tradeNo,
      outRequestNo: no,
      amount: refund as number,
      status: partialFails ? 'PROCESSING' : 'SUCCESS',
      ...(typeof b['reason'] === 'string' ? { reason: b['reason'] } : {}),
    });
    if (partialFails) {
      this.core.schedule(() => {
        r.status = 'ABNORMAL';
        this.core.ledger.event('wechat', 'refund_failed', out, r.amount, no);
        this.core.notify(t, r);
      }, 30);
    } else {
      r.successAt = this.core.now().toISOString();
      t.refunded += r.amount;
      this.core.ledger.event('wechat', 'refund', out, r.amount, no);
      this.core.notify(t, r);
    }
    return this.#v3Reply(200, this.#refundJson(r, t), api);
  }

  #refundQuery(no: string): GatewayReply {
    const api: QrSimApi = 'wechat.refund.query';
    const r = this.core.ledger.refund('wechat', '', no);
    if (!r) return this.#error(404, 'RESOURCE_NOT_EXISTS', '退款单不存在', api);
    const t = this.core.ledger.trade('wechat', r.outTradeNo)!;
    return this.#v3Reply(200, this.#refundJson(r, t), api);
  }

  #tradebill(q: URLSearchParams): GatewayReply {
    const api: QrSimApi = 'wechat.tradebill';
    const date = q.get('bill_date') ?? '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return this.#error(400, 'PARAM_ERROR', 'bill_date 格式错误', api);
    const body = this.billFor(date);
    if (!body) return this.#error(400, 'NO_STATEMENT_EXIST', '账单文件不存在', api);
    const token = randomBytes(12).toString('hex');
    this.core.billTokens.set(token, { provider: 'wechat', body });
    return this.#v3Reply(
      200,
      {
        hash_type: 'SHA1',
        hash_value: createHash('sha1').update(body).digest('hex'),
        download_url: `${this.core.baseUrl}/v3/billdownload/file?token=${token}`,
      },
      api,
    );
  }

  billFor(date: string): Buffer | undefined {
    const c = this.core.credentials.wechat;
    return wechatBill(this.core.ledger, date, c.mchid, c.appid);
  }

  // ---- v2 (payment code) -------------------------------------------------------------------------------

  handleV2(path: string, body: string): GatewayReply | undefined {
    const api: QrSimApi | undefined =
      path === '/pay/micropay'
        ? 'wechat.micropay'
        : path === '/pay/orderquery'
          ? 'wechat.orderquery'
          : path === '/secapi/pay/reverse'
            ? 'wechat.reverse'
            : undefined;
    if (!api) return undefined;
    const c = this.core.credentials.wechat;
    const refuse = (msg: string): GatewayReply => ({
      api,
      status: 200,
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: buildWechatXml({ return_code: 'FAIL', return_msg: msg }),
    });
    let p: Record<string, string>;
    try {
      p = parseWechatXml(body);
    } catch {
      return refuse('XML格式错误');
    }
    const signType: V2SignType = p['sign_type'] === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5';
    if (p['sign_type'] !== undefined && p['sign_type'] !== 'HMAC-SHA256' && p['sign_type'] !== 'MD5')
      return refuse('sign_type 参数错误');
    if (p['appid'] !== c.appid || p['mch_id'] !== c.mchid) return refuse('appid和mch_id不匹配');
    if (!wechatV2Verify(p, c.apiV2Key, signType)) return refuse('签名错误');
    const out = p['out_trade_no'] ?? '';
    let answer: Record<string, string>;
    if (takeFault(this.core.behaviour.systemError, api))
      answer = { result_code: 'FAIL', err_code: 'SYSTEMERROR', err_code_des: '系统超时' };
    else if (!OUT_NO.test(out))
      answer = { result_code: 'FAIL', err_code: 'PARAM_ERROR', err_code_des: 'out_trade_no 参数错误' };
    else if (api === 'wechat.micropay') answer = this.#micropay(out, p);
    else if (api === 'wechat.orderquery') answer = this.#orderquery(out);
    else answer = this.#reverse(out);
    const full: Record<string, string> = {
      return_code: 'SUCCESS',
      return_msg: 'OK',
      appid: c.appid,
      mch_id: c.mchid,
      nonce_str: nonceStr(),
      ...answer,
    };
    const bad = takeFault(this.core.behaviour.badSignature, api);
    full['sign'] = wechatV2Sign(
      bad ? { ...full, nonce_str: `${full['nonce_str']}x` } : full,
      c.apiV2Key,
      signType,
    );
    const reply: GatewayReply = {
      api,
      status: 200,
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: buildWechatXml(full),
    };
    if (answer['err_code'] !== 'SYSTEMERROR' && takeFault(this.core.behaviour.loseAnswer, api))
      reply.lose = true;
    return reply;
  }

  #paidV2(t: SimTrade): Record<string, string> {
    return {
      result_code: 'SUCCESS',
      openid: t.openid,
      is_subscribe: 'N',
      trade_type: 'MICROPAY',
      bank_type: 'OTHERS',
      fee_type: 'CNY',
      total_fee: String(t.amount),
      cash_fee_type: 'CNY',
      cash_fee: String(t.amount),
      transaction_id: t.tradeNo,
      out_trade_no: t.outTradeNo,
      time_end: cstCompact(new Date(t.paidAt!)),
    };
  }

  #micropay(out: string, p: Record<string, string>): Record<string, string> {
    const fee = p['total_fee'] ?? '';
    const authCode = p['auth_code'] ?? '';
    if (!/^[1-9][0-9]{0,10}$/.test(fee) || !p['body'] || !p['spbill_create_ip'])
      return { result_code: 'FAIL', err_code: 'PARAM_ERROR', err_code_des: '参数错误' };
    const existing = this.core.ledger.trade('wechat', out);
    if (existing) {
      if (existing.status === 'paid')
        return { result_code: 'FAIL', err_code: 'ORDERPAID', err_code_des: '订单已支付' };
      if (existing.status === 'paying')
        return { result_code: 'FAIL', err_code: 'USERPAYING', err_code_des: '需要用户输入支付密码' };
      if (existing.status === 'reversed')
        return { result_code: 'FAIL', err_code: 'ORDERREVERSED', err_code_des: '订单已撤销' };
      return { result_code: 'FAIL', err_code: 'ORDERCLOSED', err_code_des: '订单已关闭' };
    }
    if (!AUTH_CODE.test(authCode) || authCode.endsWith('0014'))
      return { result_code: 'FAIL', err_code: 'AUTH_CODE_INVALID', err_code_des: '授权码检验错误' };
    const t = this.core.ledger.newTrade('wechat', {
      outTradeNo: out,
      kind: 'code',
      amount: Number(fee),
      subject: p['body'],
      scanned: true,
    });
    if (authCode.endsWith('0051')) {
      t.status = 'payerror';
      t.closedAt = this.core.now().toISOString();
      this.core.ledger.event('wechat', 'fail', out);
      return { result_code: 'FAIL', err_code: 'NOTENOUGH', err_code_des: '余额不足' };
    }
    if (this.core.behaviour.userPayingMs > 0) {
      this.core.payLater(t, this.core.behaviour.userPayingMs);
      return { result_code: 'FAIL', err_code: 'USERPAYING', err_code_des: '需要用户输入支付密码' };
    }
    this.core.markPaid(t);
    return this.#paidV2(t);
  }

  #orderquery(out: string): Record<string, string> {
    const t = this.core.ledger.trade('wechat', out);
    if (!t) return { result_code: 'FAIL', err_code: 'ORDERNOTEXIST', err_code_des: '此交易订单号不存在' };
    const state = this.#state(t);
    const base: Record<string, string> = t.paidAt
      ? { ...this.#paidV2(t) }
      : { result_code: 'SUCCESS', out_trade_no: out, total_fee: String(t.amount) };
    return { ...base, trade_state: state, trade_state_desc: state };
  }

  #reverse(out: string): Record<string, string> {
    let t = this.core.ledger.trade('wechat', out);
    if (!t) {
      // A stand-in so a late payment code for this order cannot succeed.
      t = this.core.ledger.newTrade('wechat', {
        outTradeNo: out,
        kind: 'code',
        amount: 0,
        subject: '',
        scanned: true,
      });
      t.status = 'reversed';
      t.closedAt = this.core.now().toISOString();
      this.core.ledger.event('wechat', 'reverse', out);
      return { result_code: 'SUCCESS', recall: 'N' };
    }
    if (t.status !== 'reversed') {
      if (t.status === 'paid') t.refunded = t.amount;
      this.core.ledger.event('wechat', 'reverse', out, t.status === 'paid' ? t.amount : undefined);
      t.status = 'reversed';
      t.closedAt ??= this.core.now().toISOString();
    }
    return { result_code: 'SUCCESS', recall: 'N' };
  }
}
