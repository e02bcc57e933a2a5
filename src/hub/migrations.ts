/**
 * The hub's schema, one list of SQL texts run in order on PGlite and on a server alike. A migration
 * runs once (hub_migrations), under an advisory lock so several hub instances starting together do
 * not race. Money is bigint fen; times are timestamptz; views are jsonb (masked: the API's shapes).
 */
import type { HubDb } from './db.js';

export const HUB_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE hub_settings (
    name   text PRIMARY KEY,
    value  text NOT NULL
  );

  -- One row per enrolled daemon (a laptop). The credential is stored only as its SHA-256.
  CREATE TABLE hub_daemons (
    id               text PRIMARY KEY,
    name             text NOT NULL,
    store            text NOT NULL,
    credential_hash  text NOT NULL UNIQUE,
    terminal_ids     text[] NOT NULL DEFAULT '{}',
    enrolled_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz,
    last_seen_at     timestamptz,
    version          text,
    health           jsonb,
    health_at        timestamptz
  );

  -- One-time enrolment codes (hashed), each for one store.
  CREATE TABLE hub_enrol_codes (
    code_hash   text PRIMARY KEY,
    store       text NOT NULL,
    name        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    daemon_id   text REFERENCES hub_daemons(id)
  );

  -- Per daemon journal: the highest seq held with none missing below it.
  CREATE TABLE hub_cursors (
    daemon_id   text NOT NULL REFERENCES hub_daemons(id),
    journal_id  text NOT NULL,
    acked_seq   bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (daemon_id, journal_id)
  );

  -- Every durable journal event, once (event id = journal id + seq).
  CREATE TABLE hub_events (
    daemon_id    text NOT NULL,
    journal_id   text NOT NULL,
    seq          bigint NOT NULL,
    payment_id   text,
    type         text NOT NULL,
    at           timestamptz NOT NULL,
    body         jsonb NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (daemon_id, journal_id, seq)
  );
  CREATE INDEX hub_events_payment ON hub_events (daemon_id, payment_id);
  CREATE INDEX hub_events_ingested ON hub_events (ingested_at);

  -- The latest view of every payment (projection of the events; the newer updated_at wins).
  CREATE TABLE hub_payments (
    daemon_id        text NOT NULL,
    payment_id       text NOT NULL,
    store            text NOT NULL,
    terminal_id      text NOT NULL,
    kind             text NOT NULL,
    state            text NOT NULL,
    method           text NOT NULL,
    amount           bigint NOT NULL,
    approved_amount  bigint,
    currency         text NOT NULL,
    stan             text,
    rrn              text,
    local_date       date,
    order_id         text,
    pan_display      text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    view             jsonb NOT NULL,
    PRIMARY KEY (daemon_id, payment_id)
  );
  CREATE INDEX hub_payments_state ON hub_payments (state);
  CREATE INDEX hub_payments_tid_stan ON hub_payments (terminal_id, stan);
  CREATE INDEX hub_payments_tid_rrn ON hub_payments (terminal_id, rrn);
  CREATE INDEX hub_payments_created ON hub_payments (created_at);

  -- Dashboard users (scrypt hashes) and their sessions are signed cookies (secret in hub_settings):
  -- any hub instance can check them, so hubs stay stateless.
  CREATE TABLE hub_users (
    name           text PRIMARY KEY,
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
  );
  `,
  `
  -- Central reconciliation (src/hub/reconcile/, docs/fleet.md, Central reconciliation).
  -- The acquirer's settlement/detail files, once each (by the SHA-256 of their content).
  CREATE TABLE hub_acq_files (
    id           serial PRIMARY KEY,
    sha256       text NOT NULL UNIQUE,
    name         text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    imported_by  text,
    lines        integer NOT NULL,
    superseded   integer NOT NULL DEFAULT 0,
    terminals    integer NOT NULL,
    first_date   date,
    last_date    date
  );

  -- Their lines. A later file's line with the same terminal, date, STAN, RRN and type replaces an
  -- earlier file's (superseded_by), so a cumulative re-send of a day does not count twice.
  CREATE TABLE hub_acq_lines (
    file_id        integer NOT NULL,
    line           integer NOT NULL,
    host_date      date NOT NULL,
    terminal_id    text NOT NULL,
    batch          text,
    stan           text NOT NULL,
    rrn            text,
    amount         bigint NOT NULL,
    type           text NOT NULL,
    status         text NOT NULL,
    class          text NOT NULL,
    superseded_by  integer,
    PRIMARY KEY (file_id, line)
  );
  CREATE INDEX hub_acq_lines_date ON hub_acq_lines (host_date) WHERE superseded_by IS NULL;

  -- Every run (its range and summary); the results below are the latest run's for each day.
  CREATE TABLE hub_recon_runs (
    id           serial PRIMARY KEY,
    from_date    date NOT NULL,
    to_date      date NOT NULL,
    date_days    integer NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now(),
    run_by       text,
    summary      jsonb NOT NULL
  );

  -- Per store, terminal and day: counts and fen. A run replaces the rows of the days it covers.
  CREATE TABLE hub_recon_days (
    day                      date NOT NULL,
    store                    text NOT NULL,
    terminal_id              text NOT NULL,
    run_id                   integer NOT NULL,
    acquirer_lines           integer NOT NULL,
    local_payments           integer NOT NULL,
    matched                  integer NOT NULL,
    matched_amount           bigint NOT NULL,
    late                     integer NOT NULL,
    late_amount              bigint NOT NULL,
    missing_acquirer         integer NOT NULL,
    missing_acquirer_amount  bigint NOT NULL,
    missing_us               integer NOT NULL,
    missing_us_amount        bigint NOT NULL,
    amount_diff              integer NOT NULL,
    amount_diff_local        bigint NOT NULL,
    amount_diff_host         bigint NOT NULL,
    status_diff              integer NOT NULL,
    not_charged              integer NOT NULL,
    ignored_lines            integer NOT NULL,
    needs_attention          integer NOT NULL,
    PRIMARY KEY (day, store, terminal_id)
  );

  -- Every difference (and late arrival) of those days, with both sides (masked data only).
  CREATE TABLE hub_recon_items (
    day           date NOT NULL,
    store         text NOT NULL,
    terminal_id   text NOT NULL,
    run_id        integer NOT NULL,
    category      text NOT NULL,
    status        text NOT NULL,
    action        text NOT NULL,
    matched_by    text,
    daemon_id     text,
    payment_id    text,
    local_kind    text,
    local_state   text,
    local_amount  bigint,
    local_date    date,
    file_id       integer,
    line          integer,
    host_date     date,
    host_type     text,
    host_status   text,
    host_amount   bigint,
    stan          text,
    rrn           text
  );
  CREATE INDEX hub_recon_items_day ON hub_recon_items (day, store, terminal_id);
  `,
];

const LOCK_ID = 0x70_6f_73_62; // "posb"

export async function migrateHub(db: HubDb): Promise<{ applied: number; version: number }> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
    await tx.query(
      'CREATE TABLE IF NOT EXISTS hub_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const [row] = await tx.query<{ v: number | null }>('SELECT max(version) AS v FROM hub_migrations');
    const current = Number(row?.v ?? 0);
    let applied = 0;
    for (let v = current + 1; v <= HUB_MIGRATIONS.length; v++) {
      for (const stmt of splitStatements(HUB_MIGRATIONS[v - 1]!)) await tx.query(stmt);
      await tx.query('INSERT INTO hub_migrations (version) VALUES ($1)', [v]);
      applied++;
    }
    return { applied, version: HUB_MIGRATIONS.length };
  });
}

/** The migrations hold no string literals with `;`, so a split on `;` at line ends is exact. */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}
