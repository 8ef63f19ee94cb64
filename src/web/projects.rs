//! Projects: the list with DSNs and issue counts, a project's setup page, and creating one.

use super::form::Form;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use actix_web::http::StatusCode;

use super::error::{page, page_with_status, see_other};
use super::{Chrome, Viewer, WebError, WebState};
use crate::event::scrub::ScrubConfig;
use crate::grouping::ProjectRules;
use crate::project::{PublicKey, Slug, dsn};
use crate::store::{self, StoreError};

pub struct ProjectRow {
    pub id: i64,
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
    is_admin: bool,
    settings: SettingsView,
    error: Option<String>,
    /// The project's stack-trace and fingerprint rules, as written (or as just typed, when
    /// they were refused).
    grouping: (String, String),
    grouping_error: Option<String>,
}

/// What the project page shows in place of what is stored, after a refused form.
#[derive(Default)]
struct Refused {
    settings: Option<String>,
    grouping: Option<(String, (String, String))>,
}

impl Refused {
    fn settings(problem: String) -> Refused {
        Refused {
            settings: Some(problem),
            ..Refused::default()
        }
    }
}

/// The project's limits as the settings form shows them: its own values (blank = default or
/// off), what is in force, and what the limits did.
struct SettingsView {
    max_events: String,
    max_age_days: String,
    rate_limit: String,
    effective_max_events: i64,
    effective_max_age_days: f64,
    events_stored: i64,
    refused_24h: Vec<(String, i64)>,
    sensitive_fields: String,
    safe_fields: String,
    scrub_ip_addresses: bool,
}

async fn settings_view(state: &WebState, project_id: i64) -> Result<SettingsView, WebError> {
    let limits = store::project_limits_of(&state.pool, project_id).await?;
    let scrub = store::scrub_config_of(&state.pool, project_id).await?;
    let day_ago = (crate::event::unix_now() / 3600.0).floor() as i64 - 24;
    let text = |v: Option<String>| v.unwrap_or_default();
    Ok(SettingsView {
        max_events: text(limits.max_events.map(|n| n.to_string())),
        max_age_days: text(limits.max_age_days.map(|n| n.to_string())),
        rate_limit: text(limits.rate_limit_per_minute.map(|n| n.to_string())),
        effective_max_events: limits.max_events.unwrap_or(state.retention.0),
        effective_max_age_days: limits.max_age_days.unwrap_or(state.retention.1),
        events_stored: store::stored_events_of_project(&state.pool, project_id).await?,
        refused_24h: store::rejections_since(&state.pool, project_id, day_ago).await?,
        sensitive_fields: scrub.sensitive_fields.join(", "),
        safe_fields: scrub.safe_fields.join(", "),
        scrub_ip_addresses: scrub.scrub_ip_addresses,
    })
}

async fn rows(state: &WebState) -> Result<Vec<ProjectRow>, WebError> {
    let counts = store::unresolved_counts(&state.pool).await?;
    Ok(store::list_projects(&state.pool)
        .await?
        .into_iter()
        .map(|p| ProjectRow {
            dsn: dsn(&state.public_url, &p.key, p.project.id),
            unresolved: counts.get(&p.project.id).copied().unwrap_or(0),
            id: p.project.id,
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
    project_page(viewer, &state, &path, Refused::default()).await
}

async fn project_page(
    viewer: Viewer,
    state: &WebState,
    slug: &str,
    refused: Refused,
) -> Result<HttpResponse, WebError> {
    let project = rows(state)
        .await?
        .into_iter()
        .find(|p| p.slug == slug)
        .ok_or_else(|| WebError::NotFound(format!("There is no project {slug:?}.")))?;
    let settings = settings_view(state, project.id).await?;
    let (grouping_error, grouping) = match refused.grouping {
        Some((error, typed)) => (Some(error), typed),
        None => {
            let rules = store::grouping_rules_of(&state.pool, project.id).await?;
            (None, (rules.stack_text, rules.fingerprint_text))
        }
    };
    let error = refused.settings;
    let status = if error.is_some() || grouping_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page_with_status(
        &ProjectPage {
            chrome: Chrome::for_viewer(&project.name, &viewer),
            project,
            is_admin: viewer.is_admin,
            settings,
            error,
            grouping,
            grouping_error,
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct SettingsForm {
    csrf: String,
    max_events: String,
    max_age_days: String,
    rate_limit: String,
    #[serde(default)]
    sensitive_fields: String,
    #[serde(default)]
    safe_fields: String,
    /// A checkbox: present when ticked.
    scrub_ip_addresses: Option<String>,
}

/// `POST /projects/{slug}/settings`: admins change the project's limits. A blank field clears
/// the project's own value.
pub async fn update_settings(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<SettingsForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin("change project limits")?;
    let project = store::project_by_slug(&state.pool, &path)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("There is no project {:?}.", path.as_str())))?;
    let parsed = (|| {
        Ok::<_, String>(store::ProjectLimits {
            max_events: crate::project::parse_count_limit("Max events", &form.max_events)?,
            max_age_days: crate::project::parse_days_limit("Max age", &form.max_age_days)?,
            rate_limit_per_minute: crate::project::parse_count_limit("Rate limit", &form.rate_limit)?,
        })
    })();
    let scrub = (|| {
        Ok::<_, String>(ScrubConfig {
            sensitive_fields: ScrubConfig::parse_fields(&form.sensitive_fields)?,
            safe_fields: ScrubConfig::parse_fields(&form.safe_fields)?,
            scrub_ip_addresses: form.scrub_ip_addresses.is_some(),
        })
    })();
    match parsed.and_then(|limits| scrub.map(|scrub| (limits, scrub))) {
        Ok((limits, scrub)) => {
            store::set_project_limits(&state.admin, project.id, &limits).await?;
            store::set_scrub_config(&state.admin, project.id, &scrub).await?;
            state.keys.clear();
            Ok(see_other(&format!("/projects/{}/", project.slug)))
        }
        Err(problem) => project_page(viewer, &state, &project.slug, Refused::settings(problem)).await,
    }
}

#[derive(Deserialize)]
pub struct GroupingForm {
    csrf: String,
    #[serde(default)]
    stack_rules: String,
    #[serde(default)]
    fingerprint_rules: String,
}

/// `POST /projects/{slug}/grouping`: admins change the project's grouping rules. Rules that do
/// not parse are refused with the line at fault, and the page keeps what was typed.
pub async fn update_grouping(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<GroupingForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin("change grouping rules")?;
    let project = store::project_by_slug(&state.pool, &path)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("There is no project {:?}.", path.as_str())))?;
    // Browsers send textarea lines with CRLF.
    let (stack, fingerprints) = (
        form.stack_rules.replace("\r\n", "\n"),
        form.fingerprint_rules.replace("\r\n", "\n"),
    );
    match ProjectRules::parse(&stack, &fingerprints) {
        Ok(rules) => {
            store::set_grouping_rules(&state.admin, project.id, &rules).await?;
            state.keys.clear();
            Ok(see_other(&format!("/projects/{}/#grouping-rules", project.slug)))
        }
        Err(problem) => {
            let refused = Refused {
                grouping: Some((problem, (stack, fingerprints))),
                ..Refused::default()
            };
            project_page(viewer, &state, &project.slug, refused).await
        }
    }
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
    form: Form<CreateForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin("create projects")?;
    let problem = match Slug::parse(form.slug.trim()) {
        Err(e) => Some(e),
        Ok(slug) => {
            let name = form
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| slug.to_string());
            match store::create_project(&state.admin, &slug, name.trim(), &PublicKey::generate()).await {
                Ok(created) => return Ok(see_other(&format!("/projects/{}/", created.project.slug))),
                Err(StoreError::Conflict(msg)) => Some(msg),
                Err(e) => return Err(e.into()),
            }
        }
    };
    page_with_status(
        &ProjectsPage {
            chrome: Chrome::for_viewer("Projects", &viewer),
            projects: rows(&state).await?,
            is_admin: viewer.is_admin,
            error: problem,
        },
        StatusCode::BAD_REQUEST,
    )
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: String,
    /// The slug typed again: deleting a project cannot be undone.
    confirm: String,
}

/// `POST /projects/{slug}/delete`: admins delete a project with its issues and events.
pub async fn delete(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<DeleteForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin("delete projects")?;
    let project = store::project_by_slug(&state.pool, &path)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("There is no project {:?}.", path.as_str())))?;
    if form.confirm.trim() != project.slug {
        let problem = format!("Type the project's slug ({}) to delete it.", project.slug);
        return project_page(viewer, &state, &project.slug, Refused::settings(problem)).await;
    }
    store::delete_project(&state.admin, project.id).await?;
    state.keys.clear();
    state.codec.forget_project(project.id);
    Ok(see_other("/projects/"))
}
