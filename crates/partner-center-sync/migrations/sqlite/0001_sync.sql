-- The current version of each referral: the columns people filter on, and the JSON as received.
-- Times are UTC RFC 3339 with nanoseconds (fixed width, so text order is time order).
CREATE TABLE referrals (
    id               TEXT PRIMARY KEY NOT NULL,
    etag             TEXT NOT NULL,
    updated_at       TEXT,
    status           TEXT,
    substatus        TEXT,
    type             TEXT,
    direction        TEXT,
    qualification    TEXT,
    customer_name    TEXT,
    customer_country TEXT,
    -- Exact: the decimal as the service wrote it, never a float.
    deal_value       TEXT,
    currency         TEXT,
    closing_at       TEXT,
    json             TEXT NOT NULL
);
CREATE INDEX referrals_status ON referrals (status, substatus);
CREATE INDEX referrals_updated_at ON referrals (updated_at);

-- Every distinct version (id, eTag) ever received.
CREATE TABLE referral_versions (
    id          TEXT NOT NULL,
    etag        TEXT NOT NULL,
    updated_at  TEXT,
    received_at TEXT NOT NULL,
    json        TEXT NOT NULL,
    UNIQUE (id, etag)
);

-- One row: where the next incremental run starts.
CREATE TABLE sync_state (
    singleton              INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    watermark              TEXT,
    last_full_sweep_at     TEXT,
    -- NULL: not tried yet.
    range_filter_supported INTEGER
);
INSERT INTO sync_state (singleton) VALUES (1);

CREATE TABLE sync_runs (
    run_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    kind         TEXT NOT NULL,
    pages        INTEGER NOT NULL DEFAULT 0,
    seen         INTEGER NOT NULL DEFAULT 0,
    new_versions INTEGER NOT NULL DEFAULT 0,
    error        TEXT
);
