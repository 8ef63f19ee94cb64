-- no-transaction
-- More kinds of alert channel (issue 17): Discord, Microsoft Teams, Mattermost, Rocket.Chat,
-- Google Chat and ntfy, beside email, Slack and the signed webhook.
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt as its
-- documentation describes: foreign keys off (else dropping the old table would delete, by
-- cascade, the outbox rows and rule links that refer to it), the copy in one transaction, a
-- check that every reference still holds, foreign keys back on. Hence no transaction around
-- the whole file.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE alert_channels_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL CHECK (kind IN ('email', 'slack', 'webhook', 'discord', 'teams',
                                                    'mattermost', 'rocketchat', 'googlechat', 'ntfy')),
    target         TEXT    NOT NULL,             -- recipients (comma-separated) or the URL
    secret         TEXT,                         -- HMAC key of a generic webhook
    on_new         INTEGER NOT NULL DEFAULT 1,
    on_regression  INTEGER NOT NULL DEFAULT 1,
    on_unignored   INTEGER NOT NULL DEFAULT 1,
    created_at     REAL    NOT NULL
);
INSERT INTO alert_channels_new (id, project_id, kind, target, secret, on_new, on_regression, on_unignored, created_at)
    SELECT id, project_id, kind, target, secret, on_new, on_regression, on_unignored, created_at FROM alert_channels;
DROP TABLE alert_channels;
ALTER TABLE alert_channels_new RENAME TO alert_channels;
CREATE INDEX alert_channels_by_project ON alert_channels (project_id);
COMMIT;
PRAGMA foreign_keys = ON;
