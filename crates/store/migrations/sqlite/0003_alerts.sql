-- Alerts: one row per alert (a rule about one monitor) with its state now,
-- and every change of phase in order. Both are written in the same
-- transaction as the results that caused them, and kept (a few alerts per
-- monitor; events only when an alert changes phase).
CREATE TABLE alerts (
    fingerprint  TEXT PRIMARY KEY,
    rule         TEXT NOT NULL,
    -- the monitor's id (not its key: an alert outlives a removed monitor)
    monitor      TEXT NOT NULL,
    -- a JSON object of the alert's labels
    labels       TEXT NOT NULL,
    -- 0 inactive, 1 pending, 2 firing, 3 resolved
    phase        INTEGER NOT NULL,
    -- ms since the Unix epoch
    active_since INTEGER,
    fired_at     INTEGER,
    last_held    INTEGER,
    resolved_at  INTEGER,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE alert_events (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL REFERENCES alerts (fingerprint),
    -- ms since the Unix epoch
    at          INTEGER NOT NULL,
    -- 0 pending, 1 pending cleared, 2 fired, 3 resolved
    transition  INTEGER NOT NULL,
    reason      TEXT
);
CREATE INDEX alert_events_by_alert ON alert_events (fingerprint, id);
