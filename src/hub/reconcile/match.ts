/**
 * Central matching: every acquirer line of the range against every daemon's payments, in SQL, set by
 * set (a join per rule, never a loop per row), in one transaction:
 *
 * 1. the lines (not superseded) dated within the range ± `dateDays`, and the card payments whose local
 *    day is in the same window, each with its class (the per-daemon `hostClass` / `localClass`);
 * 2. `tid_rrn`: same terminal and RRN;
 * 3. `tid_stan_date`, for what is left: same terminal and STAN, a compatible type (`hostTypes`), the
 *    dates within `dateDays`, RRNs equal when both sides have one; among several candidates (the STAN
 *    wraps) the same amount first, then the nearest date. A pair is kept when each side is the other's
 *    best candidate; the rule repeats on what is left until it finds no more;
 * 4. each pair is classified as the per-daemon reconciliation does (docs/reconciliation.md), lines and
 *    payments left over are missing on the other side; results go to hub_recon_days (per store,
 *    terminal and day) and hub_recon_items (every difference and late arrival), replacing those of the
 *    range's days, so running again gives the same rows.
 *
 * Pairs and leftovers count on the day of their range: a pair on the payment's local day, a line alone
 * on its date. The window's edges (± `dateDays`) only provide candidates, never differences.
 */
import { PAYMENT_KINDS, PAYMENT_STATES } from '../../api/client/types.js';
import { HOLDS, hostTypes, localClass } from '../../engine/settlement/classify.js';
import { DEFAULT_TOLERANCE, type MatchTolerance } from '../../engine/settlement/types.js';
import { int, type HubDb, type HubSql } from '../db.js';
import { HubError } from '../errors.js';
import type { ReconcileFleetOptions, ReconFigures, ReconRunSummary } from './types.js';

const LOCK_ID = 0x70_62_72_63; // "pbrc": one run at a time across hub instances
const MAX_DAYS = 400;
const MAX_ROUNDS = 8;
/**
 * A payment's local date (the terminal's) is within this many days of when its journal wrote it: the
 * window is found through hub_payments' `created_at` index (no index of its own to keep up at ingest).
 */
const CLOCK_DAYS = 3;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function checkDate(v: unknown, path: string): string {
  if (
    typeof v !== 'string' ||
    !DATE.test(v) ||
    Number.isNaN(Date.parse(`${v}T00:00:00Z`)) ||
    new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) !== v
  )
    throw new HubError('bad_request', `${path}: a date YYYY-MM-DD`, path);
  return v;
}

const dayDiff = (a: string, b: string): number =>
  (Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000;

/** A SQL list of code constants (never user input). */
function sqlList(values: Iterable<string>): string {
  const out = [...values].map((v) => {
    if (!/^[a-z_]+$/.test(v)) throw new Error(`not a constant: ${v}`);
    return `'${v}'`;
  });
  return `(${out.join(', ')})`;
}

/** The per-daemon classification as rows SQL can join: (kind, state, voided) → class. */
const CLASS_MAP = JSON.stringify(
  PAYMENT_KINDS.flatMap((k) =>
    PAYMENT_STATES.flatMap((s) =>
      [false, true].map((v) => ({
        k,
        s,
        v,
        c: localClass({ id: 'x', kind: k, state: s } as never, new Set(v ? ['x'] : [])),
      })),
    ),
  ),
);
/** Payment kinds and the acquirer types they can appear as. */
const TYPE_MAP = JSON.stringify(PAYMENT_KINDS.flatMap((k) => hostTypes(k).map((y) => ({ k, y }))));
const HOLDS_SQL = sqlList(HOLDS);

/** Which range: the one given, else every day the imported files cover. */
async function resolveRange(
  db: HubSql,
  opts: ReconcileFleetOptions,
): Promise<{ from: string; to: string } | null> {
  if (opts.from !== undefined || opts.to !== undefined) {
    const from = checkDate(opts.from ?? opts.to, 'from');
    const to = checkDate(opts.to ?? opts.from, 'to');
    if (to < from) throw new HubError('bad_request', 'to: on or after from', 'to');
    if (dayDiff(from, to) >= MAX_DAYS)
      throw new HubError('bad_request', `to: at most ${MAX_DAYS} days after from`, 'to');
    return { from, to };
  }
  // The days of the files imported since the latest run began; with none, that run's days again.
  const [r] = await db.query<{ from: string | null; to: string | null }>(
    `SELECT min(first_date)::text AS "from", max(last_date)::text AS "to" FROM hub_acq_files
     WHERE imported_at >= coalesce((SELECT max(started_at) FROM hub_recon_runs), '-infinity')`,
  );
  if (r?.from && r.to) return { from: r.from, to: r.to };
  const [last] = await db.query<{ from: string; to: string }>(
    'SELECT from_date::text AS "from", to_date::text AS "to" FROM hub_recon_runs ORDER BY id DESC LIMIT 1',
  );
  return last ?? null;
}

export const FIGURES_SQL = `
  coalesce(sum(acquirer_lines), 0) AS acquirer_lines, coalesce(sum(local_payments), 0) AS local_payments,
  coalesce(sum(matched), 0) AS matched, coalesce(sum(matched_amount), 0) AS matched_amount,
  coalesce(sum(late), 0) AS late, coalesce(sum(late_amount), 0) AS late_amount,
  coalesce(sum(missing_acquirer), 0) AS missing_acquirer, coalesce(sum(missing_acquirer_amount), 0) AS missing_acquirer_amount,
  coalesce(sum(missing_us), 0) AS missing_us, coalesce(sum(missing_us_amount), 0) AS missing_us_amount,
  coalesce(sum(amount_diff), 0) AS amount_diff, coalesce(sum(amount_diff_local), 0) AS amount_diff_local,
  coalesce(sum(amount_diff_host), 0) AS amount_diff_host, coalesce(sum(status_diff), 0) AS status_diff,
  coalesce(sum(not_charged), 0) AS not_charged, coalesce(sum(ignored_lines), 0) AS ignored_lines`;

/** Sums of hub_recon_days rows (the columns of `FIGURES_SQL` or a row itself) as figures. */
export function figures(r: Record<string, unknown>): ReconFigures {
  const local = int(r['amount_diff_local']);
  const host = int(r['amount_diff_host']);
  return {
    acquirerLines: int(r['acquirer_lines']),
    localPayments: int(r['local_payments']),
    matched: int(r['matched']),
    matchedAmount: int(r['matched_amount']),
    late: int(r['late']),
    lateAmount: int(r['late_amount']),
    missingAtAcquirer: int(r['missing_acquirer']),
    missingAtAcquirerAmount: int(r['missing_acquirer_amount']),
    missingAtUs: int(r['missing_us']),
    missingAtUsAmount: int(r['missing_us_amount']),
    amountDifferences: int(r['amount_diff']),
    amountDifferenceLocal: local,
    amountDifferenceHost: host,
    amountDelta: host - local,
    statusDifferences: int(r['status_diff']),
    notCharged: int(r['not_charged']),
    ignoredLines: int(r['ignored_lines']),
  };
}

/** Reconciles the fleet's payments with the imported acquirer lines over a range of days. */
export async function reconcileFleet(db: HubDb, opts: ReconcileFleetOptions = {}): Promise<ReconRunSummary> {
  const tolerance: MatchTolerance = { ...DEFAULT_TOLERANCE, ...opts.tolerance };
  if (!Number.isInteger(tolerance.dateDays) || tolerance.dateDays < 0 || tolerance.dateDays > 7)
    throw new HubError('bad_request', 'dateDays: an integer from 0 to 7', 'dateDays');
  const range = await resolveRange(db, opts);
  if (!range)
    throw new HubError(
      'bad_request',
      'no acquirer file imported yet, and no range given: nothing to reconcile',
      'from',
    );
  const { from, to } = range;
  const tol = tolerance.dateDays;
  const started = Date.now();

  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
    await tx.query(`SET LOCAL work_mem = '${db.kind === 'pglite' ? '128MB' : '256MB'}'`);
    // The database's clock (the transaction's start): default ranges compare it with imported_at.
    const [run] = await tx.query<{ id: unknown; started_at: Date | string }>(
      `INSERT INTO hub_recon_runs (from_date, to_date, date_days, started_at, run_by, summary)
       VALUES ($1, $2, $3, now(), $4, '{}') RETURNING id, started_at`,
      [from, to, tol, opts.by ?? null],
    );
    const runId = int(run!.id);
    const startedAt = new Date(run!.started_at).toISOString();
    const win = [from, to, tol];

    // ---- 1. both sides of the window, with their classes
    await tx.query(
      `CREATE TEMP TABLE rc_l ON COMMIT DROP AS
       SELECT (file_id::bigint << 32) | line AS lid, file_id, line, host_date, terminal_id, stan, rrn, amount,
         type, status, class, class IN ${HOLDS_SQL} AS holds
       FROM hub_acq_lines
       WHERE superseded_by IS NULL AND host_date BETWEEN $1::date - $3::int AND $2::date + $3::int`,
      win,
    );
    // Voids completed since the window opened (a void is in its sale's batch, so never before it).
    await tx.query(
      `CREATE TEMP TABLE rc_v ON COMMIT DROP AS
       SELECT DISTINCT daemon_id, view->>'originalId' AS payment_id FROM hub_payments
       WHERE kind = 'void' AND state = 'completed' AND view->>'originalId' IS NOT NULL
         AND created_at >= ($1::date - $2::int - ${CLOCK_DAYS})::timestamp AT TIME ZONE 'UTC'`,
      [from, tol],
    );
    await tx.query('ANALYZE rc_v');
    await tx.query(
      `CREATE TEMP TABLE rc_p ON COMMIT DROP AS
       SELECT row_number() OVER () AS pid, p.daemon_id, p.payment_id, p.store, p.terminal_id, p.kind, p.state,
         p.stan, nullif(p.rrn, '') AS rrn, d.day, p.amount AS raw_amount,
         coalesce(p.approved_amount, p.amount) AS amount, coalesce(m.c, 'doubtful') AS class
       FROM hub_payments p
       CROSS JOIN LATERAL (SELECT coalesce(p.local_date, (p.created_at AT TIME ZONE 'UTC')::date) AS day) d
       LEFT JOIN rc_v v ON v.daemon_id = p.daemon_id AND v.payment_id = p.payment_id
       LEFT JOIN jsonb_to_recordset($4::text::jsonb) AS m(k text, s text, v boolean, c text)
         ON m.k = p.kind AND m.s = p.state
         AND m.v = CASE WHEN p.state = 'completed' AND p.kind IN ('sale', 'capture')
                        THEN v.payment_id IS NOT NULL OR coalesce((p.view->>'voided')::boolean, false)
                        ELSE false END
       WHERE p.method = 'card' AND p.kind <> 'balance' AND p.stan IS NOT NULL
         AND p.created_at >= ($1::date - $3::int - ${CLOCK_DAYS})::timestamp AT TIME ZONE 'UTC'
         AND p.created_at < ($2::date + $3::int + ${CLOCK_DAYS + 1})::timestamp AT TIME ZONE 'UTC'
         AND d.day BETWEEN $1::date - $3::int AND $2::date + $3::int`,
      [...win, CLASS_MAP],
    );
    await tx.query('ANALYZE rc_l');
    await tx.query('ANALYZE rc_p');

    // ---- 2. terminal + RRN. An RRN is unique, so nearly every candidate pair is alone on both sides
    // and taken as is; only where a line or a payment has several does each side take its
    // nearest-dated candidate (kept when it is the other side's choice too).
    await tx.query(
      `CREATE TEMP TABLE rc_x ON COMMIT DROP AS
       SELECT l.lid, p.pid, 'tid_rrn'::text AS rule
       FROM rc_l l JOIN rc_p p ON p.terminal_id = l.terminal_id AND p.rrn = l.rrn`,
    );
    const [u] = await tx.query<{ n: unknown; l: unknown; p: unknown }>(
      'SELECT count(*) AS n, count(DISTINCT lid) AS l, count(DISTINCT pid) AS p FROM rc_x',
    );
    if (int(u!.l) !== int(u!.n) || int(u!.p) !== int(u!.n))
      await tx.query(
        `WITH dl AS (SELECT lid FROM rc_x GROUP BY lid HAVING count(*) > 1),
         dp AS (SELECT pid FROM rc_x GROUP BY pid HAVING count(*) > 1),
         del AS (DELETE FROM rc_x x WHERE x.lid IN (SELECT lid FROM dl) OR x.pid IN (SELECT pid FROM dp)
                 RETURNING x.lid, x.pid)
       INSERT INTO rc_x
       SELECT lid, pid, 'tid_rrn' FROM (
         SELECT d.lid, d.pid,
           row_number() OVER (PARTITION BY d.lid ORDER BY abs(p.day - l.host_date), p.daemon_id, p.payment_id) AS rn_l,
           row_number() OVER (PARTITION BY d.pid ORDER BY abs(p.day - l.host_date), d.lid) AS rn_p
         FROM del d JOIN rc_l l ON l.lid = d.lid JOIN rc_p p ON p.pid = d.pid
       ) c WHERE rn_l = 1 AND rn_p = 1`,
      );
    await tx.query('ANALYZE rc_x');

    // ---- 3. terminal + STAN + date (amount first); again on what is left while some candidate lost
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const [r] = await tx.query<{ n: unknown; lost: unknown }>(
        `WITH c AS MATERIALIZED (
           SELECT l.lid, p.pid,
             row_number() OVER (PARTITION BY l.lid ORDER BY c.score, p.daemon_id, p.payment_id) AS rn_l,
             row_number() OVER (PARTITION BY p.pid ORDER BY c.score, l.lid) AS rn_p
           FROM (SELECT * FROM rc_l l WHERE NOT EXISTS (SELECT 1 FROM rc_x x WHERE x.lid = l.lid)) l
           JOIN (SELECT * FROM rc_p p WHERE NOT EXISTS (SELECT 1 FROM rc_x x WHERE x.pid = p.pid)) p
             ON p.terminal_id = l.terminal_id AND p.stan = l.stan
           JOIN jsonb_to_recordset($2::text::jsonb) AS ty(k text, y text) ON ty.k = p.kind AND ty.y = l.type
           CROSS JOIN LATERAL (SELECT (CASE WHEN p.amount = l.amount OR p.raw_amount = l.amount THEN 0 ELSE 1000 END)
                                      + abs(p.day - l.host_date) AS score) c
           WHERE abs(p.day - l.host_date) <= $1::int
             AND (p.rrn IS NULL OR l.rrn IS NULL OR p.rrn = l.rrn)),
         ins AS (INSERT INTO rc_x SELECT lid, pid, 'tid_stan_date' FROM c WHERE rn_l = 1 AND rn_p = 1 RETURNING 1)
         SELECT (SELECT count(*) FROM ins) AS n, (SELECT count(*) FROM c WHERE rn_l > 1 OR rn_p > 1) AS lost`,
        [tol, TYPE_MAP],
      );
      // Nothing lost a contest: every candidate pair was taken, another round would find none.
      if (int(r!.n) === 0 || int(r!.lost) === 0) break;
      await tx.query('ANALYZE rc_x');
    }

    // ---- 4. one pass over lines, pairs and payments → days and items (the range's results replaced)
    await tx.query('DELETE FROM hub_recon_days WHERE day BETWEEN $1 AND $2', [from, to]);
    await tx.query('DELETE FROM hub_recon_items WHERE day BETWEEN $1 AND $2', [from, to]);
    const [w] = await tx.query<{ days: unknown; items: unknown; by_rrn: unknown; by_stan: unknown }>(
      `WITH o AS MATERIALIZED (
         SELECT coalesce(p.day, l.host_date) AS day,
           CASE WHEN p.pid IS NOT NULL THEN p.store
                ELSE coalesce((SELECT hp.store FROM hub_payments hp WHERE hp.terminal_id = l.terminal_id LIMIT 1),
                              (SELECT d.store FROM hub_daemons d WHERE l.terminal_id = ANY (d.terminal_ids) LIMIT 1), '')
           END AS store,
           coalesce(p.terminal_id, l.terminal_id) AS terminal_id,
           k.cat, k.status, k.action, x.rule AS matched_by, k.cat = 'matched' AND l.host_date > p.day AS late,
           p.daemon_id, p.payment_id, p.kind AS local_kind, p.state AS local_state, p.amount AS local_amount,
           p.day AS local_date, l.file_id, l.line, l.host_date, l.type AS host_type, l.status AS host_status,
           l.amount AS host_amount, coalesce(p.stan, l.stan) AS stan, coalesce(p.rrn, l.rrn) AS rrn
         FROM rc_l l
         LEFT JOIN rc_x x ON x.lid = l.lid
         FULL JOIN rc_p p ON p.pid = x.pid
         CROSS JOIN LATERAL (SELECT
           CASE
             WHEN p.pid IS NULL AND l.holds THEN 'host_only|needs_attention|investigate_lost_transaction'
             WHEN p.pid IS NULL THEN 'ignored||'
             WHEN l.lid IS NULL AND p.class IN ${HOLDS_SQL} THEN 'local_only|needs_attention|ask_acquirer_missing_at_host'
             WHEN l.lid IS NULL AND p.class = 'doubtful' THEN 'not_charged|resolved|close_not_charged'
             WHEN l.lid IS NULL THEN 'none||'
             WHEN p.class = 'doubtful' AND l.holds THEN 'host_only|needs_attention|confirm_or_refund'
             WHEN p.class = 'doubtful' THEN 'status_mismatch|resolved|close_not_charged'
             WHEN p.class = 'none' AND l.holds THEN 'host_only|needs_attention|refund_or_accept_told_declined'
             WHEN p.class = 'none' THEN 'matched||'
             WHEN p.class = 'reversed' AND l.holds THEN 'status_mismatch|needs_attention|raise_reversal_not_applied'
             WHEN p.class = 'reversed' THEN 'matched||'
             WHEN NOT l.holds THEN 'status_mismatch|needs_attention|charge_again_or_raise'
             WHEN p.class <> l.class THEN 'status_mismatch|needs_attention|raise_status_with_acquirer'
             WHEN p.amount <> l.amount THEN 'amount_mismatch|needs_attention|raise_amount_adjustment'
             ELSE 'matched||'
           END AS v) kv
         CROSS JOIN LATERAL (SELECT split_part(kv.v, '|', 1) AS cat, nullif(split_part(kv.v, '|', 2), '') AS status,
                                    nullif(split_part(kv.v, '|', 3), '') AS action) k
         WHERE coalesce(p.day, l.host_date) BETWEEN $1::date AND $2::date
       ),
       d AS (
         INSERT INTO hub_recon_days (day, store, terminal_id, run_id, acquirer_lines, local_payments, matched,
           matched_amount, late, late_amount, missing_acquirer, missing_acquirer_amount, missing_us,
           missing_us_amount, amount_diff, amount_diff_local, amount_diff_host, status_diff, not_charged,
           ignored_lines, needs_attention)
         SELECT day, store, terminal_id, $3, count(file_id), count(payment_id),
           count(*) FILTER (WHERE cat = 'matched'), coalesce(sum(host_amount) FILTER (WHERE cat = 'matched'), 0),
           count(*) FILTER (WHERE late), coalesce(sum(host_amount) FILTER (WHERE late), 0),
           count(*) FILTER (WHERE cat = 'local_only'), coalesce(sum(local_amount) FILTER (WHERE cat = 'local_only'), 0),
           count(*) FILTER (WHERE cat = 'host_only'), coalesce(sum(host_amount) FILTER (WHERE cat = 'host_only'), 0),
           count(*) FILTER (WHERE cat = 'amount_mismatch'),
           coalesce(sum(local_amount) FILTER (WHERE cat = 'amount_mismatch'), 0),
           coalesce(sum(host_amount) FILTER (WHERE cat = 'amount_mismatch'), 0),
           count(*) FILTER (WHERE cat = 'status_mismatch'), count(*) FILTER (WHERE cat = 'not_charged'),
           count(*) FILTER (WHERE cat = 'ignored'), count(*) FILTER (WHERE status = 'needs_attention')
         FROM o GROUP BY day, store, terminal_id
         RETURNING 1),
       i AS (
         INSERT INTO hub_recon_items (day, store, terminal_id, run_id, category, status, action, matched_by,
           daemon_id, payment_id, local_kind, local_state, local_amount, local_date, file_id, line, host_date,
           host_type, host_status, host_amount, stan, rrn)
         SELECT day, store, terminal_id, $3,
           CASE WHEN late THEN 'late_arrival' WHEN cat = 'not_charged' THEN 'local_only' ELSE cat END,
           CASE WHEN late THEN 'resolved' ELSE status END,
           CASE WHEN late THEN 'late_arrival_booked_later' ELSE action END,
           matched_by, daemon_id, payment_id, local_kind, local_state, local_amount, local_date, file_id, line,
           host_date, host_type, host_status, host_amount, stan, rrn
         FROM o WHERE late OR cat IN ('host_only', 'local_only', 'amount_mismatch', 'status_mismatch', 'not_charged')
         RETURNING 1)
       SELECT (SELECT count(*) FROM d) AS days, (SELECT count(*) FROM i) AS items,
         (SELECT count(*) FROM o WHERE matched_by = 'tid_rrn') AS by_rrn,
         (SELECT count(*) FROM o WHERE matched_by = 'tid_stan_date') AS by_stan`,
      [from, to, runId],
    );
    const [tot] = await tx.query(`SELECT ${FIGURES_SQL} FROM hub_recon_days WHERE run_id = $1`, [runId]);
    const matchedBy = { tid_rrn: int(w!.by_rrn), tid_stan_date: int(w!.by_stan) };
    const summary: ReconRunSummary = {
      runId,
      from,
      to,
      tolerance,
      ...figures(tot!),
      matchedBy,
      days: int(w!.days),
      items: int(w!.items),
      startedAt,
      durationMs: Date.now() - started,
    };
    await tx.query('UPDATE hub_recon_runs SET summary = $2::text::jsonb, finished_at = now() WHERE id = $1', [
      runId,
      JSON.stringify(summary),
    ]);
    return summary;
  });
}
