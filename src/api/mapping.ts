/**
 * Engine values → protocol values. Every field is copied by name (a whitelist), so nothing the engine
 * adds to a view or an event reaches a CRM page unless it is listed here: card data never leaves
 * beyond the masked PAN and token facts.
 */
import type { EngineEvent, OperationView, OrderSummary as EngineOrderSummary } from '../engine/index.js';
import {
  FINAL_PAYMENT_STATES,
  PAYMENT_KINDS,
  PAYMENT_STATES,
  READER_PROGRESS,
  type BatchState,
  type CardView,
  type OrderSummary,
  type Payment,
  type PaymentEvent,
  type PaymentKind,
  type PaymentState,
  type ReaderProgress,
} from './client/types.js';

/** ISO 4217 alphabetic ↔ numeric for the currencies a UnionPay terminal in the region may use. */
const CURRENCIES: Record<string, string> = {
  CNY: '156',
  HKD: '344',
  MOP: '446',
  TWD: '901',
  USD: '840',
  EUR: '978',
  GBP: '826',
  JPY: '392',
  KRW: '410',
  SGD: '702',
  AUD: '036',
  CAD: '124',
  THB: '764',
  MYR: '458',
};
const ALPHA_OF: Record<string, string> = Object.fromEntries(
  Object.entries(CURRENCIES).map(([a, n]) => [n, a]),
);

/** "CNY" or "156" → "156"; undefined when the alphabetic code is unknown. */
export function numericCurrency(code: string): string | undefined {
  if (/^[0-9]{3}$/.test(code)) return code;
  return CURRENCIES[code];
}

/** "156" → "CNY" (numeric when not in the table). */
export function alphaCurrency(numeric: string): string {
  return ALPHA_OF[numeric] ?? numeric;
}

const FINAL: ReadonlySet<string> = new Set(FINAL_PAYMENT_STATES);
const BATCH_STATES: ReadonlySet<string> = new Set(['open', 'closing', 'uploading', 'settled']);
const STATES: ReadonlySet<string> = new Set(PAYMENT_STATES);
const KINDS: ReadonlySet<string> = new Set(PAYMENT_KINDS);
const PROGRESS: ReadonlySet<string> = new Set(READER_PROGRESS);

export const isFinal = (state: string): boolean => FINAL.has(state);

function card(c: OperationView['card']): CardView | null {
  if (!c) return null;
  return {
    panDisplay: c.panDisplay,
    scheme: c.scheme,
    kind: c.kind,
    entryMode: c.entryMode,
    ...(c.deviceAccountLast4 ? { deviceAccountLast4: c.deviceAccountLast4 } : {}),
    ...(c.fundingLast4 ? { fundingLast4: c.fundingLast4 } : {}),
  };
}

function balanceOf(v: OperationView): Payment['balance'] {
  const b = v.result?.['balance'];
  if (!b || typeof b !== 'object') return null;
  const { amount, currency } = b as { amount?: unknown; currency?: unknown };
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || typeof currency !== 'string')
    return null;
  return { amount, currency: alphaCurrency(currency) };
}

export function toPayment(v: OperationView): Payment {
  return {
    paymentId: v.id,
    kind: v.kind,
    state: v.state,
    final: isFinal(v.state),
    reason: v.reason,
    orderId: v.orderId,
    originalId: v.originalId,
    amount: v.amount,
    approvedAmount: v.approvedAmount,
    currency: alphaCurrency(v.currency),
    operatorId: v.operatorId,
    card: card(v.card),
    host: {
      batch: v.host.batch,
      stan: v.host.stan,
      rrn: v.host.rrn,
      authCode: v.host.authCode,
      responseCode: v.host.responseCode,
    },
    voided: v.voided,
    refundedAmount: v.refundedAmount,
    capturedAmount: v.capturedAmount,
    cancelRequested: v.cancelRequested,
    signed: v.signed,
    method: v.method,
    qr: v.qr,
    ...(v.kind === 'balance' ? { balance: balanceOf(v) } : {}),
    createdAt: v.createdAt,
    updatedAt: v.updatedAt,
  };
}

export function toOrderSummary(s: EngineOrderSummary): OrderSummary {
  return {
    orderId: s.orderId,
    currency: alphaCurrency(s.currency),
    captured: s.captured,
    refunded: s.refunded,
    net: s.net,
    held: s.held,
    pending: s.pending,
    operations: s.operations.map(toPayment),
  };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A durable engine event (live or from the journal) → `payment.event` params. */
export function durableEvent(e: Extract<EngineEvent, { kind: 'durable' }>): PaymentEvent {
  const d = e.data;
  const base: PaymentEvent = { paymentId: e.operationId, seq: e.seq, durable: true, type: e.type };
  if (e.type === 'operation.state') {
    const state =
      typeof d['state'] === 'string' && STATES.has(d['state']) ? (d['state'] as PaymentState) : undefined;
    return {
      ...base,
      type: 'state',
      ...(state ? { state, final: isFinal(state) } : {}),
      ...('reason' in d ? { reason: str(d['reason']) } : {}),
      ...(typeof d['kind'] === 'string' && KINDS.has(d['kind']) ? { kind: d['kind'] as PaymentKind } : {}),
      ...(typeof d['amount'] === 'number' && Number.isSafeInteger(d['amount'])
        ? { amount: d['amount'] }
        : {}),
      ...('orderId' in d ? { orderId: str(d['orderId']) } : {}),
      ...('responseCode' in d ? { responseCode: str(d['responseCode']) } : {}),
    };
  }
  if (e.type === 'qr.created') {
    return {
      ...base,
      type: 'qr',
      ...(typeof d['qrContent'] === 'string' ? { qrContent: d['qrContent'] } : {}),
      ...(typeof d['expiresAt'] === 'string' ? { expiresAt: d['expiresAt'] } : {}),
    };
  }
  if (e.type === 'operation.cancel_requested') {
    return {
      ...base,
      type: 'cancel_requested',
      ...('state' in d ? { reason: `cancelled_in_${str(d['state'])}` } : {}),
    };
  }
  if (e.type === 'host.late_response') {
    return {
      ...base,
      type: 'late_response',
      responseCode: str(d['responseCode']),
      rrn: str(d['rrn']),
      authCode: str(d['authCode']),
      ...(typeof d['receivedAt'] === 'string' ? { receivedAt: d['receivedAt'] } : {}),
    };
  }
  if (e.type === 'settlement.state') {
    const state = d['state'];
    return {
      ...base,
      ...(typeof d['batch'] === 'string' ? { batch: d['batch'] } : {}),
      ...(typeof state === 'string' && BATCH_STATES.has(state) ? { batchState: state as BatchState } : {}),
      ...(d['result'] === 'balanced' || d['result'] === 'unbalanced' ? { result: d['result'] } : {}),
    };
  }
  // Other journal events: their type and seq only (the seq keeps the stream gap-free).
  return base;
}

/** A transient reader prompt → `payment.event` params (seq = the last durable seq). */
export function progressEvent(e: Extract<EngineEvent, { kind: 'progress' }>): PaymentEvent {
  return {
    paymentId: e.operationId,
    seq: e.lastSeq,
    durable: false,
    type: 'progress',
    ...(PROGRESS.has(e.progress) ? { progress: e.progress as ReaderProgress } : {}),
    ...(typeof e.digits === 'number' ? { digits: e.digits } : {}),
  };
}
