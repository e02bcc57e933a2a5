/**
 * One payment's timeline: its latest masked view (hub_payments) and every journal event the hub holds
 * for it, in journal order (seq within a journal; journals by their first event, should a laptop's
 * journal ever have been replaced).
 */
import type { PaymentEvent } from '../../api/client/types.js';
import type { HubPayment } from '../../api/hub-protocol.js';
import { int, type HubSql } from '../db.js';
import { iso } from './snapshot.js';

export interface TimelineEvent {
  journalId: string;
  seq: number;
  at: string;
  type: string;
  event: PaymentEvent;
}

export interface Timeline {
  daemon: { id: string; name: string; store: string } | null;
  payment: HubPayment | null;
  events: TimelineEvent[];
}

/** The timeline, or null when the hub knows neither the payment nor any event of it. */
export async function paymentTimeline(
  db: HubSql,
  daemonId: string,
  paymentId: string,
): Promise<Timeline | null> {
  const [daemon] = await db.query<{ id: string; name: string; store: string }>(
    'SELECT id, name, store FROM hub_daemons WHERE id = $1',
    [daemonId],
  );
  const [p] = await db.query<{ view: HubPayment }>(
    'SELECT view FROM hub_payments WHERE daemon_id = $1 AND payment_id = $2',
    [daemonId, paymentId],
  );
  const rows = await db.query<{
    journal_id: string;
    seq: unknown;
    at: unknown;
    type: string;
    body: PaymentEvent;
  }>(
    `SELECT journal_id, seq, at, type, body, min(at) OVER (PARTITION BY journal_id) AS first_at
     FROM hub_events WHERE daemon_id = $1 AND payment_id = $2
     ORDER BY first_at, journal_id, seq`,
    [daemonId, paymentId],
  );
  if (!p && rows.length === 0) return null;
  return {
    daemon: daemon ?? null,
    payment: p?.view ?? null,
    events: rows.map((r) => ({
      journalId: r.journal_id,
      seq: int(r.seq),
      at: iso(r.at)!,
      type: r.type,
      event: r.body,
    })),
  };
}
