-- Silences made over the API or the CLI: matchers, a start and an end,
-- who and why. Expiring one moves its end to the moment it was expired;
-- rows are kept as the record of who silenced what.
CREATE TABLE silences (
    id         TEXT PRIMARY KEY,
    -- a JSON array of matchers as written (`severity="P2"`)
    matchers   TEXT NOT NULL,
    -- ms since the Unix epoch
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    comment    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
