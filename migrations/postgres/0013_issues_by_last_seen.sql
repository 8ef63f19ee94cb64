-- The issue list across projects walks issues newest first; see the SQLite migration.
CREATE INDEX issues_by_last_seen ON issues (last_seen, id);
