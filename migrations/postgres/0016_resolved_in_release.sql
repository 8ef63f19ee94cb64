-- Resolved in a release; see the SQLite migration of the same number.
ALTER TABLE issues ADD COLUMN resolved_in TEXT CHECK (resolved_in IN ('release', 'next_release'));
ALTER TABLE issues ADD COLUMN resolved_in_release TEXT;
