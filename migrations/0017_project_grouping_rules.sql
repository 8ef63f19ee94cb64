-- A project's own grouping rules, as written by its owner in Sentry's syntax: stack-trace rules
-- ("grouping enhancements": which frames are in-app and which count) and fingerprint rules
-- (events that match get the rule's fingerprint). Empty: none, the config's built-ins apply.
ALTER TABLE projects ADD COLUMN grouping_enhancements TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN fingerprinting_rules TEXT NOT NULL DEFAULT '';
