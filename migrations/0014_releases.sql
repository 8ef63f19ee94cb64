-- Releases made through the API (sentry-cli `releases new`), per project, and their deploys.
-- A release that events name exists without a row here; a row adds what the API says of it:
-- when it started and was released (finalized), its commit ref and URL.
CREATE TABLE releases (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version       TEXT    NOT NULL,
    date_created  REAL    NOT NULL,
    date_started  REAL,
    date_released REAL,
    ref           TEXT,
    url           TEXT,
    UNIQUE (project_id, version)
);
CREATE TABLE deploys (
    id            INTEGER PRIMARY KEY,
    release_id    INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    environment   TEXT    NOT NULL,
    name          TEXT,
    url           TEXT,
    date_started  REAL,
    date_finished REAL    NOT NULL
);
CREATE INDEX deploys_by_release ON deploys (release_id, date_finished);
