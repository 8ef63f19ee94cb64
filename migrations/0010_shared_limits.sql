-- Limits shared by the nodes of one PostgreSQL database.

-- Rate-limit windows: per scope (a project, or
-- the whole server) and window (a minute, or a second), the events the nodes have reserved.
-- A SQLite server is the only node and counts in memory; the table exists here too so both
-- backends keep one schema.
CREATE TABLE rate_windows (
    scope    TEXT    NOT NULL,                  -- project:<id> or server
    win      INTEGER NOT NULL,                  -- epoch minute (project) or second (server)
    used     INTEGER NOT NULL,                  -- events reserved by all nodes so far
    granted  INTEGER NOT NULL,                  -- what the last reservation got
    PRIMARY KEY (scope, win)
) WITHOUT ROWID;

-- Failed sign-ins of the nodes of one PostgreSQL database, per key (ip:<address> or
-- account:<email>), so the sign-in throttle holds whichever node a guess lands on. A SQLite
-- server counts in memory.
CREATE TABLE sign_in_failures (
    key  TEXT NOT NULL,
    at   REAL NOT NULL
);
CREATE INDEX sign_in_failures_by_key ON sign_in_failures (key, at);
