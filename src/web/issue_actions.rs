//! What an engineer does to an issue from its page: resolve (now, in the next release, in a
//! release), unresolve, ignore (for a time or a number of events), assign, link an external issue, comment. Each is a command through the
//! writer, answered with a redirect.

use super::form::Form;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::error::see_other;
use super::issue_head::issue;
use super::{Viewer, WebError, WebState};
use crate::event::unix_now;
use crate::store::{self, IssueCommand, ReleaseRequest, StatusChange};

#[derive(Deserialize)]
pub struct StatusForm {
    csrf: String,
    status: String,
    /// Minutes, for "ignore for …".
    ignore_minutes: Option<String>,
    /// Events, for "ignore until N more …".
    ignore_count: Option<String>,
    /// Users, for "until it affects N more users".
    ignore_users: Option<String>,
    /// Events per hour, for "until it occurs N times within an hour".
    ignore_rate: Option<String>,
    /// A version of the project's releases, for "resolve in release …".
    release: Option<String>,
}

/// `POST /issues/{id}/status`: resolve (now, in the next release or in a release), unresolve,
/// or ignore (optionally with a condition).
pub async fn set_status(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<StatusForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let issue = issue(&state, &path).await?;
    let in_release = match form.status.as_str() {
        "resolved_in_next_release" => Some(ReleaseRequest::NextRelease),
        "resolved_in_release" => Some(ReleaseRequest::Version(
            form.release.as_deref().unwrap_or_default().to_string(),
        )),
        _ => None,
    };
    let change = match in_release {
        Some(request) => store::resolution_for(&state.pool, issue.project_id, &request)
            .await?
            .map(StatusChange::ResolvedIn)
            .ok_or_else(|| WebError::BadRequest(format!("{} has no such release.", issue.project_name)))?,
        None => plain_change(&form)?,
    };
    let cmd = IssueCommand::SetStatus {
        issue_id: issue.id,
        change,
        actor: viewer.email.clone(),
    };
    state
        .writer
        .command(cmd)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(see_other(&format!("/issues/{}/", issue.id)))
}

/// A status change that needs nothing but the form: resolve, unresolve, ignore.
fn plain_change(form: &StatusForm) -> Result<StatusChange, WebError> {
    let number = |v: &Option<String>| {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse::<i64>().ok())
    };
    Ok(match form.status.as_str() {
        "resolved" => StatusChange::Resolved,
        "unresolved" => StatusChange::Unresolved,
        "ignored" => StatusChange::Ignored {
            until: number(&form.ignore_minutes)
                .filter(|m| *m > 0)
                .map(|m| unix_now() + m as f64 * 60.0),
            count: number(&form.ignore_count).filter(|c| *c > 0),
            users: number(&form.ignore_users).filter(|c| *c > 0),
            window: number(&form.ignore_rate).filter(|c| *c > 0).map(|n| (n, 3600.0)),
        },
        other => return Err(WebError::BadRequest(format!("unknown status {other:?}"))),
    })
}

#[derive(Deserialize)]
pub struct AssignForm {
    csrf: String,
    /// A user id, or empty to unassign.
    user: String,
}

/// `POST /issues/{id}/assign`
pub async fn assign(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<AssignForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let issue = issue(&state, &path).await?;
    let user_id = match form.user.trim() {
        "" => None,
        raw => {
            let id: i64 = raw
                .parse()
                .map_err(|_| WebError::BadRequest(format!("no user {raw:?}")))?;
            let users = store::all_users(&state.pool).await?;
            users
                .iter()
                .find(|(uid, _)| *uid == id)
                .ok_or_else(|| WebError::BadRequest(format!("no user {raw:?}")))?;
            Some(id)
        }
    };
    command(
        &state,
        IssueCommand::Assign {
            issue_id: issue.id,
            user_id,
            actor: viewer.email.clone(),
        },
    )
    .await?;
    Ok(see_other(&format!("/issues/{}/", issue.id)))
}

#[derive(Deserialize)]
pub struct LinkForm {
    csrf: String,
    url: String,
    label: Option<String>,
}

/// `POST /issues/{id}/links`: an external tracker link.
pub async fn add_link(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<LinkForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let issue = issue(&state, &path).await?;
    let url = form.url.trim();
    // Only web links: a javascript: or data: URL would run in the next viewer's browser.
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
        return Err(WebError::BadRequest("the link must be an http(s) URL".into()));
    }
    let label = form
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or(url);
    let cmd = IssueCommand::AddLink {
        issue_id: issue.id,
        url: url.to_string(),
        label: label.chars().take(200).collect(),
        actor: viewer.email.clone(),
    };
    command(&state, cmd).await?;
    Ok(see_other(&format!("/issues/{}/", issue.id)))
}

#[derive(Deserialize)]
pub struct CommentForm {
    csrf: String,
    text: String,
}

/// `POST /issues/{id}/comments`
pub async fn comment(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<CommentForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let issue = issue(&state, &path).await?;
    let text = form.text.trim();
    if text.is_empty() || text.len() > 10_000 {
        return Err(WebError::BadRequest("a comment needs 1 to 10,000 characters".into()));
    }
    let cmd = IssueCommand::Comment {
        issue_id: issue.id,
        text: text.to_string(),
        actor: viewer.email.clone(),
    };
    command(&state, cmd).await?;
    Ok(see_other(&format!("/issues/{}/activity/", issue.id)))
}

async fn command(state: &WebState, cmd: IssueCommand) -> Result<(), WebError> {
    match state
        .writer
        .command(cmd)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
    {
        store::CommandOutcome::NotFound => Err(WebError::NotFound("The issue is gone.".into())),
        store::CommandOutcome::Done | store::CommandOutcome::Split(_) => Ok(()),
    }
}

#[derive(Deserialize)]
pub struct UnmergeForm {
    csrf: String,
    hash: String,
}

/// `POST /issues/{id}/unmerge`: a fingerprint and its events become an issue of their own,
/// named by the grouping of its newest event.
pub async fn unmerge(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<UnmergeForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let issue = issue(&state, &path).await?;
    let latest = store::latest_event_of_hash(&state.pool, issue.id, &form.hash)
        .await?
        .ok_or_else(|| WebError::BadRequest("no stored event of this issue has that fingerprint".into()))?;
    crate::compression::ensure_loaded(&state.pool, &state.codec, [latest.dict_id]).await;
    let json = state
        .codec
        .decompress(&latest.payload, latest.dict_id)
        .map_err(|e| WebError::Internal(format!("event {} is unreadable: {e}", latest.event_id)))?;
    let event: crate::event::Event = serde_json::from_slice(&json)
        .map_err(|e| WebError::Internal(format!("event {} is not an event: {e}", latest.event_id)))?;
    let rules = store::grouping_rules_of(&state.pool, issue.project_id).await?;
    let grouping = crate::grouping::calculate_with(&event, &rules);
    let facts = store::SplitFacts {
        title: grouping.title,
        culprit: grouping.culprit,
        ty: grouping.metadata.ty,
        value: grouping.metadata.value,
    };
    let cmd = IssueCommand::Unmerge {
        issue_id: issue.id,
        hash: form.hash.clone(),
        facts,
        actor: viewer.email.clone(),
    };
    match state
        .writer
        .command(cmd)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
    {
        store::CommandOutcome::Split(new_issue) => Ok(see_other(&format!("/issues/{new_issue}/"))),
        _ => Err(WebError::BadRequest(
            "that fingerprint cannot be unmerged: it is the issue's last one, or no longer its".into(),
        )),
    }
}
