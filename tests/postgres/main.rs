//! The integration suite on PostgreSQL: the files of `tests/api`, compiled again with
//! `BACKEND = Postgres`, so every app they spawn keeps its data in a database of its own on the
//! throwaway PostgreSQL server (`tests/api/postgres.rs`).
//!
//! Left out, and why:
//! - `durability`: SQLite's file, lock, WAL and `tocsin backup` (a `VACUUM INTO` copy). What
//!   PostgreSQL must survive is in `nodes` (a node SIGKILLed) and `faults` (the server
//!   restarting under load).
//! - `memory`, `hostile`, `attack`, `fuzz_regressions`: how ingest reads and bounds a request
//!   before anything reaches a database; the code under test is the same on both backends.
//! - `postgres`'s own harness test and `debian` run once, in `tests/api`.
//! - `layout`: how pages fit a window in Chromium; the pages read their data as `browser` and
//!   `web` do, and those run here.

// Some helpers serve only the modules left out (`durability`).
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

#[path = "../api/access.rs"]
mod access;
#[path = "../api/alert_rules.rs"]
mod alert_rules;
#[path = "../api/bad_input.rs"]
mod bad_input;
#[path = "../api/browser.rs"]
mod browser;
#[path = "../api/browser_sourcemaps.rs"]
mod browser_sourcemaps;
#[path = "../api/chromium.rs"]
mod chromium;
#[path = "../api/cli.rs"]
mod cli;
#[path = "../api/client_ip.rs"]
mod client_ip;
#[path = "../api/debian.rs"]
mod debian;
#[path = "../api/delivery.rs"]
mod delivery;
mod faults;
#[path = "../api/fixtures.rs"]
mod fixtures;
#[path = "../api/grouping_corpus.rs"]
mod grouping_corpus;
#[path = "../api/health.rs"]
mod health;
#[path = "../api/issues.rs"]
mod issues;
mod nodes;
#[path = "../api/notify.rs"]
mod notify;
#[path = "../api/npm.rs"]
mod npm;
#[path = "../api/postgres.rs"]
mod postgres;
#[path = "../api/project_rules.rs"]
mod project_rules;
#[path = "../api/protocol.rs"]
mod protocol;
#[path = "../api/python.rs"]
mod python;
#[path = "../api/quotas.rs"]
mod quotas;
#[path = "../api/receivers.rs"]
mod receivers;
#[path = "../api/resolve_in_release.rs"]
mod resolve_in_release;
#[path = "../api/retention.rs"]
mod retention;
#[path = "../api/scrubbing.rs"]
mod scrubbing;
#[path = "../api/sdks.rs"]
mod sdks;
#[path = "../api/search.rs"]
mod search;
#[path = "../api/sentry_cli.rs"]
mod sentry_cli;
#[path = "../api/sourcemaps.rs"]
mod sourcemaps;
#[path = "../api/triage.rs"]
mod triage;
#[path = "../api/web.rs"]
mod web;

const BACKEND: helpers::Backend = helpers::Backend::Postgres;
