-- Each event's primary grouping hash, so that a hash merged into another issue can be split
-- off again with its events (unmerge). The primary hash always belongs to the event's issue:
-- a hash no issue owns joins the issue its event lands in. NULL for events stored before.
ALTER TABLE events ADD COLUMN grouphash TEXT;
