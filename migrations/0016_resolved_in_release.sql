-- Resolved in a release (Sentry's "resolve in next release" and "resolve in release X"): such
-- an issue stays resolved for events of old releases and regresses on newer ones.
-- `resolved_in` says which: 'release' (events of resolved_in_release or newer reopen it) or
-- 'next_release' (events newer than resolved_in_release, the project's latest release when it
-- was resolved, reopen it; NULL there: the project had no release yet, so any release is the
-- next). Both NULL for a plain resolve, and cleared by every other status change.
-- (Version 15 is taken by another change under way.)
ALTER TABLE issues ADD COLUMN resolved_in TEXT CHECK (resolved_in IN ('release', 'next_release'));
ALTER TABLE issues ADD COLUMN resolved_in_release TEXT;
