-- Results clustered by time instead of by monitor.
--
-- Clustered by (monitor, started_at), every result of a batch landed on its
-- own B-tree page, and a commit writes each dirty page whole to the WAL:
-- about 1.6 KB per result with 1 KiB pages, for a row of 28 bytes. Clustered
-- by (started_at, monitor), a batch appends to the last pages of one B-tree
-- (46 bytes of WAL per result, bench/wal_bytes.py), rolling up a minute reads
-- one contiguous range, and pruning deletes from the front.
--
-- Reads of one monitor's results over a long time are no longer cheap, so the
-- engine keeps each monitor's recent results in memory and saves them to
-- recent_results (below) every few minutes and at shutdown; a restart reads
-- that table plus the results that started after it was saved.

CREATE TABLE results_by_time (
    -- ms since the Unix epoch
    started_at          INTEGER NOT NULL,
    monitor             INTEGER NOT NULL REFERENCES monitors (key),
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
    PRIMARY KEY (started_at, monitor)
) WITHOUT ROWID;

INSERT INTO results_by_time (started_at, monitor, lag_ms, latency_us, health, reason,
    fallback_health, fallback_latency_us, fallback_reason)
SELECT started_at, monitor, lag_ms, latency_us, health, reason,
    fallback_health, fallback_latency_us, fallback_reason
FROM results ORDER BY started_at, monitor;

-- Each monitor's newest results as the engine last saved them (at most ten
-- per monitor), replaced whole on every save. 'recent_covered_until' in meta
-- (ms) says which results the save accounts for: every result that started
-- before it. Results that started at or after it are read from results.
CREATE TABLE recent_results (
    monitor             INTEGER NOT NULL REFERENCES monitors (key),
    started_at          INTEGER NOT NULL,
    lag_ms              INTEGER NOT NULL,
    latency_us          INTEGER NOT NULL,
    health              INTEGER NOT NULL,
    reason              TEXT,
    fallback_health     INTEGER,
    fallback_latency_us INTEGER,
    fallback_reason     TEXT,
    PRIMARY KEY (monitor, started_at)
) WITHOUT ROWID;

INSERT INTO recent_results (monitor, started_at, lag_ms, latency_us, health, reason,
    fallback_health, fallback_latency_us, fallback_reason)
SELECT monitor, started_at, lag_ms, latency_us, health, reason,
    fallback_health, fallback_latency_us, fallback_reason
FROM (
    SELECT *, row_number() OVER (PARTITION BY monitor ORDER BY started_at DESC) AS newest
    FROM results
)
WHERE newest <= 10;

INSERT INTO meta (key, value)
SELECT 'recent_covered_until', COALESCE(MAX(started_at) + 1, 0) FROM results;

DROP TABLE results;
ALTER TABLE results_by_time RENAME TO results;
