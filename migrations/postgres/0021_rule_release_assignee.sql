-- Two more filters of alert rules; see the SQLite migration of the same number.
ALTER TABLE alert_rules ADD COLUMN release_pattern TEXT;
ALTER TABLE alert_rules ADD COLUMN assigned TEXT CHECK (assigned IN ('assigned', 'unassigned'));
