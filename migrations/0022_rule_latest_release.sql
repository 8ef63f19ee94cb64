-- One more filter of alert rules (issue 17): the event's release is the project's latest, in
-- the releases page's order (semver when every version parses, else first seen). 0: no filter.
ALTER TABLE alert_rules ADD COLUMN latest_release INTEGER NOT NULL DEFAULT 0;
