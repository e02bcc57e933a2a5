/**
 * Erasing sealed PANs no message can need any more (docs/ARCHITECTURE: card data flow). A PAN stays
 * sealed while its operation's batch is not settled (reversal, TC or batch upload), while a
 * store-and-forward item of the operation is still pending (advice, e-signature), and, for a pre-auth,
 * while it is open (not captured or voided in a settled batch, not reversed, not expired). Everything
 * else is erased; `journal.erasePan()` overwrites the blob (secure_delete is on).
 */
import type { SettlementStore } from './store.js';

export interface PanErasure {
  erased: string[];
  /** Still sealed, and why (for `posbridge doctor`-style listings and tests). */
  kept: { operationId: string; why: 'batch_open' | 'saf_pending' | 'preauth_open' }[];
}

export function eraseSealedPans(
  store: SettlementStore,
  options: { now: Date; preauthExpiryDays: number },
): PanErasure {
  const journal = store.journal;
  const settled = store.settledBatches();
  const isSettled = (tid: string, batch: string | null): boolean =>
    batch !== null && settled.has(`${tid}:${batch}`);
  const out: PanErasure = { erased: [], kept: [] };
  journal.transaction(() => {
    for (const id of journal.sealedPans()) {
      const op = store.op(id);
      if (!op) continue;
      if (!isSettled(op.terminalId, op.batch)) {
        out.kept.push({ operationId: id, why: 'batch_open' });
        continue;
      }
      if (journal.safOf(id).some((s) => s.status === 'pending' || s.status === 'prepared')) {
        out.kept.push({ operationId: id, why: 'saf_pending' });
        continue;
      }
      if (op.kind === 'preauth' && op.state === 'completed') {
        const ageDays = (options.now.getTime() - new Date(op.createdAt).getTime()) / 86_400_000;
        const closedBy = store
          .completedRefs(id)
          .some(
            (r) => (r.kind === 'capture' || r.kind === 'preauth_void') && isSettled(r.terminalId, r.batch),
          );
        if (!closedBy && ageDays < options.preauthExpiryDays) {
          out.kept.push({ operationId: id, why: 'preauth_open' });
          continue;
        }
      }
      if (journal.erasePan(id)) out.erased.push(id);
    }
  });
  return out;
}
