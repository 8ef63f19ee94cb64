-- Notifications: where a project's alerts go, and the durable outbox they travel through.

CREATE TABLE alert_channels (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL CHECK (kind IN ('email', 'slack', 'webhook')),
    target         TEXT    NOT NULL,             -- recipients (comma-separated) or the URL
    secret         TEXT,                         -- HMAC key of a generic webhook
    on_new         INTEGER NOT NULL DEFAULT 1,
    on_regression  INTEGER NOT NULL DEFAULT 1,
    on_unignored   INTEGER NOT NULL DEFAULT 1,
    created_at     REAL    NOT NULL
);
CREATE INDEX alert_channels_by_project ON alert_channels (project_id);

-- One row per notification to send, written in the transaction that creates the issue or
-- flips its status, so a crash can neither lose it nor (once delivered) send it twice.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id       INTEGER NOT NULL REFERENCES alert_channels (id) ON DELETE CASCADE,
    issue_id         INTEGER REFERENCES issues (id) ON DELETE SET NULL,
    trigger          TEXT    NOT NULL,           -- new, regression, unignored, summary, test
    payload          TEXT    NOT NULL,           -- JSON snapshot of what the message says
    state            TEXT    NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending', 'delivered', 'failed', 'suppressed')),
    hour             INTEGER NOT NULL,           -- epoch hour of creation, for the flood guard
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL    NOT NULL,
    created_at       REAL    NOT NULL,
    delivered_at     REAL,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_by_channel_hour ON outbox (channel_id, hour, trigger);
CREATE INDEX outbox_by_issue ON outbox (issue_id);
