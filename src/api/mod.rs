//! The JSON API under `/api/0/`: a subset of Sentry's web API, authenticated with
//! `Authorization: Bearer <token>` (tokens come from `tocsin token create`).

mod alerts;
mod artifacts;
pub mod auth;

mod error;
mod events;
mod grouping;
mod issue_bulk;
mod issue_events;
mod issues;
mod organization;
mod pagination;
mod projects;
mod query;
mod releases;
mod rules;
mod shapes;

use actix_web::web;

pub use error::ApiError;
pub use query::{Assigned, Search, assignee_filter, parse as parse_search};

pub use shapes::short_id;

use crate::store::Pool;
use crate::store::writer::WriterHandle;

/// What API handlers share.
pub struct ApiState {
    pub pool: Pool,
    /// Read-write pool for alert channels.
    pub admin: Pool,
    pub writer: WriterHandle,
    /// The organization slug the API answers to.
    pub org: String,
    /// Base of permalinks and pagination links.
    pub public_url: String,
    /// The server's retention defaults: (max events, max age in days).
    pub retention: (i64, f64),
    /// Reads stored payloads.
    pub codec: std::sync::Arc<crate::event::codec::Codec>,
    /// Ingest's key cache, cleared when a project's limits change or it is deleted.
    pub keys: std::sync::Arc<crate::project::KeyCache>,
    /// Source-map uploads.
    pub artifacts: std::sync::Arc<crate::sourcemaps::Artifacts>,
}

/// Longest JSON body the API reads; its requests are a few fields.
const MAX_JSON_BODY: usize = 64 * 1024;

/// Reads a request's JSON body (after its credentials were checked), capped and charged like
/// every body.
async fn json_body(req: &actix_web::HttpRequest, payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    Ok(crate::ingest::body::read_small(req, payload.into_inner(), MAX_JSON_BODY).await?)
}

impl ApiState {
    fn check_org(&self, org: &str) -> Result<(), ApiError> {
        if org == self.org {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!("organization {org:?} not found")))
        }
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/0", web::get().to(organization::root))
        .route("/api/0/organizations", web::get().to(organization::list))
        .route("/api/0/organizations/{org}", web::get().to(organization::detail))
        .route(
            "/api/0/organizations/{org}/projects",
            web::get().to(organization::projects),
        )
        .service(
            web::resource([
                "/api/0/organizations/{org}/releases",
                "/api/0/projects/{org}/{project_slug}/releases",
            ])
            .route(web::get().to(releases::list))
            .route(web::post().to(releases::create)),
        )
        .service(
            web::resource([
                "/api/0/organizations/{org}/releases/{version}",
                "/api/0/projects/{org}/{project_slug}/releases/{version}",
            ])
            .route(web::get().to(releases::detail))
            .route(web::put().to(releases::update))
            .route(web::delete().to(releases::delete)),
        )
        .service(
            web::resource("/api/0/organizations/{org}/chunk-upload")
                .route(web::get().to(artifacts::options))
                .route(web::post().to(artifacts::upload)),
        )
        .route(
            "/api/0/organizations/{org}/artifactbundle/assemble",
            web::post().to(artifacts::assemble_bundle),
        )
        .route(
            "/api/0/organizations/{org}/releases/{version}/assemble",
            web::post().to(artifacts::assemble_release),
        )
        .service(
            web::resource([
                "/api/0/organizations/{org}/releases/{version}/files",
                "/api/0/projects/{org}/{project_slug}/releases/{version}/files",
            ])
            .route(web::get().to(artifacts::release_files))
            .route(web::post().to(artifacts::upload_release_file)),
        )
        .service(
            web::resource([
                "/api/0/organizations/{org}/releases/{version}/files/{file_id}",
                "/api/0/projects/{org}/{project_slug}/releases/{version}/files/{file_id}",
            ])
            .route(web::get().to(artifacts::release_file))
            .route(web::delete().to(artifacts::delete_release_file)),
        )
        .service(
            web::resource("/api/0/projects/{org}/{project_slug}/files/artifact-bundles")
                .route(web::get().to(artifacts::bundles))
                .route(web::delete().to(artifacts::delete_bundle)),
        )
        .route(
            "/api/0/projects/{org}/{project_slug}/files/artifact-bundles/{bundle}",
            web::delete().to(artifacts::delete_bundle),
        )
        .service(
            web::resource("/api/0/projects/{org}/{project_slug}/files/source-maps")
                .route(web::get().to(artifacts::release_archives))
                .route(web::delete().to(artifacts::delete_release_archive)),
        )
        .service(
            web::resource("/api/0/organizations/{org}/releases/{version}/deploys")
                .route(web::get().to(releases::deploys))
                .route(web::post().to(releases::add_deploy)),
        )
        .service(
            web::resource("/api/0/projects/{org}/{project_slug}")
                .route(web::get().to(projects::detail))
                .route(web::put().to(projects::update))
                .route(web::delete().to(projects::delete)),
        )
        .route(
            "/api/0/projects/{org}/{project_slug}/events/{event_id}",
            web::get().to(events::event_detail),
        )
        .service(
            web::resource("/api/0/projects/{org}/{project_slug}/issues")
                .route(web::get().to(issues::list))
                .route(web::put().to(issue_bulk::update)),
        )
        .route(
            "/api/0/projects/{org}/{project_slug}/alerts",
            web::get().to(alerts::list),
        )
        .route(
            "/api/0/projects/{org}/{project_slug}/alerts",
            web::post().to(alerts::create),
        )
        .route(
            "/api/0/projects/{org}/{project_slug}/alerts/test",
            web::post().to(alerts::test),
        )
        .route(
            "/api/0/projects/{org}/{project_slug}/alerts/{id}",
            web::delete().to(alerts::delete),
        )
        .service(
            web::resource("/api/0/projects/{org}/{project_slug}/rules")
                .route(web::get().to(rules::list))
                .route(web::post().to(rules::create)),
        )
        .service(
            web::resource("/api/0/projects/{org}/{project_slug}/rules/{rule}")
                .route(web::get().to(rules::detail))
                .route(web::put().to(rules::update))
                .route(web::delete().to(rules::delete)),
        )
        .service(
            web::resource(["/api/0/issues/{issue}", "/api/0/organizations/{org}/issues/{issue}"])
                .route(web::get().to(issues::detail))
                .route(web::put().to(issues::update))
                .route(web::delete().to(issues::delete)),
        )
        .route("/api/0/issues/{issue}/events", web::get().to(issue_events::list))
        .route("/api/0/issues/{issue}/events/{which}", web::get().to(issue_events::one))
        .route("/api/0/issues/{issue}/tags", web::get().to(issue_events::tags))
        .route("/api/0/issues/{issue}/tags/{key}", web::get().to(issue_events::tag))
        .route("/api/0/issues/{issue}/activity", web::get().to(issue_events::activity))
        .route("/api/0/issues/{issue}/hashes", web::get().to(grouping::hashes))
        .route(
            "/api/0/projects/{org}/{project_slug}/events/{event_id}/grouping-info",
            web::get().to(grouping::grouping_info),
        );
}
