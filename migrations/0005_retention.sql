-- Retention and quotas: per-project limits, the events retention must keep, and what the
-- rate limits refused.

-- NULL: the server's default (retention_max_events, retention_max_age_days); no rate limit.
ALTER TABLE projects ADD COLUMN max_events INTEGER;
ALTER TABLE projects ADD COLUMN max_age_days REAL;
ALTER TABLE projects ADD COLUMN rate_limit_per_minute INTEGER;

-- 1 when this event reopened its issue (regression or ended ignore): retention keeps it, as it
-- keeps each issue's first and latest event.
ALTER TABLE events ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;

-- Events refused by a rate limit, per project, hour and reason (project_quota, server_quota).
CREATE TABLE project_rejections (
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hour        INTEGER NOT NULL,                 -- epoch seconds / 3600
    reason      TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (project_id, hour, reason)
) WITHOUT ROWID;
