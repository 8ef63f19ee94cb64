-- Each event's primary grouping hash, for unmerge; see the SQLite migration of this number.
ALTER TABLE events ADD COLUMN grouphash TEXT;
