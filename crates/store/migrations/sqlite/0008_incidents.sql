-- Incidents: one row per incident with its state now, the components it
-- affects, the alerts that joined it and its timeline. All four are written
-- by one writer's transaction (`Store::commit_incidents`), with the
-- opener's cursor in `meta` (`incident_cursor`: the id of the last alert
-- event it accounted for). Nothing is deleted: an incident, resolved or
-- not, is the record of what happened.
CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY,
    title            TEXT NOT NULL,
    -- as config names it (`critical`, `sev1`, …)
    severity         TEXT NOT NULL,
    -- investigating, identified, monitoring (the open ones), resolved,
    -- postmortem: `IncidentStatus::as_str`
    status           TEXT NOT NULL,
    -- who leads the response, if anyone does yet
    commander        TEXT,
    -- 1 when an alert's policy opened it, 0 when a person did
    opened_by_alert  INTEGER NOT NULL,
    -- ms since the Unix epoch: when the trouble began (the first alert fired)
    started_at       INTEGER NOT NULL,
    -- the first acknowledgement (later ones do not move it)
    acknowledged_at  INTEGER,
    -- NULL while open, and again once reopened
    resolved_at      INTEGER,
    -- when the next public update is promised, and when the last reminder
    -- that one was late went out
    next_update_at   INTEGER,
    last_reminder_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- The components an incident affects and how badly; an impact is changed
-- in place, a component never leaves its incident.
CREATE TABLE incident_components (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    -- the component's id in config
    component   TEXT NOT NULL,
    -- degraded_performance, partial_outage, major_outage: `Impact::as_str`
    impact      TEXT NOT NULL,
    PRIMARY KEY (incident_id, component)
) WITHOUT ROWID;

-- The alerts of an incident. The fingerprint is not a foreign key: an
-- incident keeps the record of its alerts whatever becomes of them.
CREATE TABLE incident_alerts (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    fingerprint TEXT NOT NULL,
    -- the alert's monitor id, as the incident page shows it
    monitor     TEXT NOT NULL,
    -- ms since the Unix epoch
    joined_at   INTEGER NOT NULL,
    -- 1 while the alert fires, 0 once it resolved
    firing      INTEGER NOT NULL,
    PRIMARY KEY (incident_id, fingerprint)
) WITHOUT ROWID;
-- the incident of an alert (`Store::incident_of_alert`)
CREATE INDEX incident_alerts_by_alert ON incident_alerts (fingerprint);

-- An incident's timeline: what happened, in order; the updates among them
-- are what the status page shows.
CREATE TABLE incident_entries (
    -- grows in commit order, so a feed reads the entries after the last it saw
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    -- ms since the Unix epoch
    at          INTEGER NOT NULL,
    -- opened, alert_joined, update, note, …: `EntryKind::as_str`
    kind        TEXT NOT NULL,
    -- who wrote it; NULL when Watchkeeper did
    author      TEXT,
    -- the status an update or a change announced
    status      TEXT,
    subject     TEXT,
    body        TEXT NOT NULL,
    -- the alert it is about, if any
    fingerprint TEXT,
    -- the id of the incident template an update was rendered from
    template    TEXT
);
CREATE INDEX incident_entries_by_incident ON incident_entries (incident_id, at, id);
