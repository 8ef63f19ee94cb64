-- Project ids are never reused, like Sentry's: a DSN, a cached key or a compression dictionary
-- of a deleted project must never come to mean a new one. `projects.id` is a plain rowid
-- (SQLite would hand out a deleted top id again), so the highest id ever given is kept here.
CREATE TABLE counters (
    name   TEXT    PRIMARY KEY,
    value  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) SELECT 'project_id', COALESCE(MAX(id), 0) FROM projects;
