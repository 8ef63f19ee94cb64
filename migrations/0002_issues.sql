-- Issues: groups of events that are the same bug, their hashes, counters, tags and history.

ALTER TABLE projects ADD COLUMN next_issue_number INTEGER NOT NULL DEFAULT 1;

CREATE TABLE issues (
    -- AUTOINCREMENT: a deleted issue's id is never reused, so permalinks never change meaning.
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id       INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    short_number     INTEGER NOT NULL,            -- the N of the short id SLUG-N
    title            TEXT    NOT NULL,
    culprit          TEXT,
    type             TEXT,                        -- main exception type (metadata.type)
    value            TEXT,                        -- main exception value or message (metadata.value)
    level            TEXT    NOT NULL,
    platform         TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'unresolved'
                             CHECK (status IN ('unresolved', 'resolved', 'ignored')),
    first_seen       REAL    NOT NULL,
    last_seen        REAL    NOT NULL,
    times_seen       INTEGER NOT NULL DEFAULT 0,
    users_seen       INTEGER NOT NULL DEFAULT 0,
    first_release    TEXT,
    last_release     TEXT,
    grouping_config  TEXT    NOT NULL,
    resolved_at      REAL,
    -- Ignore conditions; NULL = not set. The issue becomes unresolved when one is met.
    ignore_until     REAL,                        -- epoch seconds
    ignore_count     INTEGER,                     -- this many more events
    ignore_baseline  INTEGER,                     -- times_seen when the count condition was set
    UNIQUE (project_id, short_number)
);
CREATE INDEX issues_by_project_last_seen ON issues (project_id, last_seen);
CREATE INDEX issues_by_project_first_seen ON issues (project_id, first_seen);
CREATE INDEX issues_by_project_times_seen ON issues (project_id, times_seen);

-- An issue owns one or more hashes; an event joins the issue of the first hash found.
CREATE TABLE grouphashes (
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hash        TEXT    NOT NULL,
    config      TEXT    NOT NULL,                 -- grouping config the hash came from
    issue_id    INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, hash)
) WITHOUT ROWID;
CREATE INDEX grouphashes_by_issue ON grouphashes (issue_id);

ALTER TABLE events ADD COLUMN issue_id INTEGER REFERENCES issues (id) ON DELETE CASCADE;
ALTER TABLE events ADD COLUMN user_key TEXT;
ALTER TABLE events ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';  -- JSON [[key, value], …], built-in + custom
CREATE INDEX events_by_issue ON events (issue_id, timestamp);

CREATE TABLE issue_hourly (
    issue_id  INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    hour      INTEGER NOT NULL,                   -- epoch seconds / 3600
    count     INTEGER NOT NULL,
    PRIMARY KEY (issue_id, hour)
) WITHOUT ROWID;

CREATE TABLE issue_tag_values (
    issue_id    INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    key         TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    first_seen  REAL    NOT NULL,
    last_seen   REAL    NOT NULL,
    PRIMARY KEY (issue_id, key, value)
) WITHOUT ROWID;

CREATE TABLE issue_users (
    issue_id  INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_key  TEXT    NOT NULL,                   -- id:…, email:…, username:… or ip:…
    PRIMARY KEY (issue_id, user_key)
) WITHOUT ROWID;

CREATE TABLE activity (
    id        INTEGER PRIMARY KEY,
    issue_id  INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    kind      TEXT    NOT NULL,                   -- first_seen, set_regression, set_resolved, …
    data      TEXT    NOT NULL DEFAULT '{}',      -- JSON
    actor     TEXT,                               -- NULL = Tocsin itself
    at        REAL    NOT NULL
);
CREATE INDEX activity_by_issue ON activity (issue_id, at);
