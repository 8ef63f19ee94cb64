-- Per-project data scrubbing settings (the defaults always apply; see event::scrub).
ALTER TABLE projects ADD COLUMN scrub_sensitive_fields TEXT NOT NULL DEFAULT '[]';  -- JSON list
ALTER TABLE projects ADD COLUMN scrub_safe_fields TEXT NOT NULL DEFAULT '[]';       -- JSON list
ALTER TABLE projects ADD COLUMN scrub_ip_addresses INTEGER NOT NULL DEFAULT 0;
