/**
 * Ingestion of one batch from one daemon, in one statement (one round trip, atomic): the cursor row is
 * locked first, so two hub instances receiving the same daemon's resend serialise on it; events go in
 * once (primary key daemon + journal + seq, ON CONFLICT DO NOTHING), payment views replace older ones
 * (updated_at), the cursor moves to the batch's end, and the health snapshot replaces the last one. A
 * batch that starts beyond the cursor is a gap: refused, nothing written, the daemon rewinds.
 */
import {
  HUB_MAX_BATCH,
  HUB_PROTOCOL_VERSION,
  type HubPayment,
  type IngestAck,
  type IngestBatch,
} from '../api/hub-protocol.js';
import type { AuthedDaemon } from './credentials.js';
import { int, type HubDb } from './db.js';
import { HubError } from './errors.js';

const MASKED = /^[0-9]{0,6}[*•xX]{3,13}[0-9]{0,4}$|^$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function fail(path: string, expected: string): never {
  throw new HubError('bad_request', `${path}: expected ${expected}`, path);
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStr = (v: unknown, max = 200): v is string => typeof v === 'string' && v.length <= max;
const isTime = (v: unknown): v is string => isStr(v, 40) && !Number.isNaN(Date.parse(v));

/** Checks a batch's shape; every refusal names the path and what was expected. */
export function validateBatch(b: unknown): IngestBatch {
  if (!b || typeof b !== 'object') fail('$', 'a JSON object');
  const x = b as Partial<IngestBatch>;
  if (x.protocol !== HUB_PROTOCOL_VERSION) fail('protocol', `${HUB_PROTOCOL_VERSION}`);
  if (!isStr(x.journalId, 64) || !/^[A-Za-z0-9_-]{8,64}$/.test(x.journalId)) fail('journalId', 'an id of 8 to 64 characters');
  if (!isInt(x.after)) fail('after', 'a seq (integer ≥ 0)');
  if (!isInt(x.upTo) || x.upTo < x.after) fail('upTo', 'a seq ≥ after');
  if (!Array.isArray(x.events)) fail('events', 'an array');
  if (x.events.length > HUB_MAX_BATCH) throw new HubError('too_large', `events: at most ${HUB_MAX_BATCH} per batch`, 'events');
  let prev = x.after;
  x.events.forEach((e, i) => {
    const p = `events[${i}]`;
    if (!e || typeof e !== 'object') fail(p, 'an object');
    if (!isInt(e.seq) || e.seq <= prev || e.seq > x.upTo!) fail(`${p}.seq`, `a seq after ${prev} and ≤ upTo, increasing`);
    prev = e.seq;
    if (!isTime(e.at)) fail(`${p}.at`, 'an ISO 8601 time');
    if (!e.event || typeof e.event !== 'object' || !isStr(e.event.type, 60)) fail(`${p}.event.type`, 'a string');
    if (e.event.paymentId !== null && !isStr(e.event.paymentId, 64)) fail(`${p}.event.paymentId`, 'a string or null');
  });
  if (!Array.isArray(x.payments)) fail('payments', 'an array');
  if (x.payments.length > HUB_MAX_BATCH) throw new HubError('too_large', `payments: at most ${HUB_MAX_BATCH} per batch`, 'payments');
  x.payments.forEach((p, i) => validatePayment(p, `payments[${i}]`));
  if (x.health !== undefined && (typeof x.health !== 'object' || x.health === null || !isTime(x.health.at)))
    fail('health.at', 'an ISO 8601 time');
  return x as IngestBatch;
}

function validatePayment(p: HubPayment, path: string): void {
  if (!p || typeof p !== 'object') fail(path, 'an object');
  if (!isStr(p.paymentId, 64) || !p.paymentId) fail(`${path}.paymentId`, 'a string');
  if (!isStr(p.terminalId, 40) || !p.terminalId) fail(`${path}.terminalId`, 'a terminal id');
  if (!isStr(p.kind, 20)) fail(`${path}.kind`, 'a payment kind');
  if (!isStr(p.state, 30)) fail(`${path}.state`, 'a payment state');
  if (!isInt(p.amount)) fail(`${path}.amount`, 'an integer amount in minor units');
  if (p.approvedAmount !== null && !isInt(p.approvedAmount)) fail(`${path}.approvedAmount`, 'an integer or null');
  if (!isStr(p.currency, 3)) fail(`${path}.currency`, 'an ISO 4217 code');
  if (p.localDate !== null && !(isStr(p.localDate, 10) && DATE.test(p.localDate))) fail(`${path}.localDate`, 'YYYY-MM-DD or null');
  if (!isTime(p.createdAt)) fail(`${path}.createdAt`, 'an ISO 8601 time');
  if (!isTime(p.updatedAt)) fail(`${path}.updatedAt`, 'an ISO 8601 time');
  // The hub never holds more of a card than the masked PAN: a view that carries more is refused.
  if (p.card && !MASKED.test(p.card.panDisplay ?? '')) fail(`${path}.card.panDisplay`, 'a masked PAN (first 6 / last 4 at most)');
}

export async function ingest(db: HubDb, daemon: AuthedDaemon, raw: unknown): Promise<IngestAck> {
  const batch = validateBatch(raw);
  const events = batch.events.map((e) => ({
    seq: e.seq,
    payment_id: e.event.paymentId ?? null,
    type: e.event.type,
    at: e.at,
    body: e.event,
  }));
  // The last view of a payment in the batch wins within the batch.
  const latest = new Map<string, HubPayment>();
  for (const p of batch.payments) latest.set(p.paymentId, p);
  const payments = [...latest.values()].map((p) => ({
    payment_id: p.paymentId,
    terminal_id: p.terminalId,
    kind: p.kind,
    state: p.state,
    method: p.method ?? 'card',
    amount: p.amount,
    approved_amount: p.approvedAmount,
    currency: p.currency,
    stan: p.host?.stan ?? null,
    rrn: p.host?.rrn ?? null,
    local_date: p.localDate,
    order_id: p.orderId,
    pan_display: p.card?.panDisplay ?? null,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    view: p,
  }));
  const h = batch.health;
  // One statement, one round trip: the cursor row is inserted or locked first (a resend to another hub
  // instance waits here), and moves only when the batch does not start beyond it; every other write
  // is conditional on that (`ok`), so a gap writes nothing.
  const [r] = await db.query<{ acked: unknown; ok: boolean; inserted: unknown }>(
    `WITH cur AS (
       INSERT INTO hub_cursors AS c (daemon_id, journal_id, acked_seq)
       VALUES ($1, $2, CASE WHEN $3::bigint = 0 THEN $4::bigint ELSE 0 END)
       ON CONFLICT (daemon_id, journal_id) DO UPDATE SET
         acked_seq = CASE WHEN c.acked_seq >= $3::bigint THEN greatest(c.acked_seq, $4::bigint) ELSE c.acked_seq END,
         updated_at = CASE WHEN c.acked_seq >= $3::bigint THEN now() ELSE c.updated_at END
       RETURNING acked_seq),
     ok AS (SELECT acked_seq, acked_seq >= $4::bigint AS ok FROM cur),
     ins AS (
       INSERT INTO hub_events (daemon_id, journal_id, seq, payment_id, type, at, body)
       SELECT $1, $2, e.seq, e.payment_id, e.type, e.at, e.body
       FROM jsonb_to_recordset($5::text::jsonb) AS e(seq bigint, payment_id text, type text, at timestamptz, body jsonb)
       WHERE (SELECT ok FROM ok)
       ON CONFLICT (daemon_id, journal_id, seq) DO NOTHING
       RETURNING 1),
     pay AS (
       INSERT INTO hub_payments AS h (daemon_id, payment_id, store, terminal_id, kind, state, method, amount,
         approved_amount, currency, stan, rrn, local_date, order_id, pan_display, created_at, updated_at, view)
       SELECT $1, p.payment_id, $7, p.terminal_id, p.kind, p.state, p.method, p.amount, p.approved_amount,
         p.currency, p.stan, p.rrn, p.local_date, p.order_id, p.pan_display, p.created_at, p.updated_at, p.view
       FROM jsonb_to_recordset($6::text::jsonb) AS p(payment_id text, terminal_id text, kind text, state text,
         method text, amount bigint, approved_amount bigint, currency text, stan text, rrn text,
         local_date date, order_id text, pan_display text, created_at timestamptz, updated_at timestamptz,
         view jsonb)
       WHERE (SELECT ok FROM ok)
       ON CONFLICT (daemon_id, payment_id) DO UPDATE SET
         state = EXCLUDED.state, approved_amount = EXCLUDED.approved_amount, stan = EXCLUDED.stan,
         rrn = EXCLUDED.rrn, local_date = EXCLUDED.local_date, pan_display = EXCLUDED.pan_display,
         updated_at = EXCLUDED.updated_at, view = EXCLUDED.view, terminal_id = EXCLUDED.terminal_id
       WHERE h.updated_at <= EXCLUDED.updated_at
       RETURNING 1),
     seen AS (
       UPDATE hub_daemons SET last_seen_at = now(), version = coalesce($8::text, version),
         health = coalesce($9::text::jsonb, health), health_at = coalesce($10::timestamptz, health_at)
       WHERE id = $1 AND (SELECT ok FROM ok)
       RETURNING 1)
     SELECT (SELECT acked_seq FROM ok) AS acked, (SELECT ok FROM ok) AS ok, (SELECT count(*) FROM ins) AS inserted,
       (SELECT count(*) FROM pay) + (SELECT count(*) FROM seen) AS writes`,
    [
      daemon.id,
      batch.journalId,
      batch.after,
      batch.upTo,
      JSON.stringify(events),
      JSON.stringify(payments),
      daemon.store,
      h ? String(h.version ?? '').slice(0, 40) : null,
      h ? JSON.stringify(h) : null,
      h ? h.at : null,
    ],
  );
  const acked = int(r!.acked);
  if (!r!.ok)
    throw Object.assign(new HubError('gap', `the batch starts after seq ${batch.after}; the hub holds up to ${acked}`, 'after'), {
      ackedSeq: acked,
    });
  return { ackedSeq: acked, duplicates: batch.events.length - int(r!.inserted) };
}

export async function cursorOf(db: HubDb, daemon: AuthedDaemon, journalId: string): Promise<number> {
  const [row] = await db.query<{ acked_seq: unknown }>(
    'SELECT acked_seq FROM hub_cursors WHERE daemon_id = $1 AND journal_id = $2',
    [daemon.id, journalId],
  );
  return row ? int(row.acked_seq) : 0;
}
