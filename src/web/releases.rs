//! A project's releases, newest first, and one release: when it was made, released and
//! deployed where, its events, the issues it brought and the ones it reopened.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::error::page;
use super::{Chrome, Viewer, WebError, WebState, time};
use crate::event::unix_now;
use crate::project::Project;
use crate::store::{self, Deploy, Release};

/// Issues listed per section of a release's page.
const ISSUES_SHOWN: i64 = 50;

pub struct ReleaseRow {
    pub version: String,
    /// The version as one path segment.
    pub link: String,
    /// `<time>` elements, empty when unknown.
    pub created: String,
    pub released: String,
    pub first_event: String,
    pub last_event: String,
    pub events: i64,
    pub new_issues: i64,
    pub deploys: i64,
    pub last_deploy: String,
    /// "production ×2, staging ×1"
    pub environments: String,
}

fn row(project: &Project, r: &Release, now: f64) -> ReleaseRow {
    let at = |t: Option<f64>| t.map(|t| time::html(t, now)).unwrap_or_default();
    ReleaseRow {
        link: format!("/projects/{}/releases/{}/", project.slug, segment(&r.version)),
        version: r.version.clone(),
        created: time::html(r.date_created, now),
        released: at(r.date_released),
        first_event: at(r.first_event),
        last_event: at(r.last_event),
        events: r.events,
        new_issues: r.new_issues,
        deploys: r.deploys,
        last_deploy: r.last_deploy.as_ref().map(|(env, _)| env.clone()).unwrap_or_default(),
        environments: r
            .environments
            .iter()
            .map(|(env, n)| format!("{env} ×{n}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A version as one URL path segment (versions may hold `+`, spaces, `@`).
pub fn segment(version: &str) -> String {
    version
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

async fn project(state: &WebState, slug: &str) -> Result<Project, WebError> {
    store::project_by_slug(&state.pool, slug)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("There is no project {slug:?}.")))
}

#[derive(Template)]
#[template(path = "releases.html")]
struct ReleasesPage {
    chrome: Chrome,
    project: Project,
    rows: Vec<ReleaseRow>,
}

/// `GET /projects/{slug}/releases/`
pub async fn list(
    viewer: Viewer,
    path: web::Path<String>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let project = project(&state, &path).await?;
    let now = unix_now();
    let rows = store::project_releases(&state.pool, project.id)
        .await?
        .iter()
        .map(|r| row(&project, r, now))
        .collect();
    page(&ReleasesPage {
        chrome: Chrome::for_viewer(&format!("Releases of {}", project.name), &viewer),
        project,
        rows,
    })
}

#[derive(Template)]
#[template(path = "release.html")]
struct ReleasePage {
    chrome: Chrome,
    project: Project,
    release: ReleaseRow,
    reference: String,
    deploys: Vec<(String, String, String)>,
    new_issues: Vec<(i64, String, String)>,
    reopened: Vec<(i64, String, String)>,
    bundles: Vec<super::sourcemaps::BundleView>,
    back: String,
    for_release: String,
}

/// `GET /projects/{slug}/releases/{version}/`
pub async fn detail(
    viewer: Viewer,
    path: web::Path<(String, String)>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let (slug, version) = path.into_inner();
    let project = project(&state, &slug).await?;
    let now = unix_now();
    let release = store::project_releases(&state.pool, project.id)
        .await?
        .into_iter()
        .find(|r| r.version == version)
        .ok_or_else(|| WebError::NotFound(format!("{} has no release {version:?}.", project.name)))?;
    let deploys = store::deploys_of(&state.pool, project.id, &version)
        .await?
        .iter()
        .map(|d: &Deploy| {
            (
                d.environment.clone(),
                d.name.clone().unwrap_or_default(),
                time::html(d.date_finished, now),
            )
        })
        .collect();
    let new_issues = store::issues_of_release(&state.pool, project.id, &version, false, ISSUES_SHOWN).await?;
    let reopened = store::issues_of_release(&state.pool, project.id, &version, true, ISSUES_SHOWN).await?;
    let bundles = super::sourcemaps::bundle_views(&state.pool, project.id, Some(&version)).await?;
    page(&ReleasePage {
        chrome: Chrome::for_viewer(&format!("Release {version}"), &viewer),
        back: format!("/projects/{}/releases/{}/", project.slug, segment(&version)),
        release: row(&project, &release, now),
        reference: release.reference.clone().unwrap_or_default(),
        project,
        deploys,
        new_issues,
        reopened,
        bundles,
        for_release: version.clone(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_version_is_one_path_segment() {
        assert_eq!(super::segment("shop@1.2.3+build 7/x"), "shop@1.2.3%2Bbuild%207%2Fx");
    }
}
