//! The web UI: server-rendered pages (askama templates in `templates/`, CSS and a small script
//! in `static/`, both embedded in the binary). Every page works without JavaScript; every page
//! but sign-in and setup requires a session; every state-changing form carries a CSRF token and
//! answers with a 303 redirect.

mod alert_rules;
mod alerts;
mod assets;
mod auth;
mod bulk;
mod charts;
mod error;
mod event_view;
mod form;
mod issue_actions;
mod issue_head;
mod issue_page;
mod issue_tabs;
mod issues;
mod mute;
mod password;
mod projects;
mod releases;
mod rule_form;
mod session;
mod sourcemaps;
mod tags;
pub mod throttle;
mod time;
mod tokens;
mod why;

use actix_web::web;

pub use error::WebError;
pub use password::hash as hash_password;
pub use session::{SESSION_COOKIE, Viewer, hash as session_hash};

use crate::store::Pool;
use crate::store::writer::WriterHandle;

/// Text made safe inside HTML, for markup built outside templates (charts, `<time>`).
pub(crate) fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What page handlers share.
pub struct WebState {
    /// Read-only pool.
    pub pool: Pool,
    /// Read-write pool for sessions and users.
    pub admin: Pool,
    pub writer: WriterHandle,
    pub public_url: String,
    /// Cookies get `Secure` when the public URL is https.
    pub secure_cookies: bool,
    /// The server's retention defaults: (max events, max age in days).
    pub retention: (i64, f64),
    /// Reads stored payloads.
    pub codec: std::sync::Arc<crate::event::codec::Codec>,
    /// Ingest's key cache, cleared when a project's limits change or it is deleted.
    pub keys: std::sync::Arc<crate::project::KeyCache>,
    /// Failed sign-ins per address and account.
    pub login_throttle: throttle::LoginThrottle,
    /// Take the client address from `X-Forwarded-For` (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Source maps: their uploads and the symbolicator that reprocessing uses.
    pub artifacts: std::sync::Arc<crate::sourcemaps::Artifacts>,
}

/// What the layout needs from every page.
pub struct Chrome {
    pub title: String,
    pub user: Option<String>,
    pub csrf: String,
}

impl Chrome {
    pub fn anonymous(title: &str) -> Chrome {
        Chrome {
            title: title.to_string(),
            user: None,
            csrf: String::new(),
        }
    }

    pub fn for_viewer(title: &str, viewer: &Viewer) -> Chrome {
        Chrome {
            title: title.to_string(),
            user: Some(viewer.email.clone()),
            csrf: viewer.csrf.clone(),
        }
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(issues::home))
        .route("/static/{name}", web::get().to(assets::serve))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/setup/{token}", web::get().to(auth::setup_form))
        .route("/setup/{token}", web::post().to(auth::setup))
        .route("/settings/tokens", web::get().to(tokens::show))
        .route("/settings/tokens", web::post().to(tokens::create))
        .route("/settings/tokens/{id}/revoke", web::post().to(tokens::revoke))
        .route("/projects", web::get().to(projects::list))
        .route("/projects", web::post().to(projects::create))
        .route("/projects/{slug}", web::get().to(projects::detail))
        .route("/projects/{slug}/settings", web::post().to(projects::update_settings))
        .route("/projects/{slug}/grouping", web::post().to(projects::update_grouping))
        .route("/projects/{slug}/delete", web::post().to(projects::delete))
        .route("/projects/{slug}/issues", web::get().to(issues::project_list))
        .route("/projects/{slug}/releases", web::get().to(releases::list))
        .route("/projects/{slug}/releases/{version}", web::get().to(releases::detail))
        .route("/projects/{slug}/sourcemaps", web::get().to(sourcemaps::list))
        .route(
            "/projects/{slug}/sourcemaps/{id}/delete",
            web::post().to(sourcemaps::delete),
        )
        .route("/issues/{id}/reprocess", web::post().to(sourcemaps::reprocess))
        .route("/projects/{slug}/alerts", web::get().to(alerts::show))
        .route("/projects/{slug}/alerts", web::post().to(alerts::add))
        .route("/projects/{slug}/alerts/test", web::post().to(alerts::test))
        .route("/projects/{slug}/alerts/rules", web::post().to(alert_rules::add))
        .route(
            "/projects/{slug}/alerts/rules/{id}/edit",
            web::get().to(alert_rules::edit),
        )
        .route(
            "/projects/{slug}/alerts/rules/{id}",
            web::post().to(alert_rules::update),
        )
        .route(
            "/projects/{slug}/alerts/rules/{id}/delete",
            web::post().to(alert_rules::remove),
        )
        .route(
            "/projects/{slug}/alerts/rules/{id}/test",
            web::post().to(alert_rules::test),
        )
        .route("/projects/{slug}/alerts/{id}/delete", web::post().to(alerts::remove))
        .route("/issues", web::get().to(issues::all_list))
        .route("/issues/bulk", web::post().to(bulk::bulk))
        .route("/issues/{id}", web::get().to(issue_page::show))
        .route("/issues/{id}/status", web::post().to(issue_actions::set_status))
        .route("/issues/{id}/mute", web::get().to(mute::confirm))
        .route("/issues/{id}/assign", web::post().to(issue_actions::assign))
        .route("/issues/{id}/links", web::post().to(issue_actions::add_link))
        .route("/issues/{id}/comments", web::post().to(issue_actions::comment))
        .route("/issues/{id}/events", web::get().to(issue_tabs::events))
        .route("/issues/{id}/tags", web::get().to(issue_tabs::tags))
        .route("/issues/{id}/activity", web::get().to(issue_tabs::activity))
        .route("/issues/{id}/merged", web::get().to(issue_tabs::merged))
        .route("/issues/{id}/unmerge", web::post().to(issue_actions::unmerge))
        .route("/issues/{id}/events/{event_id}", web::get().to(issue_page::show_event))
        .route(
            "/issues/{id}/events/{event_id}/json",
            web::get().to(issue_page::event_json),
        );
}
