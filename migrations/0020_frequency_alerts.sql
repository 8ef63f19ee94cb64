-- Frequency conditions of alert rules (issue 17): "seen more than N times in M minutes" and
-- "affecting more than N users in M minutes". NULL: the rule has no such condition.
ALTER TABLE alert_rules ADD COLUMN frequency_count INTEGER;
ALTER TABLE alert_rules ADD COLUMN frequency_minutes INTEGER;
ALTER TABLE alert_rules ADD COLUMN users_count INTEGER;
ALTER TABLE alert_rules ADD COLUMN users_minutes INTEGER;

-- Events per issue and minute (of the events' own timestamps), kept for the issues of projects
-- with frequency rules: a window's count is a sum over at most its minutes, never a scan of
-- the events table. Pruned, issue by issue, past the longest window of the project's rules.
CREATE TABLE issue_minutes (
    issue_id  INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    minute    INTEGER NOT NULL,
    events    INTEGER NOT NULL,
    PRIMARY KEY (issue_id, minute)
) WITHOUT ROWID;


-- The last minute each user was seen on each such issue: the users in a window are those seen
-- in it.
CREATE TABLE issue_user_minutes (
    issue_id  INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_key  TEXT    NOT NULL,
    minute    INTEGER NOT NULL,
    PRIMARY KEY (issue_id, user_key)
) WITHOUT ROWID;
CREATE INDEX issue_user_minutes_by_minute ON issue_user_minutes (issue_id, minute);
