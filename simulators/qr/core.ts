/**
 * The simulated providers' shared state and the customer's side: ledger, behaviour, notifier, timers, and
 * what happens when the customer scans, confirms or gives up (`scan`).
 */
import type { Logger } from 'pino';
import { cloneBehaviour, type QrBehaviour } from './behaviour.js';
import type { QrSimCredentials } from './keys.js';
import { QrLedger, type SimProvider, type SimRefund, type SimTrade } from './ledger.js';
import { Notifier } from './notify.js';

export type ScanAction = 'pay' | 'cancel' | 'expire' | 'userpaying_then_pay';
export const SCAN_ACTIONS: readonly ScanAction[] = ['pay', 'cancel', 'expire', 'userpaying_then_pay'];

export class ScanError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class QrSimCore {
  readonly ledger: QrLedger;
  readonly notifier: Notifier;
  behaviour: QrBehaviour;
  notifyUrl: string | undefined;
  /** set once the HTTP server listens: http://host:port */
  baseUrl = '';
  /** bill files handed out by download token (fixed bytes: WeChat sends their SHA1 first) */
  readonly billTokens = new Map<string, { provider: SimProvider; body: Buffer }>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly credentials: QrSimCredentials,
    initial: QrBehaviour,
    opts: { notifyUrl?: string; retries: number; retryDelayMs: number; log?: Logger; now: () => Date },
    readonly log?: Logger,
  ) {
    this.ledger = new QrLedger(opts.now);
    this.now = opts.now;
    this.behaviour = cloneBehaviour(initial);
    this.notifyUrl = opts.notifyUrl;
    this.notifier = new Notifier({
      credentials,
      behaviour: () => this.behaviour,
      notifyUrl: () => this.notifyUrl,
      retries: opts.retries,
      retryDelayMs: opts.retryDelayMs,
      ...(opts.log ? { log: opts.log } : {}),
    });
  }

  readonly now: () => Date;

  schedule(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.notifier.close();
  }

  notify(t: SimTrade, refund?: SimRefund): void {
    if (t.provider === 'alipay') this.notifier.alipay(t, refund);
    else this.notifier.wechat(t, refund);
  }

  /** The customer's money moves: the trade is paid and notified. */
  markPaid(t: SimTrade): void {
    if (t.status === 'paid') return;
    t.status = 'paid';
    t.scanned = true;
    t.paidAt = this.now().toISOString();
    this.ledger.event(t.provider, 'pay', t.outTradeNo, t.amount);
    this.log?.info({ provider: t.provider, outTradeNo: t.outTradeNo }, 'qr sim: paid');
    this.notify(t);
  }

  /** USERPAYING, then paid after `ms` unless something else ended it first. */
  payLater(t: SimTrade, ms: number): void {
    t.status = 'paying';
    t.scanned = true;
    this.ledger.event(t.provider, 'userpaying', t.outTradeNo);
    this.schedule(() => {
      if (t.status === 'paying') this.markPaid(t);
    }, ms);
  }

  findForScan(ref: { outTradeNo?: string; qrContent?: string; provider?: SimProvider }): SimTrade {
    const all = this.ledger
      .trades(ref.provider)
      .filter((t) => (ref.outTradeNo ? t.outTradeNo === ref.outTradeNo : t.qrContent === ref.qrContent));
    if (all.length === 0) throw new ScanError(404, 'no_trade', 'no such trade');
    if (all.length > 1)
      throw new ScanError(400, 'ambiguous', 'both providers have this outTradeNo: name the provider');
    return this.ledger.trade(all[0]!.provider, all[0]!.outTradeNo)!;
  }

  /** POST /scan: what the customer does with the QR or the payment code. */
  scan(
    ref: { outTradeNo?: string; qrContent?: string; provider?: SimProvider },
    action: ScanAction,
  ): SimTrade {
    const t = this.findForScan(ref);
    const open = t.status === 'created' || t.status === 'waiting' || t.status === 'paying';
    switch (action) {
      case 'pay':
        if (!open) throw new ScanError(409, 'not_payable', `trade is ${t.status}`);
        this.ledger.event(t.provider, 'scan', t.outTradeNo);
        this.markPaid(t);
        break;
      case 'userpaying_then_pay':
        if (!open) throw new ScanError(409, 'not_payable', `trade is ${t.status}`);
        this.ledger.event(t.provider, 'scan', t.outTradeNo);
        this.payLater(t, this.behaviour.userPayingMs);
        break;
      case 'cancel':
        if (!open) throw new ScanError(409, 'not_open', `trade is ${t.status}`);
        if (t.status === 'paying') {
          // The customer gives up at the password prompt: the payment fails.
          t.status = t.provider === 'wechat' ? 'payerror' : 'closed';
          t.closedAt = this.now().toISOString();
          this.ledger.event(t.provider, 'fail', t.outTradeNo);
        } else {
          // Scanned, then abandoned: the trade now exists and waits (until it expires or is closed).
          t.status = 'waiting';
          t.scanned = true;
          this.ledger.event(t.provider, 'scan', t.outTradeNo);
        }
        break;
      case 'expire':
        if (t.status === 'paid') throw new ScanError(409, 'paid', 'a paid trade does not expire');
        if (open) {
          t.status = 'closed';
          t.closedAt = this.now().toISOString();
          t.expiresAt = t.closedAt;
          this.ledger.event(t.provider, 'expire', t.outTradeNo);
        }
        break;
    }
    return { ...t };
  }

  reset(initial: QrBehaviour): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.notifier.cancelPending();
    this.ledger.clear();
    this.notifier.records.length = 0;
    this.behaviour = cloneBehaviour(initial);
    this.billTokens.clear();
  }
}

/** One gateway answer; `lose`: carry it out but drop the connection instead of answering. */
export interface GatewayReply {
  api?: string;
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
  lose?: boolean;
}
