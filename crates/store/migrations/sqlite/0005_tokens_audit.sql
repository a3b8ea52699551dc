-- API tokens and the audit log (issue 11, "who may do what").
--
-- A token is kept by the SHA-256 of its text (64 hex digits), never the
-- text. Revoking stamps revoked_at; rows are never deleted, so a name is
-- never reused and the audit log's actor names one token for ever.
CREATE TABLE tokens (
    name         TEXT PRIMARY KEY,
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
    hash         TEXT NOT NULL UNIQUE,
    -- ms since the Unix epoch
    created_at   INTEGER NOT NULL,
    -- written at most once a minute per token
    last_used_at INTEGER,
    revoked_at   INTEGER
);

-- Every change made over the API, in commit order (one writer connection).
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    -- ms since the Unix epoch
    at     INTEGER NOT NULL,
    -- a token's name, or 'public'
    actor  TEXT NOT NULL,
    role   TEXT,
    -- noun.verb: config.reload, silence.create, …
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    -- a JSON document
    detail TEXT NOT NULL,
    -- the client's IP:PORT
    remote TEXT
);
