//! Bulk actions on an issue list: resolve, ignore, unresolve, assign or delete the ticked
//! issues, every issue on the page, or every issue that matches the search (up to a cap).
//! Deleting asks first, on a page of its own (no script needed); the list then says what was
//! done, or that nothing was selected.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::error::{page, see_other};
use super::form::Form;
use super::issues::{ListQuery, list_filter};
use super::{Chrome, Viewer, WebError, WebState};
use crate::event::unix_now;
use crate::store::{self, CommandOutcome, IssueCommand, StatusChange};

/// "All matching" acts on at most this many issues at once; the message says when it stopped.
const MATCHING_CAP: i64 = 10_000;

#[derive(Template)]
#[template(path = "bulk_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    question: String,
    explanation: String,
    button: String,
    /// The form's fields, posted again with `confirmed=yes`.
    fields: Vec<(String, String)>,
    back: String,
}

/// The form's fields again, with `confirmed=yes`, for the confirmation page to post.
fn confirmed(fields: &[(String, String)]) -> Vec<(String, String)> {
    let mut fields = fields.to_vec();
    fields.retain(|(k, _)| k != "confirmed");
    fields.push(("confirmed".into(), "yes".into()));
    fields
}

/// `POST /issues/bulk`
pub async fn bulk(
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    viewer.check_csrf(get("csrf").unwrap_or_default())?;
    let (base, project_id) = list_base(&state, get("base").unwrap_or("/issues/")).await?;
    let list = get("list").unwrap_or_default();
    let action = get("action").unwrap_or_default();
    let ids: Vec<i64> = match get("scope").unwrap_or("selected") {
        "selected" => ids_of(&fields, "issue"),
        "page" => ids_of(&fields, "page_issue"),
        "matching" => {
            let q: ListQuery = serde_urlencoded::from_str(list)
                .map_err(|e| WebError::BadRequest(format!("the list's search is malformed: {e}")))?;
            let mut found = list_filter(&state, &viewer, project_id, &q, unix_now()).await?;
            if let Some(error) = found.error {
                return Err(WebError::BadRequest(error));
            }
            found.filter.offset = 0;
            found.filter.limit = MATCHING_CAP;
            let (issues, _) = store::list_issues(&state.pool, &found.filter).await?;
            issues.iter().map(|i| i.id).collect()
        }
        other => return Err(WebError::BadRequest(format!("unknown scope {other:?}"))),
    };
    if ids.is_empty() {
        return Ok(see_other(&back(&base, list, "none", 0)));
    }
    if action == "merge" {
        return merge(&state, &viewer, &ids, &fields, &back(&base, list, "", 0)).await;
    }
    let command = |issue_id: i64| -> Result<IssueCommand, WebError> {
        let actor = viewer.email.clone();
        let status = |change| IssueCommand::SetStatus {
            issue_id,
            change,
            actor: actor.clone(),
        };
        Ok(match action {
            "resolve" => status(StatusChange::Resolved),
            "unresolve" => status(StatusChange::Unresolved),
            "ignore" => status(StatusChange::Ignored {
                until: None,
                count: None,
                users: None,
                window: None,
            }),
            "assign" => IssueCommand::Assign {
                issue_id,
                user_id: get("user")
                    .filter(|u| !u.is_empty())
                    .map(str::parse)
                    .transpose()
                    .map_err(|_| WebError::BadRequest("choose someone to assign the issues to".into()))?,
                actor: actor.clone(),
            },
            "delete" => IssueCommand::Delete { issue_id },
            other => return Err(WebError::BadRequest(format!("unknown bulk action {other:?}"))),
        })
    };
    // Check the action (and the assignee) before touching anything.
    if let IssueCommand::Assign { user_id: Some(id), .. } = command(ids[0])?
        && !store::all_users(&state.pool).await?.iter().any(|(uid, _)| *uid == id)
    {
        return Err(WebError::BadRequest(format!("no user {id}")));
    }
    if action == "delete" && get("confirmed") != Some("yes") {
        let n = ids.len();
        let issues = if n == 1 { "issue" } else { "issues" };
        return page(&ConfirmPage {
            chrome: Chrome::for_viewer("Delete issues?", &viewer),
            question: format!("Delete {n} {issues}?"),
            explanation: "Their events, tags and activity are deleted too. This cannot be undone; an event \
                          that arrives later starts a new issue."
                .into(),
            button: format!("Delete {n} {issues}"),
            fields: confirmed(&fields),
            back: back(&base, list, "", 0),
        });
    }
    let mut done = 0;
    for id in &ids {
        let outcome = state
            .writer
            .command(command(*id)?)
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?;
        if outcome != CommandOutcome::NotFound {
            done += 1;
        }
    }
    Ok(see_other(&back(&base, list, action, done)))
}

/// Merges the issues into the one with the most events, after asking.
async fn merge(
    state: &WebState,
    viewer: &Viewer,
    ids: &[i64],
    fields: &[(String, String)],
    back: &str,
) -> Result<HttpResponse, WebError> {
    if ids.len() > MERGE_CAP {
        return Err(WebError::BadRequest(format!(
            "merge at most {MERGE_CAP} issues at once"
        )));
    }
    let mut issues = Vec::with_capacity(ids.len());
    for id in ids {
        issues.extend(store::issue_by_id(&state.pool, *id).await?);
    }
    if issues.len() < 2 {
        return Err(WebError::BadRequest("select two or more issues to merge".into()));
    }
    if issues.iter().any(|i| i.project_id != issues[0].project_id) {
        return Err(WebError::BadRequest("only issues of one project can be merged".into()));
    }
    // The issue with the most events stays, as Sentry keeps it; the oldest wins a tie.
    let target = issues
        .iter()
        .max_by_key(|i| (i.times_seen, std::cmp::Reverse(i.id)))
        .expect("two or more issues");
    let others: Vec<String> = issues
        .iter()
        .filter(|i| i.id != target.id)
        .map(crate::api::short_id)
        .collect();
    let confirmed_now = fields.iter().any(|(k, v)| k == "confirmed" && v == "yes");
    if !confirmed_now {
        return page(&ConfirmPage {
            chrome: Chrome::for_viewer("Merge issues?", viewer),
            question: format!("Merge {} issues into {}?", issues.len(), crate::api::short_id(target)),
            explanation: format!(
                "{} and their events, counts and tags become part of {} ({}); later events of theirs \
                 land there too.",
                others.join(", "),
                crate::api::short_id(target),
                target.title
            ),
            button: format!("Merge into {}", crate::api::short_id(target)),
            fields: confirmed(fields),
            back: back.to_string(),
        });
    }
    let command = IssueCommand::Merge {
        target: target.id,
        sources: issues.iter().filter(|i| i.id != target.id).map(|i| i.id).collect(),
        actor: viewer.email.clone(),
    };
    state
        .writer
        .command(command)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(see_other(&format!("/issues/{}/", target.id)))
}

/// Issues merged at once, at most.
const MERGE_CAP: usize = 100;

/// The list a bulk form came from: `/issues/` or a project's `/projects/{slug}/issues/` (and
/// that project's id). Anything else is refused, so the redirect cannot leave the site.
async fn list_base(state: &WebState, base: &str) -> Result<(String, Option<i64>), WebError> {
    if base == "/issues/" {
        return Ok((base.to_string(), None));
    }
    let slug = base
        .strip_prefix("/projects/")
        .and_then(|rest| rest.strip_suffix("/issues/"))
        .filter(|s| !s.contains('/'))
        .ok_or_else(|| WebError::BadRequest(format!("{base:?} is not an issue list")))?;
    let project = store::project_by_slug(&state.pool, slug)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("no project {slug:?}")))?;
    Ok((base.to_string(), Some(project.id)))
}

fn ids_of(fields: &[(String, String)], name: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = fields
        .iter()
        .filter(|(k, _)| k == name)
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The list again, saying what was done (`done` empty: nothing to say).
fn back(base: &str, list: &str, done: &str, count: usize) -> String {
    let mut params: Vec<(String, String)> = serde_urlencoded::from_str(list).unwrap_or_default();
    params.retain(|(k, _)| k != "done" && k != "count");
    if !done.is_empty() {
        params.push(("done".into(), done.into()));
        params.push(("count".into(), count.to_string()));
    }
    format!("{base}?{}", serde_urlencoded::to_string(&params).unwrap_or_default())
}

/// What the list says after a bulk action.
pub fn notice(done: Option<&str>, count: Option<i64>) -> Option<String> {
    let n = count.unwrap_or(0);
    let issues = if n == 1 { "issue" } else { "issues" };
    let verb = match done? {
        "none" => {
            return Some(
                "Nothing was selected: tick issues, or choose all on this page or all matching the search.".into(),
            );
        }
        "resolve" => "Resolved",
        "unresolve" => "Unresolved",
        "ignore" => "Ignored",
        "assign" => "Assigned",
        "delete" => "Deleted",
        _ => return None,
    };
    let capped = if n >= MATCHING_CAP {
        format!(" (at most {MATCHING_CAP} at once: repeat for the rest)")
    } else {
        String::new()
    };
    Some(format!("{verb} {n} {issues}.{capped}"))
}
