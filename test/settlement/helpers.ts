import { SettlementService, type SettlementDeps } from '../../src/engine/settlement/index.js';
import type { OperationView } from '../../src/engine/index.js';
import { MID, TID, type Harness } from '../engine/harness.js';

let seq = 0;

/** Runs an operation to its end through the engine (the instant reader presents `card`). */
export async function op(
  h: Harness,
  req: {
    kind: 'sale' | 'preauth' | 'capture' | 'void' | 'refund' | 'preauth_void';
    amount?: number;
    originalId?: string;
  },
  card = 'cup-debit-chip',
): Promise<OperationView> {
  h.reader.pick(card);
  const v = h.engine.submit({
    ...req,
    idempotencyKey: `k-${++seq}-${Math.random()}`,
    operatorId: 'op-1',
    orderId: 'ORDER-S',
  });
  // A partial approval waits for the CRM: accept it.
  let finished = false;
  const done = h.engine.settled(v.id).finally(() => {
    finished = true;
  });
  while (!finished) {
    if (h.engine.view(v.id).state === 'partially_approved') {
      try {
        h.engine.decidePartial(v.id, true);
      } catch {
        // the decision is not awaited yet: try again
      }
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return done;
}

export function service(h: Harness, extra: Partial<SettlementDeps> = {}): SettlementService {
  return new SettlementService({
    journal: h.journal,
    host: h.link,
    terminalId: TID,
    merchantId: MID,
    saf: h.engine.saf,
    onEvent: (e) => h.engine.emit('event', { kind: 'durable', ...e }),
    ...extra,
  });
}

export async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export { TID, MID };
