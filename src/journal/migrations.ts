/**
 * Schema migrations, applied in order inside one transaction each; PRAGMA user_version records the
 * last one applied. Never edit a shipped migration: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE operations (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,              -- sale | balance | preauth | preauth_void | capture | void | refund
    idempotency_key  TEXT NOT NULL UNIQUE,
    params_hash      TEXT NOT NULL,
    operator_id      TEXT NOT NULL,
    order_id         TEXT,
    original_id      TEXT REFERENCES operations(id),
    amount           INTEGER NOT NULL CHECK (amount >= 0),
    currency         TEXT NOT NULL,
    approved_amount  INTEGER CHECK (approved_amount IS NULL OR approved_amount >= 0),
    state            TEXT NOT NULL,
    reason           TEXT,
    terminal_id      TEXT NOT NULL,
    reader_id        TEXT,
    batch            TEXT,
    stan             TEXT,
    local_date       TEXT,                       -- field 13 (MMDD) of the request
    rrn              TEXT,
    auth_code        TEXT,
    response_code    TEXT,
    card             TEXT,                       -- JSON: masked PAN, fingerprint, PAR, token facts, entry mode
    icc_request      BLOB,                       -- field 55 as sent (profile-filtered: no sensitive tags)
    icc_final        BLOB,                       -- TC / AAC data from the second GENERATE AC
    result           TEXT,                       -- JSON: balance, partial approval, extra facts
    supervisor       TEXT,                       -- JSON: supervisor approval, when one was needed
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
  );
  CREATE INDEX operations_order ON operations(order_id);
  CREATE INDEX operations_original ON operations(original_id);
  CREATE INDEX operations_state ON operations(state);

  CREATE TABLE host_attempts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_id   TEXT NOT NULL REFERENCES operations(id),
    purpose        TEXT NOT NULL,                -- request | reversal | inquiry | advice | upload
    mti            TEXT NOT NULL,
    stan           TEXT NOT NULL,
    batch          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    sent_at        TEXT,
    outcome        TEXT NOT NULL DEFAULT 'pending', -- pending | answered | mac_error | unknown | not_sent
    reason         TEXT,
    response_code  TEXT,
    rrn            TEXT,
    auth_code      TEXT,
    settled_at     TEXT,
    late_evidence  TEXT                          -- JSON: an answer that arrived after we gave up
  );
  CREATE INDEX host_attempts_op ON host_attempts(operation_id);

  CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_id  TEXT,
    type          TEXT NOT NULL,
    data          TEXT NOT NULL,
    at            TEXT NOT NULL
  );
  CREATE INDEX events_op ON events(operation_id);

  CREATE TABLE saf (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    lane           TEXT NOT NULL,                -- reversal | advice
    operation_id   TEXT NOT NULL REFERENCES operations(id),
    kind           TEXT NOT NULL,                -- reversal | script_advice | tc_upload | esign_upload
    status         TEXT NOT NULL,                -- prepared | pending | done | needs_attention | cancelled
    reason         TEXT,                         -- reversal reason code (98, 06, A0, ...) or why it stopped
    message        TEXT NOT NULL,                -- JSON: the fields to send (no clear card data)
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_at        TEXT,
    last_response  TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
  );
  CREATE INDEX saf_lane_status ON saf(lane, status, id);

  CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    topic         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       TEXT,
    delivered_at  TEXT,
    last_error    TEXT
  );

  CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
  );

  CREATE TABLE sealed (
    operation_id  TEXT NOT NULL REFERENCES operations(id),
    kind          TEXT NOT NULL,                 -- pan
    blob          BLOB,
    created_at    TEXT NOT NULL,
    erased_at     TEXT,
    PRIMARY KEY (operation_id, kind)
  );

  CREATE TABLE audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    operator_id   TEXT NOT NULL,
    action        TEXT NOT NULL,
    operation_id  TEXT,
    detail        TEXT NOT NULL
  );
  `,
];
