import type {
  BillLine,
  PayByCodeRequest,
  PrecreateRequest,
  QrMethod,
  QrProvider,
  QrResult,
  RefundRequest,
  RefundStatus,
  TradeStatus,
} from '../../src/qr/index.js';

interface Trade {
  outTradeNo: string;
  amount: number;
  state: 'waiting' | 'paying' | 'paid' | 'closed' | 'refunded';
  refunds: Map<string, number>;
  reversed: boolean;
}

/** A scan-to-pay provider in memory, for the engine's QR flows (the real adapters have their own suite). */
export class FakeQr implements QrProvider {
  trades = new Map<string, Trade>();
  /** Apply the next request, then lose its answer (`unknown`). */
  loseNext = false;
  /** Payment codes stay USERPAYING for this many queries. */
  payingQueries = 0;
  calls: string[] = [];
  constructor(readonly method: QrMethod) {}

  private lost<T>(r: QrResult<T>): QrResult<T> {
    if (!this.loseNext) return r;
    this.loseNext = false;
    return { status: 'unknown', reason: 'timeout', message: 'answer lost' };
  }
  private status(t: Trade): TradeStatus {
    return {
      state: t.state,
      tradeNo: `T${t.outTradeNo}`,
      ...(t.state === 'paid' ? { paidAmount: t.amount, buyer: 'ab***@x.com' } : {}),
    };
  }
  /** The customer scans the QR and pays. */
  scanAndPay(outTradeNo: string): void {
    const t = this.trades.get(outTradeNo)!;
    if (t.state === 'waiting') t.state = 'paid';
  }
  async precreate(r: PrecreateRequest) {
    this.calls.push('precreate');
    if (!this.trades.has(r.outTradeNo))
      this.trades.set(r.outTradeNo, {
        outTradeNo: r.outTradeNo,
        amount: r.amount,
        state: 'waiting',
        refunds: new Map(),
        reversed: false,
      });
    return this.lost({
      status: 'ok' as const,
      value: { qrContent: `https://qr.example/${r.outTradeNo}`, expiresAt: r.expiresAt },
    });
  }
  async payByCode(r: PayByCodeRequest): Promise<QrResult<TradeStatus>> {
    this.calls.push('pay');
    if (r.amount % 100 === 51)
      return { status: 'rejected', code: 'insufficient_funds', message: 'no money', retryable: false };
    const t: Trade = {
      outTradeNo: r.outTradeNo,
      amount: r.amount,
      state: this.payingQueries ? 'paying' : 'paid',
      refunds: new Map(),
      reversed: false,
    };
    this.trades.set(r.outTradeNo, t);
    return this.lost({ status: 'ok', value: this.status(t) });
  }
  async query(outTradeNo: string): Promise<QrResult<TradeStatus>> {
    this.calls.push('query');
    const t = this.trades.get(outTradeNo);
    if (!t) return { status: 'ok', value: { state: 'not_found' } };
    if (t.state === 'paying' && --this.payingQueries <= 0) t.state = 'paid';
    return { status: 'ok', value: this.status(t) };
  }
  async close(outTradeNo: string): Promise<QrResult<void>> {
    this.calls.push('close');
    const t = this.trades.get(outTradeNo);
    if (!t) return { status: 'rejected', code: 'trade_not_exist', message: 'none', retryable: false };
    if (t.state === 'paid')
      return { status: 'rejected', code: 'trade_paid', message: 'paid', retryable: false };
    t.state = 'closed';
    return { status: 'ok', value: undefined };
  }
  async cancel(outTradeNo: string): Promise<QrResult<{ reversed: boolean }>> {
    this.calls.push('cancel');
    const t = this.trades.get(outTradeNo);
    if (!t) return { status: 'rejected', code: 'trade_not_exist', message: 'none', retryable: false };
    const wasPaid = t.state === 'paid';
    t.state = 'closed';
    t.reversed = wasPaid;
    return { status: 'ok', value: { reversed: wasPaid } };
  }
  async refund(r: RefundRequest): Promise<QrResult<RefundStatus>> {
    this.calls.push('refund');
    const t = this.trades.get(r.outTradeNo)!;
    const done = [...t.refunds.values()].reduce((a, b) => a + b, 0);
    if (!t.refunds.has(r.outRequestNo)) {
      if (done + r.amount > t.amount)
        return { status: 'rejected', code: 'refund_amount_invalid', message: 'too much', retryable: false };
      t.refunds.set(r.outRequestNo, r.amount);
    }
    return this.lost({
      status: 'ok',
      value: { state: 'success', outRequestNo: r.outRequestNo, amount: r.amount },
    });
  }
  async refundQuery(outTradeNo: string, outRequestNo: string): Promise<QrResult<RefundStatus>> {
    this.calls.push('refundQuery');
    const t = this.trades.get(outTradeNo);
    const a = t?.refunds.get(outRequestNo);
    return {
      status: 'ok',
      value:
        a === undefined
          ? { state: 'not_found', outRequestNo }
          : { state: 'success', outRequestNo, amount: a },
    };
  }
  verifyNotification(): QrResult<TradeStatus & { outTradeNo: string }> {
    return { status: 'rejected', code: 'invalid_request', message: 'not used', retryable: false };
  }
  async bill(): Promise<QrResult<BillLine[]>> {
    return { status: 'ok', value: [] };
  }
}
