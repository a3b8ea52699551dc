-- Watchkeeper's SQLite schema: monitors, raw results, state changes, per-minute
-- rollups and a small meta table. Row layout and retention: docs/storage.md.

-- Text ids map to small integer keys so every result row stores a 1–2 byte
-- integer instead of the id text.
CREATE TABLE monitors (
    key        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    -- epoch seconds; metadata only, never used for decisions
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);

-- One row per check. Clustered by (monitor, started_at) without a rowid, so a
-- row is its key plus a few varints. Two results of one monitor in the same
-- millisecond are both kept: the later one is stored 1 ms later (lag_ms is
-- adjusted so due_at is still exact).
CREATE TABLE results (
    monitor             INTEGER NOT NULL REFERENCES monitors (key),
    -- ms since the Unix epoch
    started_at          INTEGER NOT NULL,
    -- started_at - due_at, ms
    lag_ms              INTEGER NOT NULL,
    latency_us          INTEGER NOT NULL,
    -- Health::code: 0 up, 1 degraded, 2 down
    health              INTEGER NOT NULL,
    -- NULL when up
    reason              TEXT,
    fallback_health     INTEGER,
    fallback_latency_us INTEGER,
    fallback_reason     TEXT,
    PRIMARY KEY (monitor, started_at)
) WITHOUT ROWID;

-- Transitions, kept for ever. processed_at is the seam for the notification
-- outbox: a dispatcher claims rows with UPDATE … WHERE processed_at IS NULL.
CREATE TABLE state_changes (
    id           INTEGER PRIMARY KEY,
    monitor      INTEGER NOT NULL REFERENCES monitors (key),
    -- ms since the Unix epoch
    at           INTEGER NOT NULL,
    from_health  INTEGER,
    to_health    INTEGER NOT NULL,
    reason       TEXT,
    processed_at INTEGER
);
CREATE INDEX state_changes_by_monitor ON state_changes (monitor, at);
CREATE INDEX state_changes_unprocessed ON state_changes (id) WHERE processed_at IS NULL;

-- One row per monitor and minute that had results.
CREATE TABLE rollups (
    monitor        INTEGER NOT NULL REFERENCES monitors (key),
    -- epoch seconds of the minute's start
    minute         INTEGER NOT NULL,
    count          INTEGER NOT NULL,
    failures       INTEGER NOT NULL,
    degraded       INTEGER NOT NULL,
    latency_min_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    p50_us         INTEGER NOT NULL,
    p95_us         INTEGER NOT NULL,
    p99_us         INTEGER NOT NULL,
    -- HDR histogram of latencies in µs, V2 encoding
    histogram      BLOB NOT NULL,
    PRIMARY KEY (monitor, minute)
) WITHOUT ROWID;

-- Small bookkeeping values, e.g. 'rollup_watermark': epoch seconds of the
-- first minute not yet rolled up.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value NOT NULL
) WITHOUT ROWID;
