-- Ignore an issue until it affects N more users, or until it happens N times within a window;
-- see the SQLite migration of the same number.
ALTER TABLE issues ADD COLUMN ignore_users BIGINT;
ALTER TABLE issues ADD COLUMN ignore_users_baseline BIGINT;
ALTER TABLE issues ADD COLUMN ignore_window DOUBLE PRECISION;
ALTER TABLE issues ADD COLUMN ignore_window_count BIGINT;
ALTER TABLE issues ADD COLUMN ignore_window_start DOUBLE PRECISION;
ALTER TABLE issues ADD COLUMN ignore_window_seen BIGINT;
