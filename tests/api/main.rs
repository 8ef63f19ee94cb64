//! Integration tests: one binary, each module a part of the specification.

mod helpers;

mod access;
mod alert_rules;
mod attack;
mod bad_input;
mod browser;
mod browser_sourcemaps;
mod chromium;
mod cli;
mod client_ip;
mod debian;
mod delivery;
mod durability;
mod fixtures;
mod fuzz_regressions;
mod grouping_corpus;
mod grouping_parity;
mod health;
mod hostile;
mod issues;
mod layout;
mod memory;
mod moving;
mod notify;
mod npm;
mod postgres;
mod project_rules;
mod protocol;
mod python;
mod quotas;
mod receivers;
mod resolve_in_release;
mod retention;
mod scrubbing;
mod sdks;
mod search;
mod sentry_cli;
mod sourcemaps;
mod triage;
mod web;

/// This crate runs the suite on SQLite; `tests/postgres` runs the same files on PostgreSQL.
const BACKEND: helpers::Backend = helpers::Backend::Sqlite;
