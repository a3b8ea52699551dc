-- Status page subscribers: a visitor's email address (double opt-in:
-- `confirmed_at` is NULL until they follow the link mailed to them) or
-- webhook URL (confirmed when made). Unsubscribing deletes the row, so an
-- address is not kept once its owner asked to leave. The links in their
-- messages are signed with the link key and name the row's id and
-- `created_at`, so a link outlives neither its row nor a new row that
-- reuses the id. The subscription dispatcher's cursor (the id of the last
-- timeline entry it accounted for) is in `meta`.
CREATE TABLE subscribers (
    id           INTEGER PRIMARY KEY,
    -- email or webhook
    kind         TEXT NOT NULL,
    -- the address as the visitor gave it (an email address, or a URL)
    address      TEXT NOT NULL,
    -- ms since the Unix epoch
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    UNIQUE (kind, address)
);
