/** A journal-like source of events and masked views for the hub link, without an engine. */
import type { HubSource } from '../../src/api/index.js';
import type { OperationView } from '../../src/engine/index.js';

interface Ev {
  seq: number;
  operationId: string | null;
  type: string;
  data: Record<string, unknown>;
  at: string;
}

export class FakeSource implements HubSource {
  readonly events: Ev[] = [];
  readonly ops = new Map<string, OperationView>();
  constructor(readonly id = `j${Math.random().toString(16).slice(2, 14)}`) {}

  journalId(): string {
    return this.id;
  }
  lastSeq(): number {
    return this.events.length;
  }
  eventsSince(seq: number, limit = 1000) {
    return this.events.slice(seq, seq + limit).map((e) => ({ kind: 'durable' as const, ...e }));
  }
  view(id: string): OperationView {
    const v = this.ops.get(id);
    if (!v) throw new Error(`no operation ${id}`);
    return v;
  }

  /** A sale moving through states: one event per state, the view follows. */
  sale(id: string, amount: number, states: string[], opts: { terminalId?: string; stan?: string; rrn?: string; date?: string } = {}): void {
    for (const state of states) {
      const at = new Date(Date.parse(`${opts.date ?? '2026-12-04'}T10:00:00Z`) + this.events.length * 1000).toISOString();
      this.ops.set(id, view(id, amount, state, at, opts));
      this.events.push({
        seq: this.events.length + 1,
        operationId: id,
        type: 'operation.state',
        data: { state, kind: 'sale', amount, orderId: `O-${id}` },
        at,
      });
    }
  }
}

export function view(
  id: string,
  amount: number,
  state: string,
  at: string,
  opts: { terminalId?: string; stan?: string; rrn?: string; date?: string } = {},
): OperationView {
  return {
    id,
    kind: 'sale',
    state: state as OperationView['state'],
    reason: null,
    orderId: `O-${id}`,
    originalId: null,
    amount,
    approvedAmount: state === 'completed' ? amount : null,
    currency: '156',
    operatorId: 'op1',
    card: { panDisplay: '622202******1234', scheme: 'unionpay', kind: 'chip', entryMode: '051' },
    host: { batch: '000001', stan: opts.stan ?? null, rrn: opts.rrn ?? null, authCode: null, responseCode: null },
    voided: false,
    refundedAmount: 0,
    capturedAmount: state === 'completed' ? amount : 0,
    cancelRequested: false,
    signed: false,
    method: 'card',
    qr: null,
    result: null,
    terminalId: opts.terminalId ?? 'T0000001',
    localDate: opts.date ?? '2026-12-04',
    createdAt: at,
    updatedAt: at,
  };
}
