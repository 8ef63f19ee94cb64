//! Releases and deploys as sentry-cli makes and reads them: `releases new|finalize|list|info|
//! delete` and `deploys new|list`, on the organization's endpoints (a release belongs to the
//! projects its body names) and the project's.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{require_admin_token, require_token};
use super::{ApiError, ApiState};
use crate::event::{format_rfc3339, timestamp, unix_now};
use crate::project::Project;
use crate::store::{self, Deploy, Release, ReleaseChange};

fn release_json(release: &Release, projects: &[&Project]) -> Value {
    let iso = |t: Option<f64>| t.map(format_rfc3339);
    json!({
        "version": release.version,
        "shortVersion": release.version,
        "ref": release.reference,
        "url": release.url,
        "status": "open",
        "dateCreated": format_rfc3339(release.date_created),
        "dateStarted": iso(release.date_started),
        "dateReleased": iso(release.date_released),
        "firstEvent": iso(release.first_event),
        "lastEvent": iso(release.last_event),
        "newGroups": release.new_issues,
        "deployCount": release.deploys,
        "lastDeploy": release.last_deploy.as_ref().map(|(env, at)| json!({
            "environment": env,
            "dateFinished": format_rfc3339(*at),
        })),
        "projects": projects.iter().map(|p| json!({"id": p.id.to_string(), "slug": p.slug, "name": p.name})).collect::<Vec<_>>(),
        "authors": [],
        "commitCount": 0,
        "data": {},
    })
}

/// The projects a request is about: the one in the path, else those the body names, else every
/// project.
pub(super) async fn projects_of(
    state: &ApiState,
    req: &HttpRequest,
    body: Option<&Value>,
) -> Result<Vec<Project>, ApiError> {
    let all: Vec<Project> = store::list_projects(&state.pool)
        .await?
        .into_iter()
        .map(|p| p.project)
        .collect();
    if let Some(slug) = req.match_info().get("project_slug") {
        return all
            .into_iter()
            .find(|p| p.slug == slug)
            .map(|p| vec![p])
            .ok_or_else(|| ApiError::NotFound(format!("project {slug:?} not found")));
    }
    let Some(named) = body.and_then(|b| b.get("projects")).and_then(Value::as_array) else {
        return Ok(all);
    };
    let mut chosen = Vec::new();
    for slug in named {
        let slug = slug.as_str().unwrap_or_default();
        let project = all
            .iter()
            .find(|p| p.slug == slug || p.id.to_string() == slug)
            .ok_or_else(|| ApiError::BadRequest(format!("projects: no project {slug:?}")))?;
        chosen.push(project.clone());
    }
    Ok(chosen)
}

pub(super) fn check_org(req: &HttpRequest, state: &ApiState) -> Result<(), ApiError> {
    state.check_org(req.match_info().get("org").unwrap_or_default())
}

fn time_field(body: &Value, name: &str) -> Result<Option<f64>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => timestamp::parse(v)
            .map(Some)
            .ok_or_else(|| ApiError::BadRequest(format!("{name} must be an RFC 3339 time"))),
    }
}

fn change_of(body: &Value) -> Result<ReleaseChange, ApiError> {
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    Ok(ReleaseChange {
        date_started: time_field(body, "dateStarted")?,
        date_released: time_field(body, "dateReleased")?,
        reference: text("ref"),
        url: text("url"),
    })
}

pub(super) async fn body_of(req: &HttpRequest, payload: web::Payload) -> Result<Value, ApiError> {
    serde_json::from_slice(&super::json_body(req, payload).await?)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))
}

/// The version named in the path, as one release across `projects` (`None` if none has it).
async fn find(state: &ApiState, projects: &[Project], version: &str) -> Result<Option<Value>, ApiError> {
    let mut merged: Option<Release> = None;
    let mut having = Vec::new();
    for p in projects {
        if let Some(r) = store::project_releases(&state.pool, p.id)
            .await?
            .into_iter()
            .find(|r| r.version == version)
        {
            having.push(p);
            merged = Some(match merged {
                None => r,
                Some(m) => merge(m, r),
            });
        }
    }
    Ok(merged.map(|r| release_json(&r, &having)))
}

/// One release seen in two projects: the earliest start, the latest end, counts added.
fn merge(a: Release, b: Release) -> Release {
    let min = |x: Option<f64>, y: Option<f64>| x.into_iter().chain(y).reduce(f64::min);
    let max = |x: Option<f64>, y: Option<f64>| x.into_iter().chain(y).reduce(f64::max);
    Release {
        date_created: a.date_created.min(b.date_created),
        date_started: min(a.date_started, b.date_started),
        date_released: max(a.date_released, b.date_released),
        first_event: min(a.first_event, b.first_event),
        last_event: max(a.last_event, b.last_event),
        events: a.events + b.events,
        new_issues: a.new_issues + b.new_issues,
        deploys: a.deploys + b.deploys,
        reference: a.reference.or(b.reference),
        url: a.url.or(b.url),
        last_deploy: match (a.last_deploy, b.last_deploy) {
            (Some(x), Some(y)) => Some(if x.1 >= y.1 { x } else { y }),
            (x, y) => x.or(y),
        },
        environments: {
            let mut by_env: std::collections::BTreeMap<String, i64> = a.environments.into_iter().collect();
            for (env, n) in b.environments {
                *by_env.entry(env).or_default() += n;
            }
            by_env.into_iter().collect()
        },
        version: a.version,
    }
}

/// `GET …/releases/`: newest first, in Sentry's release order (semver, else first seen).
pub async fn list(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    check_org(&req, &state)?;
    let projects = projects_of(&state, &req, None).await?;
    let mut by_version: std::collections::BTreeMap<String, (Release, Vec<&Project>)> = Default::default();
    for p in &projects {
        for r in store::project_releases(&state.pool, p.id).await? {
            match by_version.remove(&r.version) {
                Some((m, mut ps)) => {
                    ps.push(p);
                    by_version.insert(r.version.clone(), (merge(m, r), ps));
                }
                None => {
                    by_version.insert(r.version.clone(), (r, vec![p]));
                }
            }
        }
    }
    let mut releases: Vec<(Release, Vec<&Project>)> = by_version.into_values().collect();
    store::order_releases(&mut releases, |r| r.0.version.as_str(), |r| r.0.date_created);
    releases.reverse();
    Ok(HttpResponse::Ok().json(releases.iter().map(|(r, ps)| release_json(r, ps)).collect::<Vec<_>>()))
}

/// `POST …/releases/` with `{"version", "projects", "dateStarted", "ref", "url", …}`: 201 when
/// made, 208 when it existed (sentry-cli takes both).
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let body = body_of(&req, payload).await?;
    let version = body
        .get("version")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200 && !v.contains(['/', '\n']) && *v != "." && *v != "..")
        .ok_or_else(|| ApiError::BadRequest("version: 1 to 200 characters, without \"/\"".into()))?
        .to_string();
    let projects = projects_of(&state, &req, Some(&body)).await?;
    let change = change_of(&body)?;
    let mut made = false;
    for p in &projects {
        made |= store::upsert_release(&state.admin, p.id, &version, &change, unix_now()).await?;
    }
    let shown = find(&state, &projects, &version).await?.unwrap_or(Value::Null);
    Ok(if made {
        HttpResponse::Created().json(shown)
    } else {
        HttpResponse::build(actix_web::http::StatusCode::ALREADY_REPORTED).json(shown)
    })
}

fn version_of(req: &HttpRequest) -> String {
    req.match_info().get("version").unwrap_or_default().to_string()
}

/// `GET …/releases/{version}/`
pub async fn detail(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    check_org(&req, &state)?;
    let projects = projects_of(&state, &req, None).await?;
    let version = version_of(&req);
    find(&state, &projects, &version)
        .await?
        .map(|r| HttpResponse::Ok().json(r))
        .ok_or_else(|| ApiError::NotFound(format!("release {version:?} not found")))
}

/// `PUT …/releases/{version}/`: `dateReleased` finalizes it; `ref`, `url`, `dateStarted` too.
pub async fn update(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let body = body_of(&req, payload).await?;
    let version = version_of(&req);
    let projects = projects_of(&state, &req, Some(&body)).await?;
    let change = change_of(&body)?;
    for p in &projects {
        store::upsert_release(&state.admin, p.id, &version, &change, unix_now()).await?;
    }
    Ok(HttpResponse::Ok().json(find(&state, &projects, &version).await?.unwrap_or(Value::Null)))
}

/// `DELETE …/releases/{version}/`: only a release no event names (409 otherwise).
pub async fn delete(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let version = version_of(&req);
    let mut deleted = false;
    for p in projects_of(&state, &req, None).await? {
        deleted |= store::delete_release(&state.admin, p.id, &version).await?;
    }
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(format!("release {version:?} not found")))
    }
}

fn deploy_json(d: &Deploy) -> Value {
    json!({
        "id": d.id.to_string(),
        "environment": d.environment,
        "name": d.name,
        "url": d.url,
        "dateStarted": d.date_started.map(format_rfc3339),
        "dateFinished": format_rfc3339(d.date_finished),
    })
}

/// `POST …/releases/{version}/deploys/` with `{"environment", "name", "url", "dateStarted",
/// "dateFinished"}`.
pub async fn add_deploy(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let body = body_of(&req, payload).await?;
    let version = version_of(&req);
    let environment = body
        .get("environment")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty() && e.len() <= 64)
        .ok_or_else(|| ApiError::BadRequest("environment: 1 to 64 characters".into()))?;
    let projects = projects_of(&state, &req, Some(&body)).await?;
    let mut deploy = Deploy {
        id: 0,
        environment: environment.to_string(),
        name: body.get("name").and_then(Value::as_str).map(str::to_string),
        url: body.get("url").and_then(Value::as_str).map(str::to_string),
        date_started: time_field(&body, "dateStarted")?,
        date_finished: time_field(&body, "dateFinished")?.unwrap_or_else(unix_now),
    };
    for p in &projects {
        deploy.id = store::add_deploy(&state.admin, p.id, &version, &deploy, unix_now()).await?;
    }
    Ok(HttpResponse::Created().json(deploy_json(&deploy)))
}

/// `GET …/releases/{version}/deploys/`: newest first.
pub async fn deploys(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    check_org(&req, &state)?;
    let version = version_of(&req);
    let mut all = Vec::new();
    for p in projects_of(&state, &req, None).await? {
        all.extend(store::deploys_of(&state.pool, p.id, &version).await?);
    }
    all.sort_by(|a, b| b.date_finished.total_cmp(&a.date_finished));
    Ok(HttpResponse::Ok().json(all.iter().map(deploy_json).collect::<Vec<_>>()))
}
