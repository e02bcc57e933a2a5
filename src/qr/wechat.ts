/**
 * WeChat Pay adapter for a direct merchant.
 *
 * API v3 (JSON, WECHATPAY2-SHA256-RSA2048): Native order `/v3/pay/transactions/native` → `code_url`; query
 * by out_trade_no; close; refunds `/v3/refund/domestic/refunds` and their query; `/v3/bill/tradebill` + the
 * download; notifications (signature, then AES-256-GCM `resource` decryption with the APIv3 key). Every
 * answer's `Wechatpay-Signature` is checked with the platform key named by `Wechatpay-Serial` before
 * anything in it is believed.
 *
 * API v2 (XML, HMAC-SHA256 with the API v2 key), payment code: `/pay/micropay` (USERPAYING → poll
 * `query`), `/pay/orderquery`, `/secapi/pay/reverse` (mutual TLS with the merchant API certificate).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { cstRfc3339, isIsoDate, providerTimeToIso } from './china-time.js';
import { INSPECT, checkAmount, checkNo, checkText, maskOpenid, str, type QrLogger } from './common.js';
import { httpExchange, type HttpOutcome } from './http.js';
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
import { parseWechatBill } from './bill.js';
import { wechatFailure } from './wechat-codes.js';
import {
  decryptWechatResource,
  nonceStr,
  verifyWechatV3Signed,
  wechatV2Sign,
  wechatV2Verify,
  wechatV3Authorization,
  type EncryptedResource,
} from './wechat-sign.js';
import { WechatXmlError, buildWechatXml, parseWechatXml } from './wechat-xml.js';

export const WECHAT_API = 'https://api.mch.weixin.qq.com';

export interface WechatProviderOptions {
  /** 商户号 */
  mchid: string;
  /** the AppID bound to the merchant (公众号 / 小程序 / 应用) */
  appid: string;
  /** the merchant API private key (商户API私钥, apiclient_key.pem) */
  merchantPrivateKey: KeyObject;
  /** the merchant API certificate's serial number (商户API证书序列号) */
  merchantSerialNo: string;
  /**
   * Keys that sign WeChat Pay's answers and notifications, by `Wechatpay-Serial`: the WeChat Pay public key
   * (id "PUB_KEY_ID_…") and/or platform certificates' public keys (by certificate serial).
   */
  platformPublicKeys: Record<string, KeyObject> | ReadonlyMap<string, KeyObject>;
  /** APIv3 key, 32 bytes: decrypts notification resources */
  apiV3Key: Buffer;
  /** API v2 key (32 characters): payment-code (v2) requests; without it payByCode / cancel are not_sent */
  apiV2Key?: Buffer;
  /** merchant API certificate + key for the v2 /secapi/ endpoints over HTTPS (mutual TLS) */
  clientCert?: { cert: string | Buffer; key: KeyObject };
  /** default WECHAT_API */
  baseUrl?: string;
  /** notify_url of Native orders and refunds (HTTPS, no query string, in production) */
  notifyUrl: string;
  /** spbill_create_ip of payment-code requests: the IP of the device that read the code */
  deviceIp?: string;
  /** device_info of payment-code requests (terminal number) */
  deviceInfo?: string;
  /** `query` through API v3 (default; covers Native and payment-code orders) or v2 orderquery */
  queryApi?: 'v3' | 'v2';
  /** per exchange, default 15000 ms */
  timeoutMs?: number;
  /** accepted difference between Wechatpay-Timestamp and now, default 300 s */
  maxClockSkewSeconds?: number;
  log?: QrLogger;
  now?: () => Date;
}

const OUT_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
const OUT_NO_HINT = '6..32 letters, digits or _-|*';
const REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;
const REFUND_NO_HINT = '1..64 letters, digits or _-|*@';

type V3 =
  | { kind: 'answer'; status: number; data: Record<string, unknown> | undefined; raw: Buffer }
  | { kind: 'fail'; result: QrResult<never> };
type V2 = { kind: 'answer'; data: Record<string, string> } | { kind: 'fail'; result: QrResult<never> };

const STATES: Record<string, TradeStatus['state']> = {
  SUCCESS: 'paid',
  REFUND: 'refunded',
  NOTPAY: 'waiting',
  USERPAYING: 'paying',
  CLOSED: 'closed',
  REVOKED: 'closed',
  PAYERROR: 'closed',
};

export class WechatProvider implements QrProvider {
  readonly method = 'wechat' as const;
  readonly #merchantKey: KeyObject;
  readonly #apiV3Key: Buffer;
  readonly #apiV2Key: Buffer | undefined;
  readonly #clientCert: { cert: string | Buffer; key: KeyObject } | undefined;
  readonly #platform: ReadonlyMap<string, KeyObject>;
  readonly #o: Pick<
    WechatProviderOptions,
    | 'mchid'
    | 'appid'
    | 'merchantSerialNo'
    | 'notifyUrl'
    | 'deviceIp'
    | 'deviceInfo'
    | 'queryApi'
    | 'timeoutMs'
    | 'maxClockSkewSeconds'
    | 'log'
    | 'now'
  >;
  readonly #base: string;

  constructor(o: WechatProviderOptions) {
    if (!/^[0-9]{1,32}$/.test(o.mchid ?? '')) throw new TypeError('mchid must be digits');
    if (!/^[0-9A-Za-z]{1,32}$/.test(o.appid ?? '')) throw new TypeError('appid must be letters or digits');
    if (o.merchantPrivateKey?.type !== 'private')
      throw new TypeError('merchantPrivateKey must be a private KeyObject');
    if (!/^[0-9A-Za-z_]{1,64}$/.test(o.merchantSerialNo ?? ''))
      throw new TypeError('merchantSerialNo is required');
    if (!Buffer.isBuffer(o.apiV3Key) || o.apiV3Key.length !== 32)
      throw new TypeError('apiV3Key must be 32 bytes');
    if (o.apiV2Key !== undefined && (!Buffer.isBuffer(o.apiV2Key) || o.apiV2Key.length !== 32))
      throw new TypeError('apiV2Key must be 32 bytes');
    const platform =
      o.platformPublicKeys instanceof Map
        ? o.platformPublicKeys
        : new Map(Object.entries(o.platformPublicKeys ?? {}));
    if (platform.size === 0) throw new TypeError('platformPublicKeys must name at least one key');
    for (const k of platform.values())
      if (k?.type !== 'public') throw new TypeError('platformPublicKeys must hold public KeyObjects');
    if (!o.notifyUrl) throw new TypeError('notifyUrl is required');
    this.#merchantKey = o.merchantPrivateKey;
    this.#apiV3Key = Buffer.from(o.apiV3Key);
    this.#apiV2Key = o.apiV2Key ? Buffer.from(o.apiV2Key) : undefined;
    this.#clientCert = o.clientCert;
    this.#platform = platform;
    this.#o = {
      mchid: o.mchid,
      appid: o.appid,
      merchantSerialNo: o.merchantSerialNo,
      notifyUrl: o.notifyUrl,
      deviceIp: o.deviceIp,
      deviceInfo: o.deviceInfo,
      queryApi: o.queryApi,
      timeoutMs: o.timeoutMs,
      maxClockSkewSeconds: o.maxClockSkewSeconds,
      log: o.log,
      now: o.now,
    };
    this.#base = (o.baseUrl ?? WECHAT_API).replace(/\/+$/, '');
  }

  get mchid(): string {
    return this.#o.mchid;
  }

  toString(): string {
    return `WechatProvider(mchid=${this.#o.mchid}, appid=${this.#o.appid}, base=${this.#base})`;
  }
  toJSON(): Record<string, unknown> {
    return { method: this.method, mchid: this.#o.mchid, appid: this.#o.appid, baseUrl: this.#base };
  }
  [INSPECT](): string {
    return this.toString();
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  #log(method: string, outTradeNo: string, outcome: string, started: number): void {
    this.#o.log?.info(
      { provider: 'wechat', method, outTradeNo, outcome, ms: Date.now() - started },
      'wechat pay call',
    );
  }

  // ---- API v3 -------------------------------------------------------------------------------------

  async #v3(
    api: string,
    method: 'GET' | 'POST',
    pathAndQuery: string,
    outTradeNo: string,
    body?: Record<string, unknown>,
  ): Promise<V3> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const authorization = wechatV3Authorization({
      mchid: this.#o.mchid,
      serialNo: this.#o.merchantSerialNo,
      privateKey: this.#merchantKey,
      method,
      pathAndQuery,
      body: text,
      timestamp: String(Math.floor(this.#now().getTime() / 1000)),
    });
    const headers: Record<string, string> = {
      authorization,
      accept: 'application/json',
      'user-agent': 'posbridge-qr/1',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const started = Date.now();
    const res = await httpExchange({
      method,
      url: `${this.#base}${pathAndQuery}`,
      headers,
      body: body === undefined ? undefined : text,
      timeoutMs: this.#o.timeoutMs ?? 15_000,
    });
    const out = this.#interpretV3(res);
    this.#log(api, outTradeNo, out.kind === 'answer' ? `HTTP ${out.status}` : out.result.status, started);
    return out;
  }

  #interpretV3(res: HttpOutcome): V3 {
    if (res.kind === 'not_sent') return { kind: 'fail', result: notSent(res.reason, res.message) };
    if (res.kind === 'unknown') return { kind: 'fail', result: unknown(res.reason, res.message) };
    const text = res.body.toString('utf8');
    const signed = verifyWechatV3Signed(res.headers, text, this.#platform, {
      maxSkewSeconds: this.#o.maxClockSkewSeconds ?? 300,
      now: this.#now().getTime(),
    });
    if (res.status >= 500) {
      let code = '';
      if (signed.ok) code = str((this.#json(text) ?? {})['code']) ?? '';
      return { kind: 'fail', result: unknown('system_error', `HTTP ${res.status} ${code}`.trim()) };
    }
    if (!signed.ok) return { kind: 'fail', result: unknown('bad_signature', signed.message) };
    const data = text === '' ? undefined : this.#json(text);
    if (text !== '' && data === undefined)
      return { kind: 'fail', result: unknown('system_error', 'the answer is not a JSON object') };
    return { kind: 'answer', status: res.status, data, raw: res.body };
  }

  #json(text: string): Record<string, unknown> | undefined {
    try {
      const v: unknown = JSON.parse(text);
      return typeof v === 'object' && v !== null && !Array.isArray(v)
        ? (v as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  }

  #v3Failure<T>(
    a: { status: number; data: Record<string, unknown> | undefined },
    overrides = {},
  ): QrResult<T> {
    const code = str(a.data?.['code']);
    if (!code) return unknown('system_error', `HTTP ${a.status} without an error code`);
    return wechatFailure(code, str(a.data?.['message']) ?? '', overrides);
  }

  #tradeStatus(d: Record<string, unknown>): TradeStatus | undefined {
    const state = STATES[str(d['trade_state']) ?? ''];
    if (!state) return undefined;
    const s: TradeStatus = { state };
    const tx = str(d['transaction_id']);
    if (tx) s.tradeNo = tx;
    if (state === 'paid' || state === 'refunded') {
      const amount = d['amount'] as { total?: unknown } | undefined;
      if (typeof amount?.total === 'number' && Number.isSafeInteger(amount.total))
        s.paidAmount = amount.total;
      const at = providerTimeToIso(str(d['success_time']));
      if (at) s.paidAt = at;
    }
    const buyer = maskOpenid((d['payer'] as { openid?: unknown } | undefined)?.openid);
    if (buyer) s.buyer = buyer;
    return s;
  }

  async precreate(r: PrecreateRequest): Promise<QrResult<{ qrContent: string; expiresAt: Date }>> {
    const bad =
      checkNo(r.outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT) ??
      checkAmount(r.amount) ??
      checkText(r.subject, 'subject', 127);
    if (bad) return bad;
    if (!(r.expiresAt instanceof Date) || r.expiresAt.getTime() <= this.#now().getTime() + 60_000)
      return notSent('invalid_request', 'expiresAt must be more than a minute ahead');
    const expiresAt = new Date(Math.floor(r.expiresAt.getTime() / 1000) * 1000);
    const body = {
      appid: this.#o.appid,
      mchid: this.#o.mchid,
      description: r.subject,
      out_trade_no: r.outTradeNo,
      time_expire: cstRfc3339(expiresAt),
      notify_url: this.#o.notifyUrl,
      amount: { total: r.amount, currency: 'CNY' },
    };
    const a = await this.#v3('native', 'POST', '/v3/pay/transactions/native', r.outTradeNo, body);
    if (a.kind === 'fail') return a.result;
    if (a.status !== 200) return this.#v3Failure(a);
    const codeUrl = str(a.data?.['code_url']);
    if (!codeUrl) return unknown('system_error', 'no code_url in the answer');
    return ok({ qrContent: codeUrl, expiresAt });
  }

  async query(outTradeNo: string): Promise<QrResult<TradeStatus>> {
    const bad = checkNo(outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT);
    if (bad) return bad;
    if (this.#o.queryApi === 'v2') return this.orderQueryV2(outTradeNo);
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}?mchid=${this.#o.mchid}`;
    const a = await this.#v3('query', 'GET', path, outTradeNo);
    if (a.kind === 'fail') return a.result;
    if (a.status === 200 && a.data) {
      if (a.data['out_trade_no'] !== outTradeNo)
        return unknown('system_error', 'the answer is for another order');
      const s = this.#tradeStatus(a.data);
      return s ? ok(s) : unknown('system_error', 'unexpected trade_state');
    }
    if (a.data?.['code'] === 'ORDER_NOT_EXIST' || a.data?.['code'] === 'ORDERNOTEXIST')
      return ok({ state: 'not_found' });
    return this.#v3Failure(a);
  }

  async close(outTradeNo: string): Promise<QrResult<void>> {
    const bad = checkNo(outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT);
    if (bad) return bad;
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`;
    const a = await this.#v3('close', 'POST', path, outTradeNo, { mchid: this.#o.mchid });
    if (a.kind === 'fail') return a.result;
    if (a.status === 204 || a.status === 200) return ok(undefined);
    return this.#v3Failure(a);
  }

  async refund(r: RefundRequest): Promise<QrResult<RefundStatus>> {
    const bad =
      checkNo(r.outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT) ??
      checkNo(r.outRequestNo, 'outRequestNo', REFUND_NO, REFUND_NO_HINT) ??
      checkAmount(r.amount) ??
      checkAmount(r.totalAmount, 'totalAmount') ??
      (r.reason !== undefined ? checkText(r.reason, 'reason', 80) : undefined);
    if (bad) return bad;
    if (r.amount > r.totalAmount) return notSent('invalid_request', 'amount above totalAmount');
    const body: Record<string, unknown> = {
      out_trade_no: r.outTradeNo,
      out_refund_no: r.outRequestNo,
      notify_url: this.#o.notifyUrl,
      amount: { refund: r.amount, total: r.totalAmount, currency: 'CNY' },
    };
    if (r.reason) body['reason'] = r.reason;
    const a = await this.#v3('refund', 'POST', '/v3/refund/domestic/refunds', r.outTradeNo, body);
    if (a.kind === 'fail') return a.result;
    if (a.status === 200 && a.data) return this.#refundStatus(a.data, r.outTradeNo, r.outRequestNo);
    return this.#v3Failure(a);
  }

  #refundStatus(
    d: Record<string, unknown>,
    outTradeNo: string,
    outRequestNo: string,
  ): QrResult<RefundStatus> {
    if (d['out_refund_no'] !== outRequestNo)
      return unknown('system_error', 'the answer is for another refund');
    if (d['out_trade_no'] !== undefined && d['out_trade_no'] !== outTradeNo)
      return rejected('invalid_request', 'this refund number belongs to another order');
    const status = str(d['status']);
    const state: RefundStatus['state'] | undefined =
      status === 'SUCCESS'
        ? 'success'
        : status === 'PROCESSING'
          ? 'processing'
          : status === 'ABNORMAL' || status === 'CLOSED'
            ? 'failed'
            : undefined;
    if (!state) return unknown('system_error', `unexpected refund status ${String(status).slice(0, 40)}`);
    const s: RefundStatus = { state, outRequestNo };
    const refund = (d['amount'] as { refund?: unknown } | undefined)?.refund;
    if (typeof refund === 'number' && Number.isSafeInteger(refund)) s.amount = refund;
    const id = str(d['refund_id']);
    if (id) s.refundId = id;
    const at = state === 'success' ? providerTimeToIso(str(d['success_time'])) : undefined;
    if (at) s.refundedAt = at;
    return ok(s);
  }

  async refundQuery(outTradeNo: string, outRequestNo: string): Promise<QrResult<RefundStatus>> {
    const bad =
      checkNo(outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT) ??
      checkNo(outRequestNo, 'outRequestNo', REFUND_NO, REFUND_NO_HINT);
    if (bad) return bad;
    const path = `/v3/refund/domestic/refunds/${encodeURIComponent(outRequestNo)}`;
    const a = await this.#v3('refund.query', 'GET', path, outTradeNo);
    if (a.kind === 'fail') return a.result;
    if (a.status === 200 && a.data) return this.#refundStatus(a.data, outTradeNo, outRequestNo);
    if (a.data?.['code'] === 'RESOURCE_NOT_EXISTS') return ok({ state: 'not_found', outRequestNo });
    return this.#v3Failure(a);
  }

  async bill(date: string): Promise<QrResult<BillLine[]>> {
    if (!isIsoDate(date)) return notSent('invalid_request', 'date must be YYYY-MM-DD');
    const a = await this.#v3(
      'tradebill',
      'GET',
      `/v3/bill/tradebill?bill_date=${date}&bill_type=ALL`,
      `bill-${date}`,
    );
    if (a.kind === 'fail') return a.result;
    if (a.status !== 200 || !a.data) {
      if (a.data?.['code'] === 'NO_STATEMENT_EXIST') return ok([]);
      return this.#v3Failure(a);
    }
    const url = str(a.data['download_url']);
    const hashType = str(a.data['hash_type']);
    const hashValue = str(a.data['hash_value']);
    if (!url || hashType !== 'SHA1' || !hashValue)
      return unknown('system_error', 'incomplete tradebill answer');
    const u = new URL(url);
    if (u.origin !== new URL(this.#base).origin)
      return unknown('system_error', 'download_url on another host');
    // The download answer is not signed: the SHA1 from the signed tradebill answer vouches for it.
    const pathAndQuery = `${u.pathname}${u.search}`;
    const res = await httpExchange({
      method: 'GET',
      url: `${this.#base}${pathAndQuery}`,
      headers: {
        authorization: wechatV3Authorization({
          mchid: this.#o.mchid,
          serialNo: this.#o.merchantSerialNo,
          privateKey: this.#merchantKey,
          method: 'GET',
          pathAndQuery,
          body: '',
          timestamp: String(Math.floor(this.#now().getTime() / 1000)),
        }),
        accept: '*/*',
      },
      timeoutMs: this.#o.timeoutMs ?? 15_000,
      maxBytes: 64 * 1024 * 1024,
    });
    if (res.kind === 'not_sent') return notSent(res.reason, res.message);
    if (res.kind === 'unknown') return unknown(res.reason, res.message);
    if (res.status !== 200) return unknown('system_error', `bill download answered HTTP ${res.status}`);
    const sha1 = createHash('sha1').update(res.body).digest('hex');
    if (sha1.toLowerCase() !== hashValue.toLowerCase())
      return unknown('bad_signature', 'bill file fails its SHA1');
    try {
      return ok(parseWechatBill(res.body.toString('utf8')));
    } catch (e) {
      return unknown('system_error', `bill unreadable: ${(e as Error).message}`);
    }
  }

  verifyNotification(
    headers: Record<string, string>,
    body: string,
  ): QrResult<TradeStatus & { outTradeNo: string }> {
    const signed = verifyWechatV3Signed(headers, body, this.#platform, {
      maxSkewSeconds: this.#o.maxClockSkewSeconds ?? 300,
      now: this.#now().getTime(),
    });
    if (!signed.ok) return unknown('bad_signature', `notification: ${signed.message}`);
    const n = this.#json(body);
    const resource = n?.['resource'] as EncryptedResource | undefined;
    if (!n || typeof resource?.ciphertext !== 'string' || typeof resource.nonce !== 'string')
      return rejected('invalid_request', 'notification without an encrypted resource');
    let plain: Record<string, unknown> | undefined;
    try {
      plain = this.#json(decryptWechatResource(resource, this.#apiV3Key));
    } catch {
      return unknown('bad_signature', 'notification resource does not decrypt with the APIv3 key');
    }
    if (!plain) return rejected('invalid_request', 'notification resource is not JSON');
    if (plain['mchid'] !== this.#o.mchid)
      return rejected('invalid_request', 'notification for another mchid');
    const outTradeNo = str(plain['out_trade_no']);
    if (!outTradeNo) return rejected('invalid_request', 'notification without out_trade_no');
    const event = str(n['event_type']) ?? '';
    let status: TradeStatus | undefined;
    if (event.startsWith('TRANSACTION.')) status = this.#tradeStatus(plain);
    else if (event.startsWith('REFUND.')) {
      status = { state: event === 'REFUND.SUCCESS' ? 'refunded' : 'paid' };
      const tx = str(plain['transaction_id']);
      if (tx) status.tradeNo = tx;
    }
    if (!status) return rejected('invalid_request', `unsupported notification ${event.slice(0, 40)}`);
    this.#o.log?.info({ provider: 'wechat', method: 'notify', outTradeNo, event }, 'wechat pay notification');
    return ok({ ...status, outTradeNo });
  }

  // ---- API v2 (payment code) -------------------------------------------------------------------------

  async #v2(
    api: string,
    path: string,
    outTradeNo: string,
    params: Record<string, string>,
    tls = false,
  ): Promise<V2> {
    if (!this.#apiV2Key)
      return { kind: 'fail', result: notSent('not_configured', 'apiV2Key is not configured') };
    const all: Record<string, string> = {
      appid: this.#o.appid,
      mch_id: this.#o.mchid,
      nonce_str: nonceStr(),
      sign_type: 'HMAC-SHA256',
      ...params,
    };
    all['sign'] = wechatV2Sign(all, this.#apiV2Key);
    const started = Date.now();
    const res = await httpExchange({
      method: 'POST',
      url: `${this.#base}${path}`,
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: buildWechatXml(all),
      timeoutMs: this.#o.timeoutMs ?? 15_000,
      ...(tls && this.#clientCert ? { clientCert: this.#clientCert } : {}),
    });
    const out = this.#interpretV2(res);
    this.#log(
      api,
      outTradeNo,
      out.kind === 'answer' ? (out.data['result_code'] ?? '?') : out.result.status,
      started,
    );
    return out;
  }

  #interpretV2(res: HttpOutcome): V2 {
    if (res.kind === 'not_sent') return { kind: 'fail', result: notSent(res.reason, res.message) };
    if (res.kind === 'unknown') return { kind: 'fail', result: unknown(res.reason, res.message) };
    if (res.status !== 200) return { kind: 'fail', result: unknown('system_error', `HTTP ${res.status}`) };
    let data: Record<string, string>;
    try {
      data = parseWechatXml(res.body.toString('utf8'));
    } catch (e) {
      return {
        kind: 'fail',
        result: unknown('system_error', `answer unreadable: ${(e as WechatXmlError).message}`),
      };
    }
    if (data['return_code'] !== 'SUCCESS') {
      // A communication-level refusal (unsigned): our request was malformed or not authorised.
      return {
        kind: 'fail',
        result: rejected(
          'invalid_request',
          `return_code ${String(data['return_code']).slice(0, 20)}: ${(data['return_msg'] ?? '').slice(0, 200)}`,
        ),
      };
    }
    if (!wechatV2Verify(data, this.#apiV2Key!))
      return { kind: 'fail', result: unknown('bad_signature', 'the answer sign does not verify') };
    if (data['mch_id'] !== undefined && data['mch_id'] !== this.#o.mchid)
      return { kind: 'fail', result: unknown('system_error', 'the answer is for another mch_id') };
    return { kind: 'answer', data };
  }

  #v2Paid(d: Record<string, string>): TradeStatus {
    const s: TradeStatus = { state: 'paid' };
    if (d['transaction_id']) s.tradeNo = d['transaction_id'];
    const fee = d['total_fee'];
    if (fee && /^[0-9]{1,11}$/.test(fee)) s.paidAmount = Number(fee);
    const at = providerTimeToIso(d['time_end']);
    if (at) s.paidAt = at;
    const buyer = maskOpenid(d['openid']);
    if (buyer) s.buyer = buyer;
    return s;
  }

  async payByCode(r: PayByCodeRequest): Promise<QrResult<TradeStatus>> {
    const bad =
      checkNo(r.outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT) ??
      checkAmount(r.amount) ??
      checkText(r.subject, 'subject', 127) ??
      checkNo(r.authCode, 'authCode', /^1[0-5][0-9]{16}$/, '18 digits starting 10..15');
    if (bad) return bad;
    const params: Record<string, string> = {
      body: r.subject,
      out_trade_no: r.outTradeNo,
      total_fee: String(r.amount),
      fee_type: 'CNY',
      spbill_create_ip: this.#o.deviceIp ?? '127.0.0.1',
      auth_code: r.authCode,
    };
    if (this.#o.deviceInfo) params['device_info'] = this.#o.deviceInfo;
    const a = await this.#v2('micropay', '/pay/micropay', r.outTradeNo, params);
    if (a.kind === 'fail') {
      // An unsigned refusal of a payment still leaves its fate to a query: never call it failed here.
      if (a.result.status === 'rejected') return unknown('system_error', a.result.message);
      return a.result;
    }
    const d = a.data;
    if (d['result_code'] === 'SUCCESS') {
      if (d['out_trade_no'] !== undefined && d['out_trade_no'] !== r.outTradeNo)
        return unknown('system_error', 'the answer is for another order');
      return ok(this.#v2Paid(d));
    }
    const code = d['err_code'] ?? '';
    if (code === 'USERPAYING') return ok({ state: 'paying' });
    return wechatFailure(code, d['err_code_des'] ?? '');
  }

  /** v2 orderquery (payment-code spec); `query` uses it when `queryApi: 'v2'`. */
  async orderQueryV2(outTradeNo: string): Promise<QrResult<TradeStatus>> {
    const bad = checkNo(outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT);
    if (bad) return bad;
    const a = await this.#v2('orderquery', '/pay/orderquery', outTradeNo, { out_trade_no: outTradeNo });
    if (a.kind === 'fail') return a.result;
    const d = a.data;
    if (d['result_code'] !== 'SUCCESS') {
      if (d['err_code'] === 'ORDERNOTEXIST') return ok({ state: 'not_found' });
      return wechatFailure(d['err_code'] ?? '', d['err_code_des'] ?? '');
    }
    const state = STATES[d['trade_state'] ?? ''];
    if (!state) return unknown('system_error', 'unexpected trade_state');
    if (state === 'paid' || state === 'refunded') return ok({ ...this.#v2Paid(d), state });
    const s: TradeStatus = { state };
    if (d['transaction_id']) s.tradeNo = d['transaction_id'];
    return ok(s);
  }

  /**
   * Payment-code reverse (v2 /secapi/pay/reverse): closes the order, refunding it when paid. The answer does
   * not say which, so the order is queried first: `reversed` is false only when it was certainly unpaid.
   */
  async cancel(outTradeNo: string): Promise<QrResult<{ reversed: boolean }>> {
    const bad = checkNo(outTradeNo, 'outTradeNo', OUT_NO, OUT_NO_HINT);
    if (bad) return bad;
    if (!this.#apiV2Key) return notSent('not_configured', 'apiV2Key is not configured');
    const before = await this.query(outTradeNo);
    const unpaid =
      before.status === 'ok' && (before.value.state === 'closed' || before.value.state === 'not_found');
    const a = await this.#v2(
      'reverse',
      '/secapi/pay/reverse',
      outTradeNo,
      { out_trade_no: outTradeNo },
      true,
    );
    if (a.kind === 'fail') {
      if (a.result.status === 'rejected') return unknown('system_error', a.result.message);
      return a.result;
    }
    const d = a.data;
    if (d['result_code'] === 'SUCCESS') {
      if (d['recall'] === 'Y')
        return unknown('system_error', 'WeChat Pay asks to repeat the reverse (recall=Y)');
      return ok({ reversed: !unpaid });
    }
    if (d['err_code'] === 'ORDERNOTEXIST') return ok({ reversed: false });
    if (d['recall'] === 'Y') return unknown('system_error', `${d['err_code'] ?? ''} (recall=Y)`);
    return wechatFailure(d['err_code'] ?? '', d['err_code_des'] ?? '');
  }
}
