/**
 * The fleet as the dashboard shows it, read from the database on every call (the hub keeps nothing
 * between requests): laptops with their online state and last health snapshot, readers, payments that
 * need a look, today's totals per store, recent payments. `GET /api/fleet` answers this object; the
 * page renders it (render.ts).
 */
import { FINAL_PAYMENT_STATES, PAYMENT_STATES } from '../../api/client/types.js';
import type { HubHealth } from '../../api/hub-protocol.js';
import { int, type HubSql } from '../db.js';
import { compareVersions } from './format.js';

export interface DashboardOptions {
  /** A laptop is online when the hub heard from it within this window (default 90 s). */
  onlineWindowMs?: number;
  /** How often a live connection (`GET /api/stream`) reads the database (default 1 s). */
  pollMs?: number;
  /** "Today" for the totals, and the times shown (default: the hub's local zone). */
  timeZone?: string;
  /** Readers at or below this battery level are flagged (default 20 %). */
  lowBatteryPercent?: number;
  /** At most this many payments in the needs-a-look list (default 200; the counts are exact). */
  attentionLimit?: number;
  /** Payments in the recent list (default 15). */
  recentLimit?: number;
}

export type ResolvedOptions = Required<DashboardOptions>;

export function resolveOptions(o: DashboardOptions = {}): ResolvedOptions {
  return {
    onlineWindowMs: o.onlineWindowMs ?? 90_000,
    pollMs: o.pollMs ?? 1_000,
    timeZone: o.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    lowBatteryPercent: o.lowBatteryPercent ?? 20,
    attentionLimit: o.attentionLimit ?? 200,
    recentLimit: o.recentLimit ?? 15,
  };
}

export type LaptopStatus = 'online' | 'offline' | 'revoked';

export interface LaptopRow {
  daemonId: string;
  name: string;
  store: string;
  status: LaptopStatus;
  version: string | null;
  enrolledAt: string;
  lastSeenAt: string | null;
  revokedAt: string | null;
  /** When the last health snapshot was taken (on the laptop). */
  healthAt: string | null;
  terminalIds: string[];
  /** From the last health snapshot (stale while offline: see healthAt). */
  pending: Record<string, number>;
  needsAttention: number;
  backlog: Record<string, number>;
  outboxDepth: number | null;
}

export interface ReaderRow {
  daemonId: string;
  laptop: string;
  store: string;
  terminalId: string;
  state: string;
  kind: string | null;
  model: string | null;
  firmware: string | null;
  batteryPercent: number | null;
  lowBattery: boolean;
  /** Older than the newest firmware the fleet reports for the same model. */
  oldFirmware: boolean;
  lastError: string | null;
}

export interface PaymentRow {
  daemonId: string;
  laptop: string;
  store: string;
  paymentId: string;
  terminalId: string;
  kind: string;
  state: string;
  method: string;
  amount: number;
  currency: string;
  panDisplay: string | null;
  orderId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface StoreTotal {
  store: string;
  currency: string;
  /** Completed sales and captures, not voided (approved amount). */
  sales: { count: number; amount: number };
  /** Completed refunds. */
  refunds: { count: number; amount: number };
  /** Completed sales voided (not in `sales`). */
  voided: { count: number; amount: number };
  /** sales − refunds, in minor units. */
  net: number;
}

export interface FleetSnapshot {
  at: string;
  /** The hub's calendar day in `timeZone` that `totals` cover. */
  today: string;
  timeZone: string;
  onlineWindowSeconds: number;
  summary: {
    laptops: number;
    online: number;
    offline: number;
    revoked: number;
    unknown: number;
    needsAttention: number;
    /** Payments not final (unknown included), any age. */
    notFinal: number;
    /** Store-and-forward backlog over the fleet, by lane (last snapshots of laptops not revoked). */
    backlog: Record<string, number>;
    /** Journal events laptops hold that the hub does not yet. */
    outbox: number;
    lowBattery: number;
    oldFirmware: number;
  };
  laptops: LaptopRow[];
  readers: ReaderRow[];
  /** unknown first, then needs_attention, then other states not final; oldest first within each. */
  attention: PaymentRow[];
  recent: PaymentRow[];
  totals: StoreTotal[];
}

export const NOT_FINAL_STATES: string[] = PAYMENT_STATES.filter((s) => !FINAL_PAYMENT_STATES.includes(s));
/** What the attention list holds: every state not final, and needs_attention (final, but a person's job). */
const ATTENTION_STATES = [...NOT_FINAL_STATES, 'needs_attention'];

export const iso = (v: unknown): string | null =>
  v === null || v === undefined
    ? null
    : v instanceof Date
      ? v.toISOString()
      : new Date(String(v)).toISOString();

const counts = (v: unknown): Record<string, number> => {
  const out: Record<string, number> = {};
  if (v && typeof v === 'object')
    for (const [k, n] of Object.entries(v as Record<string, unknown>))
      if (Number.isSafeInteger(n)) out[k] = n as number;
  return out;
};

interface DaemonDbRow {
  id: string;
  name: string;
  store: string;
  version: string | null;
  enrolled_at: unknown;
  last_seen_at: unknown;
  revoked_at: unknown;
  online: boolean;
  health: Partial<HubHealth> | null;
  health_at: unknown;
  terminal_ids: string[] | null;
}

interface PaymentDbRow {
  daemon_id: string;
  laptop: string | null;
  store: string;
  payment_id: string;
  terminal_id: string;
  kind: string;
  state: string;
  method: string;
  amount: unknown;
  currency: string;
  pan_display: string | null;
  order_id: string | null;
  created_at: unknown;
  updated_at: unknown;
}

const PAYMENT_COLUMNS = `p.daemon_id, d.name AS laptop, p.store, p.payment_id, p.terminal_id, p.kind, p.state, p.method,
  COALESCE(p.approved_amount, p.amount) AS amount, p.currency, p.pan_display, p.order_id, p.created_at, p.updated_at`;

function paymentRow(r: PaymentDbRow): PaymentRow {
  return {
    daemonId: r.daemon_id,
    laptop: r.laptop ?? r.daemon_id,
    store: r.store,
    paymentId: r.payment_id,
    terminalId: r.terminal_id,
    kind: r.kind,
    state: r.state,
    method: r.method,
    amount: int(r.amount),
    currency: r.currency,
    panDisplay: r.pan_display,
    orderId: r.order_id,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

export async function fleetSnapshot(db: HubSql, opts: ResolvedOptions): Promise<FleetSnapshot> {
  const tz = opts.timeZone;
  const [clock] = await db.query<{ now: unknown; today: string }>(
    'SELECT now() AS now, (now() AT TIME ZONE $1)::date::text AS today',
    [tz],
  );
  const daemons = await db.query<DaemonDbRow>(
    `SELECT id, name, store, version, enrolled_at, last_seen_at, revoked_at, health, health_at, terminal_ids,
       (revoked_at IS NULL AND last_seen_at > now() - make_interval(secs => $1)) AS online
     FROM hub_daemons ORDER BY store, name, id`,
    [opts.onlineWindowMs / 1000],
  );
  const laptops: LaptopRow[] = daemons.map((d) => {
    const h = d.health ?? {};
    return {
      daemonId: d.id,
      name: d.name,
      store: d.store,
      status: d.revoked_at ? 'revoked' : d.online ? 'online' : 'offline',
      version: d.version || null,
      enrolledAt: iso(d.enrolled_at)!,
      lastSeenAt: iso(d.last_seen_at),
      revokedAt: iso(d.revoked_at),
      healthAt: iso(d.health_at),
      terminalIds: d.terminal_ids ?? [],
      pending: counts(h.pending),
      needsAttention: Number.isSafeInteger(h.needsAttention) ? h.needsAttention! : 0,
      backlog: counts(h.backlog),
      outboxDepth: Number.isSafeInteger(h.outboxDepth) ? h.outboxDepth! : null,
    };
  });
  const readers = readersOf(daemons, opts.lowBatteryPercent);

  const stateCounts = await db.query<{ state: string; n: unknown }>(
    'SELECT state, count(*) AS n FROM hub_payments WHERE state = ANY($1::text[]) GROUP BY state',
    [ATTENTION_STATES],
  );
  const byState = new Map(stateCounts.map((r) => [r.state, int(r.n)]));
  const attention = (
    await db.query<PaymentDbRow>(
      `SELECT ${PAYMENT_COLUMNS} FROM hub_payments p LEFT JOIN hub_daemons d ON d.id = p.daemon_id
       WHERE p.state = ANY($1::text[])
       ORDER BY CASE p.state WHEN 'unknown' THEN 0 WHEN 'needs_attention' THEN 1 ELSE 2 END, p.created_at, p.payment_id
       LIMIT $2`,
      [ATTENTION_STATES, opts.attentionLimit],
    )
  ).map(paymentRow);
  const recent = (
    await db.query<PaymentDbRow>(
      `SELECT ${PAYMENT_COLUMNS} FROM hub_payments p LEFT JOIN hub_daemons d ON d.id = p.daemon_id
       ORDER BY p.created_at DESC, p.payment_id DESC LIMIT $1`,
      [opts.recentLimit],
    )
  ).map(paymentRow);

  const totals = await todaysTotals(db, tz);

  const active = laptops.filter((l) => l.status !== 'revoked');
  const backlog: Record<string, number> = {};
  for (const l of active)
    for (const [lane, n] of Object.entries(l.backlog)) backlog[lane] = (backlog[lane] ?? 0) + n;
  return {
    at: iso(clock!.now)!,
    today: clock!.today,
    timeZone: tz,
    onlineWindowSeconds: opts.onlineWindowMs / 1000,
    summary: {
      laptops: laptops.length,
      online: laptops.filter((l) => l.status === 'online').length,
      offline: laptops.filter((l) => l.status === 'offline').length,
      revoked: laptops.filter((l) => l.status === 'revoked').length,
      unknown: byState.get('unknown') ?? 0,
      needsAttention: byState.get('needs_attention') ?? 0,
      notFinal: NOT_FINAL_STATES.reduce((a, s) => a + (byState.get(s) ?? 0), 0),
      backlog,
      outbox: active.reduce((a, l) => a + (l.outboxDepth ?? 0), 0),
      lowBattery: readers.filter((r) => r.lowBattery).length,
      oldFirmware: readers.filter((r) => r.oldFirmware).length,
    },
    laptops,
    readers,
    attention,
    recent,
    totals,
  };
}

function readersOf(daemons: DaemonDbRow[], lowBattery: number): ReaderRow[] {
  const rows: ReaderRow[] = [];
  for (const d of daemons) {
    if (d.revoked_at) continue;
    const terminals = Array.isArray(d.health?.terminals) ? d.health.terminals : [];
    for (const t of terminals) {
      if (!t || typeof t.terminalId !== 'string') continue;
      const battery = Number.isSafeInteger(t.batteryPercent) ? t.batteryPercent! : null;
      rows.push({
        daemonId: d.id,
        laptop: d.name,
        store: d.store,
        terminalId: t.terminalId,
        state: String(t.state ?? ''),
        kind: t.kind ?? null,
        model: t.model ?? null,
        firmware: typeof t.firmware === 'string' && t.firmware ? t.firmware : null,
        batteryPercent: battery,
        lowBattery: battery !== null && battery <= lowBattery,
        oldFirmware: false,
        lastError: t.lastError ?? null,
      });
    }
  }
  // Old firmware: behind the newest version the fleet reports for the same model.
  const newest = new Map<string, string>();
  for (const r of rows) {
    if (!r.firmware) continue;
    const m = r.model ?? '';
    const cur = newest.get(m);
    if (cur === undefined || compareVersions(r.firmware, cur) > 0) newest.set(m, r.firmware);
  }
  for (const r of rows)
    if (r.firmware) r.oldFirmware = compareVersions(r.firmware, newest.get(r.model ?? '')!) < 0;
  return rows;
}

/**
 * Today's money per store and currency: completed sales and captures (approved amount) not voided,
 * minus completed refunds, for payments created today in the hub's zone. A sale counts as voided when
 * its view says so or when a completed void referencing it is at the hub (the void may arrive after
 * the sale's last view did).
 */
async function todaysTotals(db: HubSql, tz: string): Promise<StoreTotal[]> {
  const rows = await db.query<{
    store: string;
    currency: string;
    sales_n: unknown;
    sales: unknown;
    refunds_n: unknown;
    refunds: unknown;
    voided_n: unknown;
    voided: unknown;
  }>(
    `WITH day AS (
       SELECT ((now() AT TIME ZONE $1)::date::timestamp AT TIME ZONE $1) AS start,
              (((now() AT TIME ZONE $1)::date + 1)::timestamp AT TIME ZONE $1) AS stop),
     -- A void comes after its sale: the voids of sales made today were made today (created_at index).
     voids AS (
       SELECT DISTINCT v.daemon_id, v.view->>'originalId' AS original_id
       FROM hub_payments v, day
       WHERE v.created_at >= day.start AND v.kind = 'void' AND v.state = 'completed'),
     done AS (
       SELECT p.store, p.currency, p.kind, COALESCE(p.approved_amount, p.amount) AS amount,
         (p.kind IN ('sale', 'capture')
           AND (COALESCE((p.view->>'voided')::boolean, false) OR vo.original_id IS NOT NULL)) AS voided
       FROM hub_payments p CROSS JOIN day
       LEFT JOIN voids vo ON vo.daemon_id = p.daemon_id AND vo.original_id = p.payment_id
       WHERE p.created_at >= day.start AND p.created_at < day.stop
         AND p.state = 'completed' AND p.kind IN ('sale', 'capture', 'refund'))
     SELECT store, currency,
       count(*) FILTER (WHERE kind <> 'refund' AND NOT voided) AS sales_n,
       COALESCE(sum(amount) FILTER (WHERE kind <> 'refund' AND NOT voided), 0) AS sales,
       count(*) FILTER (WHERE kind = 'refund') AS refunds_n,
       COALESCE(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS refunds,
       count(*) FILTER (WHERE voided) AS voided_n,
       COALESCE(sum(amount) FILTER (WHERE voided), 0) AS voided
     FROM done GROUP BY store, currency ORDER BY store, currency`,
    [tz],
  );
  return rows.map((r) => {
    const sales = int(r.sales);
    const refunds = int(r.refunds);
    return {
      store: r.store,
      currency: r.currency,
      sales: { count: int(r.sales_n), amount: sales },
      refunds: { count: int(r.refunds_n), amount: refunds },
      voided: { count: int(r.voided_n), amount: int(r.voided) },
      net: sales - refunds,
    };
  });
}
