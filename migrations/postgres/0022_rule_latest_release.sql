-- One more filter of alert rules; see the SQLite migration of the same number.
ALTER TABLE alert_rules ADD COLUMN latest_release BIGINT NOT NULL DEFAULT 0;
