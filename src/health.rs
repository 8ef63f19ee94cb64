//! `/healthz` (the process answers) and `/readyz` (the database is reachable and the writer runs),
//! plus `/metrics` for Prometheus.

use actix_web::{HttpResponse, web};
use serde_json::json;
use sqlx::SqlitePool;

use crate::metrics::Metrics;
use crate::store::{self, writer::WriterHandle};

pub struct HealthState {
    pub pool: SqlitePool,
    pub writer: WriterHandle,
    pub metrics: Metrics,
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

async fn metrics(state: web::Data<HealthState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
