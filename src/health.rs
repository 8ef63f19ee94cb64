//! `/healthz` (the process answers) and `/readyz` (the database is reachable and the writer runs),
//! plus `/metrics` for Prometheus.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::metrics::Metrics;
use crate::store::{self, Pool, writer::WriterHandle};

pub struct HealthState {
    pub pool: Pool,
    pub writer: WriterHandle,
    pub metrics: Metrics,
    /// The SQLite database file; its size (with the WAL) is a metric. `None` on PostgreSQL,
    /// which is asked for its database's size instead.
    pub db_path: Option<std::path::PathBuf>,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(state: web::Data<HealthState>) -> HttpResponse {
    if let Err(e) = store::ping(&state.pool).await {
        return HttpResponse::ServiceUnavailable().json(json!({"detail": format!("database unreachable: {e}")}));
    }
    if !state.writer.is_alive() {
        return HttpResponse::ServiceUnavailable().json(json!({"detail": "the writer task has stopped"}));
    }
    HttpResponse::Ok().json(json!({"status": "ready"}))
}

/// Prometheus scrapes with an API token (`authorization: credentials: <token>` in its config);
/// a signed-in person may look too. Counts of a team's errors are not public.
async fn metrics(req: actix_web::HttpRequest, state: web::Data<HealthState>) -> HttpResponse {
    let by_token = crate::api::auth::token_name(&req, &state.pool)
        .await
        .ok()
        .flatten()
        .is_some();
    let by_session = match req.cookie(crate::web::SESSION_COOKIE) {
        Some(c) => store::session(&state.pool, &crate::web::session_hash(c.value()))
            .await
            .ok()
            .flatten()
            .is_some(),
        None => false,
    };
    if !(by_token || by_session) {
        return HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer"))
            .json(
                json!({"detail": "metrics need an API token (Authorization: Bearer <token>) or a signed-in session"}),
            );
    }
    let bytes = match &state.db_path {
        Some(path) => database_bytes(path),
        None => store::database_bytes(&state.pool)
            .await
            .map_or(0, |b| u64::try_from(b).unwrap_or(0)),
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(state.writer.queued(), bytes))
}

/// The database file plus its write-ahead log: what the data takes on disk right now.
fn database_bytes(path: &std::path::Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_path_buf(), std::path::PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}
