-- Alert rules (issue 17): *when* (a new issue, a regression, an ignored issue coming back), *if*
-- (the event's environment is one of a list, its level is at least one, tags equal or differ
-- from values), *then* (channels), not more than once per issue every `interval_minutes`
-- (0: every time).
CREATE TABLE alert_rules (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id        INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    on_new            INTEGER NOT NULL DEFAULT 0,
    on_regression     INTEGER NOT NULL DEFAULT 0,
    on_unignored      INTEGER NOT NULL DEFAULT 0,
    environments      TEXT    NOT NULL DEFAULT '[]',  -- JSON list; empty: any environment
    min_level         TEXT,                           -- debug, info, warning, error, fatal
    tag_filters       TEXT    NOT NULL DEFAULT '[]',  -- JSON [{"key", "equals": true|false, "value"}]
    interval_minutes  INTEGER NOT NULL DEFAULT 30,
    created_at        REAL    NOT NULL
);
CREATE INDEX alert_rules_by_project ON alert_rules (project_id);

CREATE TABLE alert_rule_channels (
    rule_id     INTEGER NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    channel_id  INTEGER NOT NULL REFERENCES alert_channels (id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, channel_id)
);
CREATE INDEX alert_rule_channels_by_channel ON alert_rule_channels (channel_id);

-- When each rule last fired for each issue: the per-issue interval survives a restart.
CREATE TABLE alert_rule_fires (
    rule_id   INTEGER NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    issue_id  INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    fired_at  REAL    NOT NULL,
    PRIMARY KEY (rule_id, issue_id)
);
CREATE INDEX alert_rule_fires_by_issue ON alert_rule_fires (issue_id);

ALTER TABLE outbox ADD COLUMN rule_id INTEGER REFERENCES alert_rules (id) ON DELETE SET NULL;

-- Each channel's triggers become a rule of its own, delivering to it alone, every time (as the
-- triggers did): nothing set up before stops, and nothing fires twice. The rule takes the
-- channel's id, which is free: the table is new.
INSERT INTO alert_rules (id, project_id, name, on_new, on_regression, on_unignored, interval_minutes, created_at)
    SELECT id, project_id, kind || ' to ' || target, on_new, on_regression, on_unignored, 0, created_at
    FROM alert_channels WHERE on_new != 0 OR on_regression != 0 OR on_unignored != 0;
INSERT INTO alert_rule_channels (rule_id, channel_id) SELECT id, id FROM alert_rules;
