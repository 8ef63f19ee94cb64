//! Issue list, detail, status changes and deletion.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::auth::{require_admin_token, require_token};
use super::pagination::{Page, query_pairs};
use super::query;
use super::shapes::issue_json;
use super::{ApiError, ApiState};
use crate::event::{timestamp, unix_now};
use crate::store::{self, CommandOutcome, IssueCommand, IssueRecord, IssueSort, ReleaseRequest, StatusChange};

/// `GET /api/0/projects/{org}/{project}/issues/?query=&sort=&cursor=&limit=`
pub async fn list(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let (org, project_slug) = path.into_inner();
    state.check_org(&org)?;
    let project = store::project_by_slug(&state.pool, &project_slug)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("project {project_slug:?} not found")))?;
    let params = query_pairs(&req);
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    // Sentry's default search; an explicit empty query lists every status.
    let now = unix_now();
    let search = query::parse(get("query").unwrap_or("is:unresolved"), now).map_err(ApiError::BadRequest)?;
    let sort = match get("sort").unwrap_or("date") {
        "date" => IssueSort::Date,
        "new" => IssueSort::New,
        "freq" => IssueSort::Freq,
        "user" => IssueSort::User,
        other => {
            return Err(ApiError::BadRequest(format!(
                "unknown sort {other:?}: use date, new, freq or user"
            )));
        }
    };
    let page = Page::from_query(&params)?;
    let assignee = query::assignee_filter(&state.pool, search.assigned.as_ref(), None)
        .await
        .map_err(ApiError::BadRequest)?;
    let filter = search.into_filter(Some(project.id), assignee, sort, (page.offset, page.limit), now);
    let (issues, more) = store::list_issues(&state.pool, &filter).await?;
    let body: Vec<Value> = issues.iter().map(|i| issue_json(i, &state.public_url, now)).collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Link", page.link_header(&req, &state.public_url, &params, more)))
        .json(body))
}

/// `GET /api/0/issues/{id}/` — `{id}` is the numeric id or the short id (`DEFAULT-3`).
pub async fn detail(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let issue = resolve(&req, &state).await?;
    Ok(HttpResponse::Ok().json(issue_json(&issue, &state.public_url, unix_now())))
}

/// `PUT /api/0/issues/{id}/` with `{"status": "resolved" | "unresolved" | "ignored",
/// "statusDetails": {"ignoreDuration": minutes, "ignoreCount": n, "ignoreUntil": time}}`, or
/// `"statusDetails": {"inNextRelease": true}` / `{"inRelease": "<version>" | "latest"}` with
/// `"resolved"`.
pub async fn update(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let actor = require_admin_token(&req, &state).await?;
    let issue = resolve(&req, &state).await?;
    let body: Value = serde_json::from_slice(&super::json_body(&req, payload).await?)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let actor = format!("token:{actor}");
    let mut commands = Vec::new();
    if let Some(raw) = body.get("assignedTo") {
        commands.push(IssueCommand::Assign {
            issue_id: issue.id,
            user_id: assignee(&state, raw).await?,
            actor: actor.clone(),
        });
    }
    if body.get("status").is_some() || commands.is_empty() {
        let requested = status_change(&body, unix_now())?;
        commands.push(IssueCommand::SetStatus {
            issue_id: issue.id,
            change: pin_release(&state, issue.project_id, requested).await?,
            actor,
        });
    }
    for cmd in commands {
        if state.writer.command(cmd).await? == CommandOutcome::NotFound {
            return Err(not_found(&issue.id.to_string()));
        }
    }
    let updated = store::issue_by_id(&state.pool, issue.id)
        .await?
        .ok_or_else(|| not_found(&issue.id.to_string()))?;
    Ok(HttpResponse::Ok().json(issue_json(&updated, &state.public_url, unix_now())))
}

/// `DELETE /api/0/issues/{id}/`: the issue, its events and hashes. Answered 202 as Sentry does.
pub async fn delete(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    let issue = resolve(&req, &state).await?;
    match state
        .writer
        .command(IssueCommand::Delete { issue_id: issue.id })
        .await?
    {
        CommandOutcome::NotFound => Err(not_found(&issue.id.to_string())),
        CommandOutcome::Done | CommandOutcome::Split(_) => Ok(HttpResponse::Accepted().finish()),
    }
}

/// Sentry's `assignedTo`: `"user:<id>"`, an email, or `""`/`null` to unassign.
async fn assignee(state: &ApiState, raw: &Value) -> Result<Option<i64>, ApiError> {
    let text = match raw {
        Value::Null => return Ok(None),
        Value::String(s) if s.is_empty() => return Ok(None),
        Value::String(s) => s.as_str(),
        other => {
            return Err(ApiError::BadRequest(format!(
                "assignedTo must be a string, got {other}"
            )));
        }
    };
    let users = store::all_users(&state.pool).await?;
    let found = match text.strip_prefix("user:") {
        Some(id) => users.iter().find(|(uid, _)| id.parse::<i64>().ok() == Some(*uid)),
        None => users.iter().find(|(_, email)| email.eq_ignore_ascii_case(text)),
    };
    found
        .map(|(id, _)| Some(*id))
        .ok_or_else(|| ApiError::BadRequest(format!("assignedTo {text:?}: no such user")))
}

/// A status change as a request asks for it: one in a release names the release as asked
/// ([`pin_release`] finds it in the project).
#[derive(Debug, Clone)]
pub(super) enum Requested {
    Now(StatusChange),
    InRelease(ReleaseRequest),
}

/// The change `requested` makes to an issue of the project: a release asked for as the next
/// one, the latest, or by version becomes the project's release (400 when it has none such).
pub(super) async fn pin_release(
    state: &ApiState,
    project_id: i64,
    requested: Requested,
) -> Result<StatusChange, ApiError> {
    let request = match requested {
        Requested::Now(change) => return Ok(change),
        Requested::InRelease(request) => request,
    };
    store::resolution_for(&state.pool, project_id, &request)
        .await?
        .map(StatusChange::ResolvedIn)
        .ok_or_else(|| {
            ApiError::BadRequest(match request {
                ReleaseRequest::Version(v) => format!("statusDetails.inRelease: the project has no release {v:?}"),
                _ => "statusDetails.inRelease \"latest\": the project has no release yet".into(),
            })
        })
}

pub(super) fn status_change(body: &Value, now: f64) -> Result<Requested, ApiError> {
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadRequest("the body needs a \"status\": resolved, unresolved or ignored".into()))?;
    let details = body.get("statusDetails").cloned().unwrap_or(Value::Null);
    match status {
        "resolved" => resolved(&details),
        // Sentry takes this status as well as `"statusDetails": {"inNextRelease": true}`.
        "resolvedInNextRelease" => Ok(Requested::InRelease(ReleaseRequest::NextRelease)),
        "unresolved" => Ok(Requested::Now(StatusChange::Unresolved)),
        "ignored" => {
            if details.get("ignoreUserWindow").is_some_and(|v| !v.is_null()) {
                return Err(ApiError::BadRequest(
                    "statusDetails.ignoreUserWindow is not supported; ignoreUserCount alone counts users from now on"
                        .into(),
                ));
            }
            let duration = match details.get("ignoreDuration") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_f64().filter(|m| *m > 0.0).ok_or_else(|| {
                    ApiError::BadRequest("statusDetails.ignoreDuration must be a positive number of minutes".into())
                })?),
            };
            let until = match details.get("ignoreUntil") {
                None | Some(Value::Null) => duration.map(|minutes| now + minutes * 60.0),
                Some(v) => Some(timestamp::parse(v).ok_or_else(|| {
                    ApiError::BadRequest("statusDetails.ignoreUntil must be an RFC 3339 time".into())
                })?),
            };
            let positive = |name: &str| -> Result<Option<i64>, ApiError> {
                match details.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => Ok(Some(v.as_i64().filter(|n| *n > 0).ok_or_else(|| {
                        ApiError::BadRequest(format!("statusDetails.{name} must be a positive integer"))
                    })?)),
                }
            };
            let count = positive("ignoreCount")?;
            let users = positive("ignoreUserCount")?;
            // Sentry's ignoreWindow (minutes) turns ignoreCount into "N times within the window".
            let (count, window) = match (count, positive("ignoreWindow")?) {
                (Some(n), Some(minutes)) => (None, Some((n, minutes as f64 * 60.0))),
                (None, Some(_)) => {
                    return Err(ApiError::BadRequest(
                        "statusDetails.ignoreWindow needs ignoreCount: how many events within it".into(),
                    ));
                }
                (count, None) => (count, None),
            };
            Ok(Requested::Now(StatusChange::Ignored {
                until,
                count,
                users,
                window,
            }))
        }
        other => Err(ApiError::BadRequest(format!(
            "unsupported status {other:?}: use resolved, unresolved or ignored"
        ))),
    }
}

/// `"resolved"` with Sentry's `statusDetails`: plainly, in the next release, or in a release.
fn resolved(details: &Value) -> Result<Requested, ApiError> {
    let given = |name: &str| details.get(name).filter(|v| !v.is_null());
    // Resolving in a commit or an upcoming release needs commits and release plans Tocsin
    // does not keep; taking them as a plain resolve would be a surprise.
    for name in ["inCommit", "inUpcomingRelease"] {
        if given(name).is_some() {
            return Err(ApiError::BadRequest(format!(
                "statusDetails.{name} is not supported: use inNextRelease or inRelease"
            )));
        }
    }
    if let Some(release) = given("inRelease") {
        return match release.as_str().map(str::trim) {
            Some("latest") => Ok(Requested::InRelease(ReleaseRequest::Latest)),
            Some(v) if !v.is_empty() => Ok(Requested::InRelease(ReleaseRequest::Version(v.to_string()))),
            _ => Err(ApiError::BadRequest(
                "statusDetails.inRelease must be a release's version or \"latest\"".into(),
            )),
        };
    }
    match given("inNextRelease") {
        None | Some(Value::Bool(false)) => Ok(Requested::Now(StatusChange::Resolved)),
        Some(Value::Bool(true)) => Ok(Requested::InRelease(ReleaseRequest::NextRelease)),
        Some(_) => Err(ApiError::BadRequest(
            "statusDetails.inNextRelease must be true or false".into(),
        )),
    }
}

fn not_found(raw: &str) -> ApiError {
    ApiError::NotFound(format!("issue {raw:?} not found"))
}

/// The issue named by the path's `{issue}`: a numeric id or a short id.
pub async fn resolve(req: &HttpRequest, state: &ApiState) -> Result<IssueRecord, ApiError> {
    if let Some(org) = req.match_info().get("org") {
        state.check_org(org)?;
    }
    let raw = req.match_info().get("issue").unwrap_or_default();
    let found = if let Ok(id) = raw.parse::<i64>() {
        store::issue_by_id(&state.pool, id).await?
    } else if let Some((slug, number)) = raw.rsplit_once('-')
        && let Ok(number) = number.parse::<i64>()
    {
        store::issue_by_short_id(&state.pool, slug, number).await?
    } else {
        None
    };
    found.ok_or_else(|| not_found(raw))
}
