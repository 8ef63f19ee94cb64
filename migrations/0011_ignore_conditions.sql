-- Ignore an issue until it affects N more users, or until it happens N times within a window
-- (Sentry's "until it affects N users" and "until it occurs N times per hour").

-- Distinct users the issue may gain before it comes back, and users_seen when it was ignored.
ALTER TABLE issues ADD COLUMN ignore_users INTEGER;
ALTER TABLE issues ADD COLUMN ignore_users_baseline INTEGER;
-- N events within `ignore_window` seconds bring it back: the window under way started at
-- ignore_window_start and has seen ignore_window_seen events.
ALTER TABLE issues ADD COLUMN ignore_window REAL;
ALTER TABLE issues ADD COLUMN ignore_window_count INTEGER;
ALTER TABLE issues ADD COLUMN ignore_window_start REAL;
ALTER TABLE issues ADD COLUMN ignore_window_seen INTEGER;
