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
  `
  -- Settlement and reconciliation (src/engine/settlement). One row per terminal batch once its close
  -- starts; the state moves open -> closing -> uploading -> settled and every step is resumable.
  CREATE TABLE settlement_batches (
    terminal_id        TEXT NOT NULL,
    batch              TEXT NOT NULL,
    state              TEXT NOT NULL,            -- open | closing | uploading | settled
    totals             TEXT,                     -- JSON: the journal's totals the 0500 carried
    request_48         TEXT,                     -- field 48 of the 0500
    response_code      TEXT,                     -- field 39 of the 0510
    response_48        TEXT,                     -- field 48 of the 0510 (result digits set)
    result             TEXT,                     -- balanced | unbalanced
    host_date          TEXT,                     -- field 15 of the 0510 (MMDD)
    upload_count       INTEGER,                  -- 0320 / 201 messages answered
    tc_upload_count    INTEGER,                  -- 0320 / 203 sent during the upload
    resettle_48        TEXT,                     -- field 48 of the 0510 after the upload
    pending_reversals  INTEGER NOT NULL DEFAULT 0,
    pans_erased        INTEGER,
    next_batch         TEXT,
    operator_id        TEXT,
    started_at         TEXT NOT NULL,
    closed_at          TEXT,                     -- when the 0510 was journaled (the batch is closed at the host)
    settled_at         TEXT,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (terminal_id, batch)
  );

  CREATE TABLE settlement_messages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    terminal_id    TEXT NOT NULL,
    batch          TEXT NOT NULL,
    purpose        TEXT NOT NULL,                -- settlement | resettlement | batch_upload | tc_upload | upload_end
    operation_id   TEXT REFERENCES operations(id),
    mti            TEXT NOT NULL,
    stan           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    settled_at     TEXT,
    outcome        TEXT NOT NULL DEFAULT 'pending', -- pending | answered | mac_error | unknown | not_sent
    response_code  TEXT,
    detail         TEXT                          -- JSON (no card data)
  );
  CREATE INDEX settlement_messages_batch ON settlement_messages(terminal_id, batch, purpose);

  CREATE TABLE recon_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    terminal_id    TEXT NOT NULL,
    at             TEXT NOT NULL,
    source         TEXT,                         -- file name (never its content)
    file_sha256    TEXT,
    scope          TEXT NOT NULL,                -- JSON
    summary        TEXT NOT NULL,                -- JSON: counts and totals
    totals         TEXT NOT NULL                 -- JSON: per-batch totals comparison
  );

  CREATE TABLE recon_items (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id         INTEGER REFERENCES recon_runs(id),  -- NULL: raised at batch close
    terminal_id    TEXT NOT NULL,
    batch          TEXT,
    stan           TEXT,
    operation_id   TEXT REFERENCES operations(id),
    category       TEXT NOT NULL,                -- host_only | local_only | amount_mismatch | status_mismatch | pending_reversal
    status         TEXT NOT NULL,                -- needs_attention | resolved
    local          TEXT,                         -- JSON: the journal's record (masked PAN only)
    host           TEXT,                         -- JSON: the host's record
    action         TEXT NOT NULL,                -- suggested action code
    detail         TEXT,
    created_at     TEXT NOT NULL,
    resolved_at    TEXT,
    resolution     TEXT
  );
  CREATE INDEX recon_items_run ON recon_items(run_id);
  CREATE INDEX recon_items_op ON recon_items(operation_id);
  CREATE INDEX recon_items_status ON recon_items(status);
  CREATE INDEX operations_batch ON operations(terminal_id, batch);
  `,
  `
  -- Receipts and signatures (src/engine/receipts). A signature is kept with its payment as received
  -- (it holds no card data); every receipt printed on the reader is recorded, so later prints of the
  -- same copy carry the reprint mark.
  CREATE TABLE signatures (
    operation_id   TEXT PRIMARY KEY REFERENCES operations(id),
    format         TEXT NOT NULL,                -- svg | png
    image          BLOB NOT NULL,                -- the image as received (SVG text as UTF-8, PNG bytes)
    sha256         TEXT NOT NULL,                -- of image (hex)
    operator_id    TEXT NOT NULL,
    created_at     TEXT NOT NULL
  );

  CREATE TABLE receipt_prints (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_id   TEXT NOT NULL REFERENCES operations(id),
    copy           TEXT NOT NULL,                -- merchant | customer
    reprint        INTEGER NOT NULL,             -- 0 the first print of this copy, 1 a reprint
    width          INTEGER NOT NULL,             -- columns
    operator_id    TEXT NOT NULL,
    printed_at     TEXT NOT NULL
  );
  CREATE INDEX receipt_prints_op ON receipt_prints(operation_id, copy);
  `,
  `
  -- A cancel the operator asked for while the operation was in flight (card read, at the host, approved):
  -- {operatorId, at, state}. The flow, and start-up recovery after a crash, honour it at the next decision
  -- point: nothing is sent, or an approval is reversed; never completed.
  ALTER TABLE operations ADD COLUMN cancel_requested TEXT;
  `,
  `
  -- The journal's identity, made once: the fleet hub keys this journal's events by it (a restored or
  -- replaced journal starts its seqs again under a new id, so nothing is mistaken for a resend).
  CREATE TABLE journal_meta (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  );
  INSERT INTO journal_meta (name, value) VALUES ('journal_id', lower(hex(randomblob(16))));
  `,
  `
  -- Terminal management (docs/terminal-management.md): every downloaded set of CA public keys (capk) or
  -- IC card parameters (aid), versioned per kind and kept; the newest one is active. Public data, no card
  -- data: entries hold each key's or AID's TLV exactly as the acquirer sent it (JSON [{key, tlv}]).
  CREATE TABLE terminal_param_sets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL CHECK (kind IN ('capk', 'aid')),
    version        INTEGER NOT NULL,
    reason         TEXT NOT NULL,                -- startup | host_request | on_demand | import
    entries        TEXT NOT NULL,
    entry_count    INTEGER NOT NULL,
    digest         TEXT NOT NULL,                -- sha256 of the entries (what a reader's version is compared with)
    downloaded_at  TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, version)
  );
  CREATE UNIQUE INDEX terminal_param_sets_active ON terminal_param_sets(kind) WHERE active = 1;
  `,
];
