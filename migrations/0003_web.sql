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
