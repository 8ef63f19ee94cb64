//! `PUT /api/0/projects/{org}/{project}/issues/`: one change to many issues, as `sentry-cli
//! issues resolve|mute|unresolve` sends it. `?id=…` (repeated) names the issues; without ids,
//! every issue the search matches changes (`?status=` or `?query=`, `is:unresolved` by default),
//! at most [`CAP`] at once.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::require_admin_token;
use super::issues::{pin_release, status_change};
use super::pagination::query_pairs;
use super::shapes::resolved_in_json;
use super::{ApiError, ApiState, query};
use crate::event::unix_now;
use crate::store::{self, CommandOutcome, IssueCommand, IssueSort, StatusChange};

/// Issues one request changes at most, as Sentry caps its bulk updates.
const CAP: i64 = 1_000;

pub async fn update(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let actor = format!("token:{}", require_admin_token(&req, &state).await?);
    let (org, slug) = path.into_inner();
    state.check_org(&org)?;
    let project = store::project_by_slug(&state.pool, &slug)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("project {slug:?} not found")))?;
    let mut body: Value = serde_json::from_slice(&super::json_body(&req, payload).await?)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    // sentry-cli says "muted" and gives a snooze in minutes; Sentry's issue API says "ignored".
    if body.get("status").and_then(Value::as_str) == Some("muted") {
        body["status"] = json!("ignored");
    }
    if let Some(minutes) = body.get("snoozeDuration").filter(|v| !v.is_null()).cloned() {
        body["statusDetails"]["ignoreDuration"] = minutes;
    }
    let now = unix_now();
    let change = pin_release(&state, project.id, status_change(&body, now)?).await?;
    let params = query_pairs(&req);
    let mut ids: Vec<i64> = Vec::new();
    for (key, value) in params.iter().filter(|(k, _)| k == "id") {
        ids.push(
            value
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("{key}={value:?} is not an issue id")))?,
        );
    }
    let issues = if ids.is_empty() {
        matching(&state, project.id, &params, now).await?
    } else {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let issue = store::issue_by_id(&state.pool, id)
                .await?
                .filter(|i| i.project_id == project.id)
                .ok_or_else(|| ApiError::NotFound(format!("issue {id} not found in project {slug:?}")))?;
            found.push(issue.id);
        }
        found
    };
    if issues.is_empty() {
        return Ok(HttpResponse::NoContent().finish());
    }
    for issue_id in issues {
        let cmd = IssueCommand::SetStatus {
            issue_id,
            change: change.clone(),
            actor: actor.clone(),
        };
        // An issue deleted meanwhile is no longer there to change.
        if state.writer.command(cmd).await? == CommandOutcome::NotFound {
            continue;
        }
    }
    // A release asked for as "latest" or the next one is answered as Sentry does: by what it
    // became.
    let details = match &change {
        StatusChange::ResolvedIn(r) => resolved_in_json(r),
        _ => body.get("statusDetails").cloned().unwrap_or(json!({})),
    };
    Ok(HttpResponse::Ok().json(json!({
        "status": if matches!(change, StatusChange::ResolvedIn(_)) { json!("resolved") } else { body["status"].clone() },
        "statusDetails": details,
    })))
}

/// The project's issues that `?status=` (`resolved`, `muted`, `unresolved`) or `?query=`
/// selects.
async fn matching(
    state: &ApiState,
    project_id: i64,
    params: &[(String, String)],
    now: f64,
) -> Result<Vec<i64>, ApiError> {
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let text = match (get("query"), get("status")) {
        (Some(q), _) => q.to_string(),
        (None, Some("muted")) => "is:ignored".into(),
        (None, Some(status)) => format!("is:{status}"),
        (None, None) => "is:unresolved".into(),
    };
    let search = query::parse(&text, now).map_err(ApiError::BadRequest)?;
    let assignee = query::assignee_filter(&state.pool, search.assigned.as_ref(), None)
        .await
        .map_err(ApiError::BadRequest)?;
    let filter = search.into_filter(Some(project_id), assignee, IssueSort::Date, (0, CAP), now);
    let (issues, _) = store::list_issues(&state.pool, &filter).await?;
    Ok(issues.iter().map(|i| i.id).collect())
}
