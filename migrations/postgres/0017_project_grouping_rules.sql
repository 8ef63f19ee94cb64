-- A project's own grouping rules; see the SQLite migration of the same number.
ALTER TABLE projects ADD COLUMN grouping_enhancements TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN fingerprinting_rules TEXT NOT NULL DEFAULT '';
