-- Frequency conditions of alert rules; see the SQLite migration of the same number.
ALTER TABLE alert_rules ADD COLUMN frequency_count BIGINT;
ALTER TABLE alert_rules ADD COLUMN frequency_minutes BIGINT;
ALTER TABLE alert_rules ADD COLUMN users_count BIGINT;
ALTER TABLE alert_rules ADD COLUMN users_minutes BIGINT;

CREATE TABLE issue_minutes (
    issue_id  BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    minute    BIGINT NOT NULL,
    events    BIGINT NOT NULL,
    PRIMARY KEY (issue_id, minute)
);


CREATE TABLE issue_user_minutes (
    issue_id  BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_key  TEXT   NOT NULL,
    minute    BIGINT NOT NULL,
    PRIMARY KEY (issue_id, user_key)
);
CREATE INDEX issue_user_minutes_by_minute ON issue_user_minutes (issue_id, minute);
