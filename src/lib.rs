//! Tocsin: a self-hosted error tracker that speaks Sentry's ingest protocol.
//!
//! # The path of an event
//!
//! ```text
//! SDK ──HTTP──▶ ingest handler (many in parallel; all CPU work happens here)
//!               1. auth      key from X-Sentry-Auth | Authorization | ?sentry_key= | envelope "dsn",
//!                            checked against the in-memory key cache (`project::KeyCache`)
//!               2. decode    Content-Encoding gzip | deflate | br | zstd, base64(+zlib) store bodies,
//!                            every cap enforced while inflating (`ingest::decode`)
//!               3. envelope  header line + items; keep `event`, count and drop the rest
//!               4. normalise typed event model that keeps unknown fields (`event`)
//!               5. compress  the normalised JSON (zstd) — still in the handler
//!               6. hand the prepared event to the writer and await its acknowledgement
//!                          │ bounded channel: full ⇒ 429 + Retry-After, never a silent drop
//!                          ▼
//!               writer (`store::writer`, ONE task owning the write connection)
//!               7. take everything queued, one `BEGIN IMMEDIATE`, multi-row inserts
//!               8. COMMIT, then acknowledge every event of the batch
//!               ◀── 200 {"id": "<event_id>"}  means: committed to SQLite
//! ```
//!
//! Readers (the JSON API, health checks, the key cache) use a separate pool; with WAL they never
//! block the writer and the writer never blocks them.

pub mod api;
pub mod budget;
pub mod cli;
pub mod compression;
pub mod config;
pub mod event;
pub mod grouping;
pub mod health;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod notify;
pub mod project;
pub mod retention;
pub mod sourcemaps;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
