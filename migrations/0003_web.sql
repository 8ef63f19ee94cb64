-- The web UI: people, their sessions, and the one-time link that creates the first admin.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash  TEXT    NOT NULL,                  -- argon2id PHC string
    is_admin       INTEGER NOT NULL DEFAULT 0,
    created_at     REAL    NOT NULL
);

CREATE TABLE web_sessions (
    token_hash  TEXT    PRIMARY KEY,                  -- sha256 of the cookie value
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token  TEXT    NOT NULL,                     -- echoed by every form of this session
    created_at  REAL    NOT NULL,
    expires_at  REAL    NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

CREATE TABLE setup_tokens (
    token_hash  TEXT PRIMARY KEY,                     -- sha256 of the token in the setup link
    created_at  REAL NOT NULL
) WITHOUT ROWID;

-- Who is on an issue, and where it is tracked elsewhere.
ALTER TABLE issues ADD COLUMN assignee_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX issues_by_assignee ON issues (assignee_id);

CREATE TABLE issue_links (
    id          INTEGER PRIMARY KEY,
    issue_id    INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    url         TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    created_by  TEXT,
    created_at  REAL    NOT NULL
);
CREATE INDEX issue_links_by_issue ON issue_links (issue_id);

-- What users wrote about a crash (`user_report` and `feedback` envelope items), linked to the
-- event they name; the event's issue shows them.
CREATE TABLE user_feedback (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id    TEXT,
    name        TEXT,
    email       TEXT,
    comments    TEXT    NOT NULL,
    received    REAL    NOT NULL
);
CREATE INDEX user_feedback_by_event ON user_feedback (project_id, event_id);
