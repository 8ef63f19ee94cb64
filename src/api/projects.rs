//! `/api/0/projects/{org}/{project}/`: a project's limits (read, change) and its deletion.
//!
//! `PUT` takes any of `maxEvents`, `maxAgeDays` and `rateLimitPerMinute`; a key left out keeps
//! its value, `null` clears it (server default for retention, no rate limit). It also takes the
//! scrubbing settings and, under Sentry's names, the project's grouping rules:
//! `groupingEnhancements` (stack-trace rules) and `fingerprintingRules`, as text; rules that do
//! not parse are refused with the line at fault, and nothing is changed.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::alerts::{Access, project};
use super::{ApiError, ApiState};
use crate::event::scrub::ScrubConfig;
use crate::event::unix_now;
use crate::grouping::ProjectRules;
use crate::project::Project;
use crate::store::{self, ProjectLimits};

pub async fn detail(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Read).await?;
    Ok(HttpResponse::Ok().json(shape(&state, &project).await?))
}

pub async fn update(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Change).await?;
    let body: serde_json::Map<String, Value> = serde_json::from_slice(&super::json_body(&req, payload).await?)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a JSON object: {e}")))?;
    let mut limits = store::project_limits_of(&state.pool, project.id).await?;
    let mut scrub = store::scrub_config_of(&state.pool, project.id).await?;
    let rules = store::grouping_rules_of(&state.pool, project.id).await?;
    let (mut stack_rules, mut fingerprint_rules) = (rules.stack_text.clone(), rules.fingerprint_text.clone());
    for (key, value) in &body {
        match key.as_str() {
            "maxEvents" => limits.max_events = count(key, value)?,
            "rateLimitPerMinute" => limits.rate_limit_per_minute = count(key, value)?,
            "maxAgeDays" => {
                limits.max_age_days = match value {
                    Value::Null => None,
                    Value::Number(n) => {
                        crate::project::parse_days_limit(key, &n.to_string()).map_err(ApiError::BadRequest)?
                    }
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "{key} must be a number or null, got {other}"
                        )));
                    }
                }
            }
            "groupingEnhancements" => stack_rules = text(key, value)?,
            "fingerprintingRules" => fingerprint_rules = text(key, value)?,
            "sensitiveFields" => scrub.sensitive_fields = fields(key, value)?,
            "safeFields" => scrub.safe_fields = fields(key, value)?,
            "scrubIpAddresses" => {
                scrub.scrub_ip_addresses = value
                    .as_bool()
                    .ok_or_else(|| ApiError::BadRequest(format!("{key} must be true or false, got {value}")))?
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown field {other:?}: send maxEvents, maxAgeDays, rateLimitPerMinute, sensitiveFields, \
                     safeFields, scrubIpAddresses, groupingEnhancements or fingerprintingRules"
                )));
            }
        }
    }
    let rules = ProjectRules::parse(&stack_rules, &fingerprint_rules).map_err(ApiError::BadRequest)?;
    store::set_project_limits(&state.admin, project.id, &limits).await?;
    store::set_scrub_config(&state.admin, project.id, &scrub).await?;
    store::set_grouping_rules(&state.admin, project.id, &rules).await?;
    state.keys.clear();
    Ok(HttpResponse::Ok().json(shape(&state, &project).await?))
}

pub async fn delete(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Change).await?;
    store::delete_project(&state.admin, project.id).await?;
    state.keys.clear();
    state.codec.forget_project(project.id);
    Ok(HttpResponse::NoContent().finish())
}

fn fields(key: &str, value: &Value) -> Result<Vec<String>, ApiError> {
    let list = value
        .as_array()
        .ok_or_else(|| ApiError::BadRequest(format!("{key} must be a list of field names, got {value}")))?;
    let names: Vec<&str> = list
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| ApiError::BadRequest(format!("{key} must hold strings, got {v}")))
        })
        .collect::<Result<_, _>>()?;
    ScrubConfig::parse_fields(&names.join(",")).map_err(ApiError::BadRequest)
}

/// Rule text: a string, `null` for none.
fn text(key: &str, value: &Value) -> Result<String, ApiError> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        other => Err(ApiError::BadRequest(format!(
            "{key} must be text (rules, one per line), got {other}"
        ))),
    }
}

fn count(key: &str, value: &Value) -> Result<Option<i64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => crate::project::parse_count_limit(key, &n.to_string()).map_err(ApiError::BadRequest),
        other => Err(ApiError::BadRequest(format!(
            "{key} must be a whole number or null, got {other}"
        ))),
    }
}

async fn shape(state: &ApiState, project: &Project) -> Result<Value, ApiError> {
    let ProjectLimits {
        max_events,
        max_age_days,
        rate_limit_per_minute,
    } = store::project_limits_of(&state.pool, project.id).await?;
    let stored = store::stored_events_of_project(&state.pool, project.id).await?;
    let scrub = store::scrub_config_of(&state.pool, project.id).await?;
    let rules = store::grouping_rules_of(&state.pool, project.id).await?;
    let day_ago = (unix_now() / 3600.0).floor() as i64 - 24;
    let refused: serde_json::Map<String, Value> = store::rejections_since(&state.pool, project.id, day_ago)
        .await?
        .into_iter()
        .map(|(reason, n)| (reason, json!(n)))
        .collect();
    Ok(json!({
        "id": project.id.to_string(),
        "slug": project.slug,
        "name": project.name,
        "maxEvents": max_events,
        "maxAgeDays": max_age_days,
        "rateLimitPerMinute": rate_limit_per_minute,
        "effective": {
            "maxEvents": max_events.unwrap_or(state.retention.0),
            "maxAgeDays": max_age_days.unwrap_or(state.retention.1),
        },
        "sensitiveFields": scrub.sensitive_fields,
        "safeFields": scrub.safe_fields,
        "scrubIpAddresses": scrub.scrub_ip_addresses,
        "groupingEnhancements": rules.stack_text,
        "fingerprintingRules": rules.fingerprint_text,
        "eventsStored": stored,
        "eventsRefusedLast24h": refused,
    }))
}
