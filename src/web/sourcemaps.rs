//! Source maps in the web UI: a project's uploads (bundles with their files, sizes and debug
//! ids, deletable), a release's part of them on its page, and reprocessing an issue's events
//! when its maps arrived after them.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{page, see_other};
use super::form::Form;
use super::issue_head::issue;
use super::{Chrome, Viewer, WebError, WebState, time};
use crate::event::unix_now;
use crate::project::Project;
use crate::store::artifacts::{self, Bundle, FilesOf};
use crate::store::{self, Pool, StoreError};

/// An upload as the pages show it.
pub struct BundleView {
    pub id: i64,
    pub kind: &'static str,
    pub bundle_id: String,
    pub release: String,
    pub dist: String,
    pub size: String,
    pub uploaded: String,
    pub last_used: String,
    /// (URL, kind, debug id, size)
    pub files: Vec<(String, String, String, String)>,
}

/// Bytes as people read them.
fn human(bytes: i64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// The project's uploads (those of `release` only, when given), each with its files.
pub async fn bundle_views(pool: &Pool, project_id: i64, release: Option<&str>) -> Result<Vec<BundleView>, StoreError> {
    let now = unix_now();
    let mut out = Vec::new();
    for b in artifacts::bundles(pool, project_id, release).await? {
        let files = artifacts::files(pool, project_id, FilesOf::Bundle(b.id))
            .await?
            .into_iter()
            .map(|f| (f.url, f.kind, f.debug_id.unwrap_or_default(), human(f.size)))
            .collect();
        out.push(view(&b, files, now));
    }
    Ok(out)
}

fn view(b: &Bundle, files: Vec<(String, String, String, String)>, now: f64) -> BundleView {
    BundleView {
        id: b.id,
        kind: match b.kind.as_str() {
            "artifact_bundle" => "artifact bundle",
            "release_bundle" => "release bundle",
            _ => "release file",
        },
        bundle_id: b.bundle_id.clone().unwrap_or_default(),
        release: b.release.clone().unwrap_or_default(),
        dist: b.dist.clone().unwrap_or_default(),
        size: human(b.size),
        uploaded: time::html(b.created_at, now),
        last_used: time::html(b.last_used_at, now),
        files,
    }
}

async fn project(state: &WebState, slug: &str) -> Result<Project, WebError> {
    store::project_by_slug(&state.pool, slug)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("There is no project {slug:?}.")))
}

#[derive(Template)]
#[template(path = "sourcemaps.html")]
struct SourceMapsPage {
    chrome: Chrome,
    project: Project,
    bundles: Vec<BundleView>,
    /// For the shared artifacts list: where a deletion returns, and which release it lists.
    back: String,
    for_release: String,
}

/// `GET /projects/{slug}/sourcemaps/`
pub async fn list(
    viewer: Viewer,
    path: web::Path<String>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let project = project(&state, &path).await?;
    let bundles = bundle_views(&state.pool, project.id, None).await?;
    page(&SourceMapsPage {
        chrome: Chrome::for_viewer(&format!("Source maps of {}", project.name), &viewer),
        back: format!("/projects/{}/sourcemaps/", project.slug),
        for_release: String::new(),
        project,
        bundles,
    })
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
    /// Where to go back to (the release page deletes too).
    back: Option<String>,
}

/// `POST /projects/{slug}/sourcemaps/{id}/delete`
pub async fn delete(
    viewer: Viewer,
    path: web::Path<(String, i64)>,
    form: Form<CsrfForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let (slug, id) = path.into_inner();
    let project = project(&state, &slug).await?;
    if !artifacts::delete_bundle(&state.admin, project.id, id).await? {
        return Err(WebError::NotFound(format!("{} has no upload {id}.", project.name)));
    }
    state.artifacts.symbolicator.deleted();
    // Only a page of this project: never an address from elsewhere.
    let back = form
        .back
        .as_deref()
        .filter(|b| b.starts_with(&format!("/projects/{}/", project.slug)) && !b.contains("//"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("/projects/{}/sourcemaps/", project.slug));
    Ok(see_other(&back))
}

/// `POST /issues/{id}/reprocess`: apply the source maps there are now to the issue's events.
pub async fn reprocess(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<CsrfForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let issue = issue(&state, &path).await?;
    let done = crate::sourcemaps::reprocess_issue(
        &state.pool,
        &state.admin,
        &state.codec,
        &state.artifacts.symbolicator,
        issue.project_id,
        issue.id,
    )
    .await?;
    Ok(see_other(&format!(
        "/issues/{}/?reprocessed={}&of={}#event",
        issue.id, done.mapped, done.events
    )))
}
