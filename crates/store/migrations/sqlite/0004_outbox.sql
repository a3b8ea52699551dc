-- The notification outbox. The dispatcher reads `alert_events` after its
-- cursor (meta key `dispatch_cursor`) and, in one transaction, advances the
-- cursor, saves the route groups it changed and writes the deliveries their
-- flushes produced: an alert event committed is delivered, and an event is
-- turned into deliveries once.
CREATE TABLE notification_groups (
    -- the route's index and its group-by labels' values
    group_key   TEXT PRIMARY KEY,
    -- ms since the Unix epoch
    next_flush  INTEGER NOT NULL,
    last_sent   INTEGER,
    -- JSON arrays of fingerprints: firing in the last notification; every
    -- alert in the group
    sent_firing TEXT NOT NULL,
    members     TEXT NOT NULL
);

CREATE TABLE deliveries (
    seq             INTEGER PRIMARY KEY,
    -- the webhook-id, the same on every attempt
    id              TEXT NOT NULL UNIQUE,
    notifier        TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    -- alert.firing, alert.resolved, test
    kind            TEXT NOT NULL,
    -- ms since the Unix epoch
    created_at      INTEGER NOT NULL,
    -- 0 pending, 1 delivered, 2 failed (final), 3 dropped (notifier disabled)
    status          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER,
    last_attempt_at INTEGER,
    last_outcome    TEXT,
    finished_at     INTEGER,
    -- the notification as JSON, rendered for its channel at each attempt
    notification    TEXT NOT NULL
);
CREATE INDEX deliveries_pending ON deliveries (notifier, next_attempt_at) WHERE status = 0;

CREATE TABLE delivery_attempts (
    delivery    INTEGER NOT NULL REFERENCES deliveries (seq),
    number      INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    -- what happened ("HTTP 500", "connection refused") and what it meant
    outcome     TEXT NOT NULL,
    decision    TEXT NOT NULL,
    PRIMARY KEY (delivery, number)
);

-- A notifier a receiver told to go away (HTTP 410), until its config
-- changes (its digest differs).
CREATE TABLE disabled_notifiers (
    notifier TEXT PRIMARY KEY,
    digest   TEXT NOT NULL,
    at       INTEGER NOT NULL,
    reason   TEXT NOT NULL
);
