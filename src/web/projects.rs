//! Projects: the list with DSNs and issue counts, a project's setup page, and creating one.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{page, see_other};
use super::{Chrome, Viewer, WebError, WebState};
use crate::project::{PublicKey, Slug, dsn};
use crate::store::{self, StoreError};

pub struct ProjectRow {
    pub slug: String,
    pub name: String,
    pub dsn: String,
    pub unresolved: i64,
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    chrome: Chrome,
    projects: Vec<ProjectRow>,
    is_admin: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    chrome: Chrome,
    project: ProjectRow,
}

async fn rows(state: &WebState) -> Result<Vec<ProjectRow>, WebError> {
    let counts = store::unresolved_counts(&state.pool).await?;
    Ok(store::list_projects(&state.pool)
        .await?
        .into_iter()
        .map(|p| ProjectRow {
            dsn: dsn(&state.public_url, &p.key, p.project.id),
            unresolved: counts.get(&p.project.id).copied().unwrap_or(0),
            slug: p.project.slug,
            name: p.project.name,
        })
        .collect())
}

pub async fn list(viewer: Viewer, state: web::Data<WebState>) -> Result<HttpResponse, WebError> {
    page(&ProjectsPage {
        chrome: Chrome::for_viewer("Projects", &viewer),
        projects: rows(&state).await?,
        is_admin: viewer.is_admin,
        error: None,
    })
}

pub async fn detail(
    viewer: Viewer,
    path: web::Path<String>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let project = rows(&state)
        .await?
        .into_iter()
        .find(|p| p.slug == path.as_str())
        .ok_or_else(|| WebError::NotFound(format!("There is no project {:?}.", path.as_str())))?;
    page(&ProjectPage {
        chrome: Chrome::for_viewer(&project.name, &viewer),
        project,
    })
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: String,
    slug: String,
    name: Option<String>,
}

/// `POST /projects`: admins create projects.
pub async fn create(
    viewer: Viewer,
    form: web::Form<CreateForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    if !viewer.is_admin {
        return Err(WebError::Forbidden("only admins create projects".into()));
    }
    let problem = match Slug::parse(form.slug.trim()) {
        Err(e) => Some(e),
        Ok(slug) => {
            let name = form
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| slug.to_string());
            let mut conn = state
                .admin
                .acquire()
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?;
            match store::create_project(&mut conn, &slug, name.trim(), &PublicKey::generate()).await {
                Ok(created) => return Ok(see_other(&format!("/projects/{}/", created.project.slug))),
                Err(StoreError::Conflict(msg)) => Some(msg),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let mut resp = page(&ProjectsPage {
        chrome: Chrome::for_viewer("Projects", &viewer),
        projects: rows(&state).await?,
        is_admin: viewer.is_admin,
        error: problem,
    })?;
    *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    Ok(resp)
}
