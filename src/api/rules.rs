//! `/api/0/projects/{org}/{project}/rules/`: a project's alert rules, in the JSON of
//! `notify::rule_json` (Sentry's issue alert rules where they meet; issue 17).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::alerts::{Access, project};
use super::{ApiError, ApiState};
use crate::event::unix_now;
use crate::notify::rule_json::{from_json, to_json};
use crate::notify::rules::RuleSpec;
use crate::project::Project;
use crate::store::{self, AlertRule};

async fn read_rule(
    req: &HttpRequest,
    payload: web::Payload,
    state: &ApiState,
    project: &Project,
) -> Result<RuleSpec, ApiError> {
    let body: Value = serde_json::from_slice(&super::json_body(req, payload).await?)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let channels: Vec<i64> = store::list_channels(&state.pool, Some(project.id))
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    from_json(&body, &channels).map_err(ApiError::BadRequest)
}

fn rule_id(req: &HttpRequest) -> Result<i64, ApiError> {
    let raw = req.match_info().get("rule").unwrap_or_default();
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("rule {raw:?} not found")))
}

async fn shaped(state: &ApiState, project: &Project, rule: &AlertRule) -> Result<Value, ApiError> {
    let fired = store::last_fired(&state.pool, project.id).await?;
    let last = fired.get(&rule.id).copied();
    Ok(to_json(rule, last))
}

pub async fn list(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Read).await?;
    let fired = store::last_fired(&state.pool, project.id).await?;
    let rules = store::list_rules(&state.pool, project.id).await?;
    Ok(HttpResponse::Ok().json(
        rules
            .iter()
            .map(|r| to_json(r, fired.get(&r.id).copied()))
            .collect::<Vec<_>>(),
    ))
}

pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Change).await?;
    let spec = read_rule(&req, payload, &state, &project).await?;
    let id = store::create_rule(&state.admin, project.id, &spec, unix_now()).await?;
    let rule = AlertRule {
        id,
        project_id: project.id,
        spec,
    };
    Ok(HttpResponse::Created().json(to_json(&rule, None)))
}

pub async fn detail(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Read).await?;
    let id = rule_id(&req)?;
    let rule = store::rule_by_id(&state.pool, project.id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("rule {id} not found")))?;
    Ok(HttpResponse::Ok().json(shaped(&state, &project, &rule).await?))
}

/// `PUT` replaces the rule with the body (Sentry's PUT takes the whole rule too).
pub async fn update(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Change).await?;
    let id = rule_id(&req)?;
    let spec = read_rule(&req, payload, &state, &project).await?;
    if !store::update_rule(&state.admin, project.id, id, &spec).await? {
        return Err(ApiError::NotFound(format!("rule {id} not found")));
    }
    let rule = AlertRule {
        id,
        project_id: project.id,
        spec,
    };
    Ok(HttpResponse::Ok().json(shaped(&state, &project, &rule).await?))
}

pub async fn delete(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Change).await?;
    let id = rule_id(&req)?;
    if store::delete_rule(&state.admin, project.id, id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(format!("rule {id} not found")))
    }
}
