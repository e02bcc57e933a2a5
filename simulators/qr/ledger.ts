/**
 * The simulated providers' books: trades, refunds and an event log (creations, scans, payments, closes,
 * reversals, refunds), one ledger per provider (keys carry the provider). Amounts in fen.
 */
import { randomBytes } from 'node:crypto';
import { cstCompact, cstDate } from '../../src/qr/index.js';

export type SimProvider = 'alipay' | 'wechat';

export type SimTradeStatus =
  | 'created' // QR precreated / Native order placed, nobody scanned (Alipay: no trade exists yet)
  | 'waiting' // scanned or placed, not paid (Alipay WAIT_BUYER_PAY, WeChat NOTPAY)
  | 'paying' // the customer is confirming (USERPAYING)
  | 'paid'
  | 'closed' // closed or expired unpaid (TRADE_CLOSED / CLOSED)
  | 'payerror' // payment failed (WeChat PAYERROR; Alipay shows TRADE_CLOSED)
  | 'reversed'; // payment-code reverse / cancel (WeChat REVOKED; Alipay TRADE_CLOSED)

export interface SimTrade {
  provider: SimProvider;
  outTradeNo: string;
  tradeNo: string;
  kind: 'qr' | 'code';
  amount: number;
  subject: string;
  status: SimTradeStatus;
  /** fen refunded so far (successful refunds and reversals) */
  refunded: number;
  /** Alipay QR: the trade exists once scanned */
  scanned: boolean;
  createdAt: string;
  expiresAt?: string;
  paidAt?: string;
  closedAt?: string;
  /** masked buyer shown in answers; full ids stay internal to the simulator */
  buyerLogonId: string;
  buyerUserId: string;
  openid: string;
  notifyUrl?: string;
  qrContent?: string;
}

export type SimRefundStatus = 'SUCCESS' | 'PROCESSING' | 'ABNORMAL' | 'FAILED';

export interface SimRefund {
  provider: SimProvider;
  outTradeNo: string;
  tradeNo: string;
  outRequestNo: string;
  refundId: string;
  amount: number;
  status: SimRefundStatus;
  createdAt: string;
  successAt?: string;
  reason?: string;
}

export interface SimEvent {
  at: string;
  provider: SimProvider;
  type:
    | 'create'
    | 'scan'
    | 'userpaying'
    | 'pay'
    | 'fail'
    | 'close'
    | 'expire'
    | 'reverse'
    | 'refund'
    | 'refund_failed';
  outTradeNo: string;
  amount?: number;
  outRequestNo?: string;
}

const digits = (n: number): string => {
  let s = '';
  const b = randomBytes(n);
  for (let i = 0; i < n; i++) s += String(b[i]! % 10);
  return s;
};

export class QrLedger {
  readonly #trades = new Map<string, SimTrade>();
  readonly #refunds = new Map<string, SimRefund>();
  readonly #events: SimEvent[] = [];

  constructor(private readonly now: () => Date) {}

  static tradeKey(p: SimProvider, outTradeNo: string): string {
    return `${p}:${outTradeNo}`;
  }

  trade(p: SimProvider, outTradeNo: string): SimTrade | undefined {
    const t = this.#trades.get(QrLedger.tradeKey(p, outTradeNo));
    if (t) this.expireIfDue(t);
    return t;
  }

  /** Unpaid trades past their expiry close (lazily, when looked at). */
  expireIfDue(t: SimTrade): void {
    if (
      t.expiresAt &&
      (t.status === 'created' || t.status === 'waiting') &&
      this.now().getTime() >= Date.parse(t.expiresAt)
    ) {
      t.status = 'closed';
      t.closedAt = this.now().toISOString();
      this.event(t.provider, 'expire', t.outTradeNo);
    }
  }

  newTrade(
    p: SimProvider,
    init: Pick<SimTrade, 'outTradeNo' | 'kind' | 'amount' | 'subject'> & Partial<SimTrade>,
  ): SimTrade {
    const now = this.now();
    const t: SimTrade = {
      provider: p,
      tradeNo:
        p === 'alipay'
          ? `${cstCompact(now).slice(0, 8)}22001${digits(15)}`
          : `4200${digits(6)}${cstCompact(now).slice(0, 8)}${digits(10)}`,
      status: 'created',
      refunded: 0,
      scanned: false,
      createdAt: now.toISOString(),
      buyerLogonId: `1${digits(2)}****${digits(4)}`,
      buyerUserId: `2088${digits(12)}`,
      openid: `oUpF8u${randomBytes(16).toString('base64url').slice(0, 22)}`,
      ...init,
    };
    this.#trades.set(QrLedger.tradeKey(p, t.outTradeNo), t);
    this.event(p, 'create', t.outTradeNo, t.amount);
    return t;
  }

  static refundKey(p: SimProvider, outTradeNo: string, outRequestNo: string): string {
    // WeChat refund numbers are unique per merchant; Alipay's per trade.
    return p === 'wechat' ? `wechat:${outRequestNo}` : `alipay:${outTradeNo}:${outRequestNo}`;
  }

  refund(p: SimProvider, outTradeNo: string, outRequestNo: string): SimRefund | undefined {
    return this.#refunds.get(QrLedger.refundKey(p, outTradeNo, outRequestNo));
  }

  addRefund(r: Omit<SimRefund, 'refundId' | 'createdAt'>): SimRefund {
    const full: SimRefund = {
      ...r,
      refundId: r.provider === 'wechat' ? `5030${digits(24)}` : `${digits(28)}`,
      createdAt: this.now().toISOString(),
    };
    this.#refunds.set(QrLedger.refundKey(r.provider, r.outTradeNo, r.outRequestNo), full);
    return full;
  }

  event(
    provider: SimProvider,
    type: SimEvent['type'],
    outTradeNo: string,
    amount?: number,
    outRequestNo?: string,
  ): void {
    const e: SimEvent = { at: this.now().toISOString(), provider, type, outTradeNo };
    if (amount !== undefined) e.amount = amount;
    if (outRequestNo !== undefined) e.outRequestNo = outRequestNo;
    this.#events.push(e);
    if (this.#events.length > 10_000) this.#events.shift();
  }

  trades(p?: SimProvider): SimTrade[] {
    const all = [...this.#trades.values()];
    for (const t of all) this.expireIfDue(t);
    return all.filter((t) => !p || t.provider === p).map((t) => ({ ...t }));
  }

  refunds(p?: SimProvider): SimRefund[] {
    return [...this.#refunds.values()].filter((r) => !p || r.provider === p).map((r) => ({ ...r }));
  }

  events(): SimEvent[] {
    return this.#events.map((e) => ({ ...e }));
  }

  /** Payments completed and refunds succeeded on a China date (the bill's content). */
  forBill(p: SimProvider, date: string): { paid: SimTrade[]; refunds: SimRefund[] } {
    const on = (iso: string | undefined): boolean => iso !== undefined && cstDate(new Date(iso)) === date;
    return {
      paid: [...this.#trades.values()].filter((t) => t.provider === p && on(t.paidAt)),
      refunds: [...this.#refunds.values()].filter(
        (r) => r.provider === p && r.status === 'SUCCESS' && on(r.successAt),
      ),
    };
  }

  clear(): void {
    this.#trades.clear();
    this.#refunds.clear();
    this.#events.length = 0;
  }
}
