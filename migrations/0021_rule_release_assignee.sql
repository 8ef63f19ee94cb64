-- Two more filters of alert rules (issue 17): the event's release matches a pattern (`*` for
-- any run of characters), and the issue is assigned or unassigned. NULL: no such filter.
ALTER TABLE alert_rules ADD COLUMN release_pattern TEXT;
ALTER TABLE alert_rules ADD COLUMN assigned TEXT CHECK (assigned IN ('assigned', 'unassigned'));
