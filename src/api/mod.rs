//! The JSON API under `/api/0/`: a subset of Sentry's web API, authenticated with
//! `Authorization: Bearer <token>` (tokens come from `tocsin token create`).

mod auth;
mod error;
mod events;

use actix_web::web;
use sqlx::SqlitePool;

pub use error::ApiError;

/// What API handlers share.
pub struct ApiState {
    pub pool: SqlitePool,
    /// The organization slug the API answers to.
    pub org: String,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/0/projects/{org}/{project_slug}/events/{event_id}",
        web::get().to(events::event_detail),
    );
}
