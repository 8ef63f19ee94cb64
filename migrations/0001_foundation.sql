-- Tocsin's foundation: projects and their DSN keys, API tokens, and stored events.
-- Keep SQL portable where it costs nothing: PostgreSQL is the planned second backend.

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,          -- the DSN's project id
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    created_at  REAL    NOT NULL
);

CREATE TABLE project_keys (
    public_key  TEXT    PRIMARY KEY,          -- the DSN's username, 32 lowercase hex
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  REAL    NOT NULL
);
CREATE INDEX project_keys_by_project ON project_keys (project_id);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,      -- sha256 of the token, hex; the token is never stored
    created_at  REAL    NOT NULL,
    last_used_at REAL
);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id    TEXT    NOT NULL,             -- 32 lowercase hex
    timestamp   REAL    NOT NULL,             -- when it happened (epoch seconds, clamped)
    received    REAL    NOT NULL,             -- when Tocsin stored it
    level       TEXT    NOT NULL,
    platform    TEXT    NOT NULL,
    release     TEXT,
    environment TEXT,
    payload     BLOB    NOT NULL,             -- the normalised event JSON, zstd-compressed
    UNIQUE (project_id, event_id)
);
CREATE INDEX events_by_project_received ON events (project_id, received);
