import { FINAL_STATES, type OperationRow } from '../journal/index.js';
import { qrFactsOf, qrMethodOf } from './qr-flow.js';
import { localDateOf } from './settlement/classify.js';

/** What the CRM sees of an operation: no card data beyond the masked PAN and token facts. */
export interface OperationView {
  id: string;
  kind: OperationRow['kind'];
  state: OperationRow['state'];
  reason: string | null;
  orderId: string | null;
  originalId: string | null;
  amount: number;
  approvedAmount: number | null;
  currency: string;
  operatorId: string;
  card: {
    panDisplay: string;
    scheme: string;
    kind: string;
    entryMode: string;
    deviceAccountLast4?: string;
    fundingLast4?: string;
  } | null;
  host: {
    batch: string | null;
    stan: string | null;
    rrn: string | null;
    authCode: string | null;
    responseCode: string | null;
  };
  /** Derived from the operations that reference this one. */
  voided: boolean;
  refundedAmount: number;
  capturedAmount: number;
  /** The operator cancelled while it was in flight (it will not end completed). */
  cancelRequested: boolean;
  /** The customer's signature is on file (payment.signature); the merchant receipt shows it. */
  signed: boolean;
  /** How it was paid: a card (reader or integrated terminal) or scan-to-pay. */
  method: 'card' | 'alipay' | 'wechat';
  /** Scan-to-pay: the QR to show (merchant-presented) and the provider's trade, masked buyer. */
  qr: {
    method: 'alipay' | 'wechat';
    mode: 'qr' | 'code';
    qrContent: string | null;
    expiresAt: string | null;
    tradeNo: string | null;
    buyer: string | null;
  } | null;
  result: Record<string, unknown> | null;
  /**
   * The terminal (TID) and its local date of the transaction (YYYY-MM-DD: field 13 with its year, else
   * the journal's date): what reconciliation matches on.
   */
  terminalId: string;
  localDate: string;
  createdAt: string;
  updatedAt: string;
}

export function toView(op: OperationRow, referencing: readonly OperationRow[], signed = false): OperationView {
  const done = referencing.filter((r) => r.state === 'completed');
  const voided = done.some((r) => r.kind === 'void' || r.kind === 'preauth_void');
  const refundedAmount = done
    .filter((r) => r.kind === 'refund')
    .reduce((s, r) => s + (r.approvedAmount ?? r.amount), 0);
  const captures = done.filter((r) => r.kind === 'capture');
  const capturedAmount =
    op.kind === 'preauth'
      ? captures.reduce((s, r) => s + (r.approvedAmount ?? r.amount), 0)
      : (op.kind === 'sale' || op.kind === 'capture') && op.state === 'completed' && !voided
        ? (op.approvedAmount ?? op.amount)
        : 0;
  return {
    id: op.id,
    kind: op.kind,
    state: op.state,
    reason: op.reason,
    orderId: op.orderId,
    originalId: op.originalId,
    amount: op.amount,
    approvedAmount: op.approvedAmount,
    currency: op.currency,
    operatorId: op.operatorId,
    card: op.card
      ? {
          panDisplay: op.card.panDisplay,
          scheme: op.card.scheme,
          kind: op.card.kind,
          entryMode: op.card.entryMode,
          ...(op.card.deviceAccountLast4 ? { deviceAccountLast4: op.card.deviceAccountLast4 } : {}),
          ...(op.card.fundingLast4 ? { fundingLast4: op.card.fundingLast4 } : {}),
        }
      : null,
    host: {
      batch: op.batch,
      stan: op.stan,
      rrn: op.rrn,
      authCode: op.authCode,
      responseCode: op.responseCode,
    },
    voided,
    refundedAmount,
    capturedAmount,
    cancelRequested: op.cancelRequested != null,
    signed,
    method: qrMethodOf(op) ?? 'card',
    qr: qrView(op),
    result: op.result,
    terminalId: op.terminalId,
    localDate: localDateOf(op),
    createdAt: op.createdAt,
    updatedAt: op.updatedAt,
  };
}

export interface OrderSummary {
  orderId: string;
  currency: string;
  /** Money taken: completed sales and captures, not voided. */
  captured: number;
  /** Money given back: completed refunds. */
  refunded: number;
  net: number;
  /** Pre-auth holds still open (not captured, voided or reversed). */
  held: number;
  /** Operations that are not final yet (money may still move). */
  pending: number;
  operations: OperationView[];
}

function qrView(op: OperationRow): OperationView['qr'] {
  const method = qrMethodOf(op);
  if (!method) return null;
  const q = qrFactsOf(op);
  return {
    method,
    mode: q?.mode ?? 'qr',
    // The QR is shown only while it can still be paid.
    qrContent: !FINAL_STATES.has(op.state) && op.kind === 'sale' ? (q?.qrContent ?? null) : null,
    expiresAt: q?.expiresAt ?? null,
    tradeNo: q?.tradeNo ?? null,
    buyer: q?.buyer ?? null,
  };
}
