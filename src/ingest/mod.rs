//! Ingest: the endpoints every Sentry SDK posts to (PROTOCOL.md §1–3).
//!
//! Handlers do the cheap, parallel work (auth, decoding, parsing, normalising, compressing) and
//! then wait for the writer to commit; see the crate docs for the whole path.

pub mod auth;
pub mod body;
mod cors;
pub mod decode;
pub mod disk;
mod endpoint;
pub mod envelope;
mod error;
mod feedback;

pub mod quota;
mod security;

use actix_web::http::Method;
use actix_web::web;

pub use error::IngestError;

use crate::metrics::Metrics;
use crate::store::writer::WriterHandle;

/// What ingest handlers share.
pub struct IngestState {
    pub keys: std::sync::Arc<crate::project::KeyCache>,
    pub writer: WriterHandle,
    pub metrics: Metrics,
    /// Whether `X-Forwarded-For` names the client (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Refuses ingest while the disk is nearly full.
    pub disk: disk::DiskGuard,
    /// The rate limits.
    pub quotas: std::sync::Arc<quota::Quotas>,
    /// How long a client has to send a request body.
    pub body_timeout: std::time::Duration,
    /// Compresses payloads (with the project's dictionary once it has one).
    pub codec: std::sync::Arc<crate::event::codec::Codec>,
    /// What request bodies, decoders and parsed events may hold at once.
    pub budget: std::sync::Arc<crate::budget::MemoryBudget>,
    /// Applies uploaded source maps to JavaScript events before grouping.
    pub symbolicator: std::sync::Arc<crate::sourcemaps::Symbolicator>,
}

/// Sentry's limits (PROTOCOL.md §3.7). The decoded size bounds the work one envelope can cost
/// (items Tocsin skips stream past, but are still decoded); only what is kept is held.
pub const MAX_ENVELOPE_COMPRESSED: usize = 20 * 1024 * 1024;
pub const MAX_ENVELOPE_DECODED: usize = 100 * 1024 * 1024;
pub const MAX_EVENT: usize = 1024 * 1024;

/// Item categories Tocsin accepts and drops, announced on every success so SDKs stop sending
/// them (they count them as `ratelimit_backoff` in their client reports instead). Never `error`
/// or `default`: those are the events Tocsin exists for. The window is renewed by every
/// response, so an upgraded Tocsin that stores more is heard within the hour.
pub const DROPPED_CATEGORIES: &str = "3600:transaction;span;profile;profile_chunk;replay;monitor;attachment;session;\
     log_item;trace_metric;metric_bucket:organization:not_supported";

/// Mounts the ingest routes under `/api` and, when the public URL has a path, under that
/// prefix too (the SDK keeps the DSN's path prefix in front of `/api`). Trailing and repeated
/// slashes are folded by the app's `NormalizePath` before routing.
pub fn routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    let mut bases = vec![String::new()];
    if !prefix.is_empty() {
        bases.push(prefix.to_string());
    }
    for base in bases {
        cfg.service(
            web::resource(format!("{base}/api/{{project_id}}/envelope"))
                .route(web::post().to(endpoint::envelope))
                .route(web::method(Method::OPTIONS).to(cors::preflight))
                .default_service(web::to(endpoint::method_not_allowed)),
        )
        .service(
            web::resource(format!("{base}/api/{{project_id}}/store"))
                .route(web::post().to(endpoint::store))
                .route(web::method(Method::OPTIONS).to(cors::preflight))
                .default_service(web::to(endpoint::method_not_allowed)),
        )
        .service(
            web::resource(format!("{base}/api/{{project_id}}/security"))
                .route(web::post().to(endpoint::security))
                .route(web::method(Method::OPTIONS).to(cors::preflight))
                .default_service(web::to(endpoint::method_not_allowed)),
        );
    }
}
