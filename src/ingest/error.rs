//! Every way an ingest request can fail, mapped once to a status and a `{"detail": …}` body.
//!
//! SDKs never parse these bodies (they log the status and drop the event), so the detail is for
//! the engineer reading the SDK's debug log or curl output: it names what was wrong.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::cors;
use super::quota::QuotaReason;

/// Seconds a client should wait after a 429.
pub const RETRY_AFTER_SECS: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("bad project path parameter: {0:?} is not a numeric project id")]
    BadProjectPath(String),
    #[error("missing authorization information: send X-Sentry-Auth, ?sentry_key= or a DSN in the envelope header")]
    MissingAuth,
    #[error("bad x-sentry-auth header: {0}")]
    BadAuthHeader(String),
    #[error("unsupported protocol version ({0})")]
    UnsupportedVersion(String),
    #[error("unknown public key: no project has this key")]
    UnknownKey,
    #[error("this public key is disabled")]
    DisabledKey,
    #[error("the public key belongs to project {key_project}, not to project {url_project} of the URL")]
    WrongProject { key_project: i64, url_project: i64 },
    #[error("the DSN in the envelope header names project {dsn_project}, not project {url_project} of the URL")]
    DsnProjectMismatch { dsn_project: String, url_project: i64 },
    #[error("unsupported Content-Encoding {0:?}: use gzip, deflate, br, zstd or none")]
    UnsupportedEncoding(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    BadEncoding(String),
    #[error("malformed envelope: {0}")]
    BadEnvelope(String),
    #[error("invalid JSON in event: {0}")]
    BadJson(String),
    #[error("{0}")]
    BadEvent(String),
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    #[error("the request body did not arrive within {0} s")]
    BodyTimeout(f64),
    #[error("too many events queued for storage; retry after {RETRY_AFTER_SECS} s")]
    QueueFull,
    #[error("the event could not be stored: {0}")]
    Unavailable(String),
    #[error("{}", rate_limited(.0))]
    RateLimited(super::quota::Refused),
    #[error("the server is holding as much request data as it allows; retry after {RETRY_AFTER_SECS} s")]
    MemoryBusy,
    #[error("the server's disk is nearly full ({free_mib} MiB free, {min_mib} MiB required); retry later")]
    DiskFull { free_mib: u64, min_mib: u64 },
}

impl ResponseError for IngestError {
    fn status_code(&self) -> StatusCode {
        use IngestError::*;
        match self {
            BadProjectPath(_)
            | UnsupportedVersion(_)
            | BadEncoding(_)
            | BadEnvelope(_)
            | BadJson(_)
            | BadEvent(_)
            | BodyRead(_) => StatusCode::BAD_REQUEST,
            MissingAuth | BadAuthHeader(_) => StatusCode::UNAUTHORIZED,
            UnknownKey | DisabledKey | WrongProject { .. } | DsnProjectMismatch { .. } => StatusCode::FORBIDDEN,
            TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            QueueFull | RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Unavailable(_) | DiskFull { .. } | MemoryBusy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = self.to_string();
        // Shedding load for want of memory is no fault of the server's, and an attacker could
        // fill the log with it: `tocsin_request_memory_refused_total` counts it instead.
        if status.is_server_error() && !matches!(self, IngestError::MemoryBusy) {
            tracing::error!(%status, error = %detail, "ingest failed");
        } else {
            tracing::debug!(%status, error = %detail, "ingest request refused");
        }
        let mut resp = HttpResponse::build(status);
        cors::add_headers(&mut resp);
        // Header values cannot hold control characters; keep the header short and printable.
        let header: String = detail.chars().filter(|c| !c.is_control()).take(200).collect();
        resp.insert_header(("X-Sentry-Error", header));
        if matches!(
            self,
            IngestError::QueueFull
                | IngestError::Unavailable(_)
                | IngestError::DiskFull { .. }
                | IngestError::MemoryBusy
        ) {
            resp.insert_header(("Retry-After", RETRY_AFTER_SECS.to_string()));
            // Python and JS need an integer; Rust needs all three fields (PROTOCOL.md §3.6).
            resp.insert_header(("X-Sentry-Rate-Limits", format!("{RETRY_AFTER_SECS}::organization")));
        }
        if let IngestError::RateLimited(refused) = self {
            let scope = match refused.reason {
                QuotaReason::Project => "project",
                QuotaReason::Server => "organization",
            };
            resp.insert_header(("Retry-After", refused.retry_after.to_string()));
            // Only events are limited: the SDK keeps sending feedback and client reports.
            resp.insert_header((
                "X-Sentry-Rate-Limits",
                format!(
                    "{}:error;default:{scope}:{}",
                    refused.retry_after,
                    refused.reason.as_str()
                ),
            ));
        }
        resp.json(serde_json::json!({ "detail": detail }))
    }
}

fn rate_limited(refused: &super::quota::Refused) -> String {
    let which = match refused.reason {
        QuotaReason::Project => "this project's rate limit (events per minute)",
        QuotaReason::Server => "the server's rate limit (events per second)",
    };
    format!("event refused: over {which}; retry after {} s", refused.retry_after)
}
