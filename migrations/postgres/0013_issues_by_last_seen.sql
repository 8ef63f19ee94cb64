-- The issue list across projects walks issues newest first; see the SQLite migration.
CREATE INDEX issues_by_last_seen ON issues (last_seen, id);
-- PostgreSQL answers a tag filter by scanning every tag row for its key and value, then
-- joining (61 ms for three filters at a million events); with this index it reads just the
-- matching rows. SQLite walks issues newest first and probes each issue's key instead (36 ms),
-- so it is spared the index's cost to ingest: an entry per new tag value of an issue.
CREATE INDEX issue_tag_values_by_key_value ON issue_tag_values (key, value, issue_id);
