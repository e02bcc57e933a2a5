/** Operation kinds. A void or refund is its own operation that references its original. */
export type OperationKind = 'sale' | 'balance' | 'preauth' | 'preauth_void' | 'capture' | 'void' | 'refund';

/**
 * Operation states (see docs/recovery.md). `unknown` is a state: the host may hold the transaction.
 * Final states never change.
 */
export type OperationState =
  | 'created'
  | 'awaiting_card'
  | 'card_read'
  | 'authorizing'
  | 'approved'
  | 'partially_approved'
  | 'completing'
  | 'completed'
  | 'declined'
  | 'unknown'
  | 'reversing'
  | 'reversed'
  | 'cancelled'
  | 'failed'
  | 'needs_attention';

export const FINAL_STATES: ReadonlySet<OperationState> = new Set([
  'completed',
  'declined',
  'reversed',
  'cancelled',
  'failed',
  'needs_attention',
]);

/** What the journal keeps of a card: never the PAN itself (that is only sealed, in `sealed`). */
export interface CardFacts {
  maskedPan: string;
  fingerprint: string;
  scheme: string;
  kind: string;
  entryMode: string;
  panDisplay: string;
  cardSequenceNumber?: string;
  par?: string;
  tokenRequestorId?: string;
  deviceAccountLast4?: string;
  fundingLast4?: string;
}

export interface CancelRequest {
  operatorId: string;
  at: string;
  /** The state the operation was in when the cancel came. */
  state: OperationState;
}

export interface OperationRow {
  id: string;
  kind: OperationKind;
  idempotencyKey: string;
  paramsHash: string;
  operatorId: string;
  orderId: string | null;
  originalId: string | null;
  amount: number;
  currency: string;
  approvedAmount: number | null;
  state: OperationState;
  reason: string | null;
  terminalId: string;
  readerId: string | null;
  batch: string | null;
  stan: string | null;
  localDate: string | null;
  rrn: string | null;
  authCode: string | null;
  responseCode: string | null;
  card: CardFacts | null;
  iccRequest: Buffer | null;
  iccFinal: Buffer | null;
  result: Record<string, unknown> | null;
  supervisor: Record<string, unknown> | null;
  /** Set when the operator cancelled while the operation was in flight (see Engine.cancel). */
  cancelRequested: CancelRequest | null;
  createdAt: string;
  updatedAt: string;
}

export type AttemptPurpose = 'request' | 'reversal' | 'inquiry' | 'advice' | 'upload';
export type AttemptOutcome = 'pending' | 'answered' | 'mac_error' | 'unknown' | 'not_sent';

export interface AttemptRow {
  id: number;
  operationId: string;
  purpose: AttemptPurpose;
  mti: string;
  stan: string;
  batch: string;
  createdAt: string;
  sentAt: string | null;
  outcome: AttemptOutcome;
  reason: string | null;
  responseCode: string | null;
  rrn: string | null;
  authCode: string | null;
  settledAt: string | null;
  lateEvidence: Record<string, unknown> | null;
}

export interface EventRow {
  seq: number;
  operationId: string | null;
  type: string;
  data: Record<string, unknown>;
  at: string;
}

export type SafLane = 'reversal' | 'advice';
export type SafStatus = 'prepared' | 'pending' | 'done' | 'needs_attention' | 'cancelled';

export interface SafRow {
  id: number;
  lane: SafLane;
  operationId: string;
  kind: string;
  status: SafStatus;
  reason: string | null;
  message: Record<string, unknown>;
  attempts: number;
  nextAt: string | null;
  lastResponse: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface OutboxRow {
  id: number;
  topic: string;
  payload: Record<string, unknown>;
  createdAt: string;
  attempts: number;
  nextAt: string | null;
  deliveredAt: string | null;
  lastError: string | null;
}
