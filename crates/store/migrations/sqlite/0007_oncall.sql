-- On-call: schedule overrides given at run time, acknowledgements of firing
-- alerts, each alert's escalation ladder and the steps it took, and the ack
-- links already used. The key that signs ack links is a text in `meta`
-- (`ack_link_key`), so `meta` takes a text value beside its integers.

-- `meta` again, with `value` (an integer) or `text_value`, exactly one.
CREATE TABLE meta_with_text (
    key        TEXT PRIMARY KEY,
    value      INTEGER,
    text_value TEXT,
    CHECK ((value IS NULL) <> (text_value IS NULL))
) WITHOUT ROWID;
INSERT INTO meta_with_text (key, value) SELECT key, value FROM meta;
DROP TABLE meta;
ALTER TABLE meta_with_text RENAME TO meta;

-- Who is on call instead of the rotation, from start to end, made over the
-- API or the CLI. Removing one stamps removed_at; rows are kept as the
-- record of who changed the schedule.
CREATE TABLE schedule_overrides (
    id         INTEGER PRIMARY KEY,
    schedule   TEXT NOT NULL,
    person     TEXT NOT NULL,
    -- ms since the Unix epoch; the override holds in [start_at, end_at)
    start_at   INTEGER NOT NULL,
    end_at     INTEGER NOT NULL,
    author     TEXT NOT NULL,
    comment    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER,
    removed_by TEXT
);
CREATE INDEX schedule_overrides_in_effect ON schedule_overrides (schedule, end_at)
    WHERE removed_at IS NULL;

-- One acknowledgement of one firing episode of an alert (the episode is the
-- alert's fired_at when it was acknowledged). An unack stamps cleared_at.
CREATE TABLE alert_acks (
    id           INTEGER PRIMARY KEY,
    fingerprint  TEXT NOT NULL REFERENCES alerts (fingerprint),
    -- ms since the Unix epoch
    firing_since INTEGER NOT NULL,
    acked_at     INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    via          TEXT NOT NULL CHECK (via IN ('cli', 'api', 'link')),
    comment      TEXT NOT NULL,
    cleared_at   INTEGER,
    cleared_by   TEXT
);
CREATE INDEX alert_acks_by_episode ON alert_acks (fingerprint, firing_since);
-- at most one standing ack per episode
CREATE UNIQUE INDEX alert_acks_standing ON alert_acks (fingerprint, firing_since)
    WHERE cleared_at IS NULL;
CREATE INDEX alert_acks_by_time ON alert_acks (acked_at);

-- Where each alert is on its escalation policy's ladder (one row per alert,
-- replaced when it fires again), written with the dispatcher's commit.
CREATE TABLE escalations (
    fingerprint  TEXT PRIMARY KEY,
    policy       TEXT NOT NULL,
    -- ms since the Unix epoch: the firing episode the ladder belongs to
    firing_since INTEGER NOT NULL,
    -- the level paged last (from 0) and in which round (from 0)
    level        INTEGER NOT NULL,
    round        INTEGER NOT NULL,
    next_due     INTEGER,
    -- 0 climbing, 1 stopped (acknowledged or resolved: nothing more is paged)
    stopped      INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- Every step an escalation took, its timeline: whom a level paged, or why
-- nobody was (`nobody is on call on schedule primary`).
CREATE TABLE escalation_steps (
    id           INTEGER PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    -- ms since the Unix epoch
    firing_since INTEGER NOT NULL,
    policy       TEXT NOT NULL,
    level        INTEGER NOT NULL,
    round        INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    -- as written in config: `schedule:primary`, `person:carol`, `team-slack`
    target       TEXT NOT NULL,
    person       TEXT,
    notifier     TEXT,
    -- the delivery (its webhook-id) the step made, if any
    delivery_id  TEXT,
    note         TEXT NOT NULL
);
CREATE INDEX escalation_steps_by_alert ON escalation_steps (fingerprint, id);

-- Ack links already followed: a link's nonce works once.
CREATE TABLE used_links (
    nonce   TEXT PRIMARY KEY,
    -- ms since the Unix epoch
    used_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX used_links_by_time ON used_links (used_at);
