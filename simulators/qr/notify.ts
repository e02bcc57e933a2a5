/**
 * Asynchronous notifications as the providers send them, POSTed to the configured notify URL (else the
 * notify_url of the request): Alipay form-encoded trade_status_sync signed RSA2 (answer "success" expected),
 * WeChat Pay v3 JSON with an AES-256-GCM `resource` and Wechatpay-* signature headers (2xx expected).
 * Undelivered notifications are retried a few times.
 */
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  alipaySignContent,
  cstDateTime,
  cstRfc3339,
  encryptWechatResource,
  fenToYuan,
  nonceStr,
  rsa2Sign,
  sha256WithRsa,
  wechatV3ResponseMessage,
} from '../../src/qr/index.js';
import { takeFault, type QrBehaviour } from './behaviour.js';
import type { QrSimCredentials } from './keys.js';
import type { SimRefund, SimTrade } from './ledger.js';

export interface NotificationRecord {
  provider: 'alipay' | 'wechat';
  event: string;
  outTradeNo: string;
  url: string;
  attempts: number;
  delivered: boolean;
  lastStatus?: number;
  badSignature: boolean;
  at: string;
}

export interface NotifierOptions {
  credentials: QrSimCredentials;
  behaviour: () => QrBehaviour;
  notifyUrl: () => string | undefined;
  retries: number;
  retryDelayMs: number;
  log?: Logger;
}

function post(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? https : http).request(
      u,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        agent: false,
        timeout: 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export class Notifier {
  readonly records: NotificationRecord[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(private readonly o: NotifierOptions) {}

  close(): void {
    this.#closed = true;
    this.cancelPending();
  }

  /** Drops the pending retries (reset). */
  cancelPending(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #target(trade: SimTrade): string | undefined {
    return this.o.notifyUrl() ?? trade.notifyUrl;
  }

  /** Alipay trade_status_sync for a trade (payment, or a refund when `refund` is given). */
  alipay(trade: SimTrade, refund?: SimRefund): void {
    const url = this.#target(trade);
    if (!url) return;
    const c = this.o.credentials.alipay;
    const paid = trade.paidAt !== undefined;
    const status =
      trade.status === 'paid'
        ? trade.refunded >= trade.amount
          ? 'TRADE_CLOSED'
          : 'TRADE_SUCCESS'
        : trade.status === 'waiting' || trade.status === 'paying' || trade.status === 'created'
          ? 'WAIT_BUYER_PAY'
          : 'TRADE_CLOSED';
    const p: Record<string, string> = {
      notify_time: cstDateTime(new Date()),
      notify_type: 'trade_status_sync',
      notify_id: randomUUID().replaceAll('-', ''),
      app_id: c.appId,
      charset: 'utf-8',
      version: '1.0',
      sign_type: 'RSA2',
      trade_no: trade.tradeNo,
      out_trade_no: trade.outTradeNo,
      buyer_id: trade.buyerUserId,
      buyer_logon_id: trade.buyerLogonId,
      trade_status: status,
      total_amount: fenToYuan(trade.amount),
      subject: trade.subject,
      gmt_create: cstDateTime(new Date(trade.createdAt)),
    };
    if (paid) {
      p['receipt_amount'] = fenToYuan(trade.amount);
      p['buyer_pay_amount'] = fenToYuan(trade.amount);
      p['gmt_payment'] = cstDateTime(new Date(trade.paidAt!));
    }
    if (refund) {
      p['refund_fee'] = fenToYuan(trade.refunded);
      p['out_biz_no'] = refund.outRequestNo;
      p['gmt_refund'] = cstDateTime(new Date(refund.successAt ?? refund.createdAt));
    }
    if (trade.closedAt && status === 'TRADE_CLOSED') p['gmt_close'] = cstDateTime(new Date(trade.closedAt));
    const bad = takeFault(this.o.behaviour().badSignature, 'alipay.notify');
    p['sign'] = rsa2Sign(alipaySignContent(p, ['sign', 'sign_type']) + (bad ? 'x' : ''), c.alipayPrivateKey);
    const body = new URLSearchParams(p).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    this.#send(
      'alipay',
      status,
      trade.outTradeNo,
      url,
      headers,
      body,
      bad,
      (r) => r.text.trim() === 'success',
    );
  }

  /** WeChat Pay v3 TRANSACTION.SUCCESS or REFUND.* for a trade. */
  wechat(trade: SimTrade, refund?: SimRefund): void {
    const url = this.#target(trade);
    if (!url) return;
    const c = this.o.credentials.wechat;
    let event: string;
    let resource: Record<string, unknown>;
    if (refund) {
      event =
        refund.status === 'SUCCESS'
          ? 'REFUND.SUCCESS'
          : refund.status === 'ABNORMAL'
            ? 'REFUND.ABNORMAL'
            : 'REFUND.CLOSED';
      resource = {
        mchid: c.mchid,
        out_trade_no: trade.outTradeNo,
        transaction_id: trade.tradeNo,
        out_refund_no: refund.outRequestNo,
        refund_id: refund.refundId,
        refund_status:
          refund.status === 'SUCCESS' ? 'SUCCESS' : refund.status === 'ABNORMAL' ? 'ABNORMAL' : 'CLOSED',
        ...(refund.successAt ? { success_time: cstRfc3339(new Date(refund.successAt)) } : {}),
        user_received_account: '支付用户零钱',
        amount: {
          total: trade.amount,
          refund: refund.amount,
          payer_total: trade.amount,
          payer_refund: refund.amount,
        },
      };
    } else {
      event = 'TRANSACTION.SUCCESS';
      resource = {
        appid: c.appid,
        mchid: c.mchid,
        out_trade_no: trade.outTradeNo,
        transaction_id: trade.tradeNo,
        trade_type: trade.kind === 'code' ? 'MICROPAY' : 'NATIVE',
        trade_state: 'SUCCESS',
        trade_state_desc: '支付成功',
        bank_type: 'OTHERS',
        attach: '',
        success_time: cstRfc3339(new Date(trade.paidAt ?? Date.now())),
        payer: { openid: trade.openid },
        amount: { total: trade.amount, payer_total: trade.amount, currency: 'CNY', payer_currency: 'CNY' },
      };
    }
    const aad = refund ? 'refund' : 'transaction';
    const enc = encryptWechatResource(JSON.stringify(resource), c.apiV3Key, aad);
    enc.original_type = aad;
    const body = JSON.stringify({
      id: randomUUID(),
      create_time: cstRfc3339(new Date()),
      resource_type: 'encrypt-resource',
      event_type: event,
      summary: refund ? '退款状态变更' : '支付成功',
      resource: enc,
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = nonceStr();
    const bad = takeFault(this.o.behaviour().badSignature, 'wechat.notify');
    const signature = sha256WithRsa(
      wechatV3ResponseMessage(ts, nonce, body) + (bad ? 'x' : ''),
      c.platformPrivateKey,
    );
    const headers = {
      'content-type': 'application/json',
      'wechatpay-timestamp': ts,
      'wechatpay-nonce': nonce,
      'wechatpay-signature': signature,
      'wechatpay-serial': c.platformSerialNo,
      'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    };
    this.#send(
      'wechat',
      event,
      trade.outTradeNo,
      url,
      headers,
      body,
      bad,
      (r) => r.status >= 200 && r.status < 300,
    );
  }

  #send(
    provider: 'alipay' | 'wechat',
    event: string,
    outTradeNo: string,
    url: string,
    headers: Record<string, string>,
    body: string,
    badSignature: boolean,
    accepted: (r: { status: number; text: string }) => boolean,
  ): void {
    const copies = this.o.behaviour().duplicateNotification ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const rec: NotificationRecord = {
        provider,
        event,
        outTradeNo,
        url,
        attempts: 0,
        delivered: false,
        badSignature,
        at: new Date().toISOString(),
      };
      this.records.push(rec);
      const attempt = (): void => {
        if (this.#closed) return;
        rec.attempts++;
        post(url, headers, body).then(
          (r) => {
            rec.lastStatus = r.status;
            if (accepted(r)) rec.delivered = true;
            else retry();
          },
          () => retry(),
        );
      };
      const retry = (): void => {
        if (this.#closed || rec.attempts > this.o.retries) {
          this.o.log?.warn({ provider, outTradeNo, event }, 'notification not accepted');
          return;
        }
        const t = setTimeout(() => {
          this.#timers.delete(t);
          attempt();
        }, this.o.retryDelayMs);
        this.#timers.add(t);
      };
      attempt();
    }
  }
}
