//! The issue's tabs besides Details, each under the issue's header: Events (a table of who,
//! where and what, optionally only those with one tag value), Tags (every key's distribution;
//! one key's values paged) and Activity (the log, and the comment box).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::error::page;
use super::issue_head::{IssueHead, issue};
use super::tags::{TagPanel, bars, panel};
use super::{Chrome, Viewer, WebError, WebState, event_view, time};
use crate::event::unix_now;
use crate::store::{self, EventOrder, ResolvedIn};

const EVENTS_PER_PAGE: i64 = 50;
/// Values per key on the Tags tab; the key's own page has them all.
const TOP_VALUES: i64 = 10;
const VALUES_PER_PAGE: i64 = 50;

pub struct EventRow {
    pub event_id: String,
    pub when: String,
    pub user: String,
    pub release: String,
    pub environment: String,
    pub browser_os: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "issue_events.html")]
struct EventsPage {
    chrome: Chrome,
    head: IssueHead,
    rows: Vec<EventRow>,
    /// `(key, value)` when only events with that tag are listed.
    tag: Option<(String, String)>,
    page: i64,
    more: bool,
    newer: String,
    older: String,
}

#[derive(Deserialize)]
pub struct EventsQuery {
    page: Option<i64>,
    tag: Option<String>,
    value: Option<String>,
}

/// `GET /issues/{id}/events/[?tag=key&value=v]`: the events, newest first.
pub async fn events(
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<EventsQuery>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let issue = issue(&state, &path).await?;
    let page_no = query.page.unwrap_or(1).max(1);
    let offset = (page_no - 1) * EVENTS_PER_PAGE;
    let tag = query.tag.clone().zip(query.value.clone());
    let (events, more) = match &tag {
        Some((k, v)) => store::issue_events_tagged(&state.pool, issue.id, k, v, offset, EVENTS_PER_PAGE).await?,
        None => store::issue_events(&state.pool, issue.id, EventOrder::NewestFirst, offset, EVENTS_PER_PAGE).await?,
    };
    crate::compression::ensure_loaded(&state.pool, &state.codec, events.iter().map(|e| e.dict_id)).await;
    let now = unix_now();
    let rows = events
        .iter()
        .map(|e| {
            let tag = |k: &str| {
                e.tags
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("")
            };
            let browser_os = [tag("browser"), tag("os")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
            // An unreadable payload still lists its event, without a message.
            let message = state
                .codec
                .decompress(&e.payload, e.dict_id)
                .ok()
                .and_then(|json| serde_json::from_slice::<serde_json::Map<String, Value>>(&json).ok())
                .map(|map| event_view::summary(&map))
                .unwrap_or_default();
            EventRow {
                event_id: e.event_id.clone(),
                when: time::html(e.timestamp, now),
                user: tag("user").to_string(),
                release: tag("release").to_string(),
                environment: tag("environment").to_string(),
                browser_os,
                message,
            }
        })
        .collect();
    let link = |n: i64| {
        let mut params = vec![("page", n.to_string())];
        if let Some((k, v)) = &tag {
            params.push(("tag", k.clone()));
            params.push(("value", v.clone()));
        }
        format!("?{}", serde_urlencoded::to_string(&params).unwrap_or_default())
    };
    let head = IssueHead::load(&state, issue, "events").await?;
    page(&EventsPage {
        chrome: Chrome::for_viewer(&format!("Events of {}", head.short_id), &viewer),
        newer: link(page_no - 1),
        older: link(page_no + 1),
        head,
        rows,
        tag,
        page: page_no,
        more,
    })
}

#[derive(Template)]
#[template(path = "issue_tags.html")]
struct TagsPage {
    chrome: Chrome,
    head: IssueHead,
    tags: Vec<TagPanel>,
    /// On one key's page: its number, and whether another follows.
    key_page: Option<(i64, bool)>,
    newer: String,
    older: String,
}

#[derive(Deserialize)]
pub struct TagsQuery {
    key: Option<String>,
    page: Option<i64>,
}

/// `GET /issues/{id}/tags/[?key=k&page=n]`: every key's distribution, or one key's values.
pub async fn tags(
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<TagsQuery>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let issue = issue(&state, &path).await?;
    let now = unix_now();
    let (tags, key_page, newer, older) = match &query.key {
        None => {
            let tags = store::issue_tags(&state.pool, issue.id, None, TOP_VALUES).await?;
            (
                tags.iter().map(|t| panel(t, &issue, now)).collect(),
                None,
                String::new(),
                String::new(),
            )
        }
        Some(key) => {
            let summary = store::issue_tags(&state.pool, issue.id, Some(key), 0).await?;
            let Some(summary) = summary.first() else {
                return Err(WebError::NotFound(format!("This issue has no tag {key:?}.")));
            };
            let page_no = query.page.unwrap_or(1).max(1);
            let (values, more) = store::issue_tag_values(
                &state.pool,
                issue.id,
                key,
                (page_no - 1) * VALUES_PER_PAGE,
                VALUES_PER_PAGE,
            )
            .await?;
            let mut one = panel(summary, &issue, now);
            one.bars = bars(&values, summary.total, &issue, now, false);
            let link = |n: i64| {
                format!(
                    "?{}",
                    serde_urlencoded::to_string([("key", key.clone()), ("page", n.to_string())]).unwrap_or_default()
                )
            };
            (vec![one], Some((page_no, more)), link(page_no - 1), link(page_no + 1))
        }
    };
    let head = IssueHead::load(&state, issue, "tags").await?;
    page(&TagsPage {
        chrome: Chrome::for_viewer(&format!("Tags of {}", head.short_id), &viewer),
        head,
        tags,
        key_page,
        newer,
        older,
    })
}

#[derive(Template)]
#[template(path = "issue_merged.html")]
struct MergedPage {
    chrome: Chrome,
    head: IssueHead,
    /// Fingerprints with their stored events.
    hashes: Vec<store::IssueHash>,
}

/// `GET /issues/{id}/merged/`: the issue's fingerprints, each to unmerge.
pub async fn merged(
    viewer: Viewer,
    path: web::Path<String>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let issue = issue(&state, &path).await?;
    let hashes = store::hashes_of(&state.pool, issue.id).await?;
    let head = IssueHead::load(&state, issue, "merged").await?;
    page(&MergedPage {
        chrome: Chrome::for_viewer(&format!("Fingerprints of {}", head.short_id), &viewer),
        head,
        hashes,
    })
}

pub struct ActivityRow {
    pub what: String,
    pub who: String,
    /// A `<time>` element.
    pub when: String,
}

#[derive(Template)]
#[template(path = "issue_activity.html")]
struct ActivityPage {
    chrome: Chrome,
    head: IssueHead,
    activity: Vec<ActivityRow>,
}

/// `GET /issues/{id}/activity/`: what happened to the issue, newest first, and comments.
pub async fn activity(
    viewer: Viewer,
    path: web::Path<String>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let issue = issue(&state, &path).await?;
    let now = unix_now();
    let users = store::all_users(&state.pool).await?;
    let activity = store::activity_of(&state.pool, issue.id)
        .await?
        .into_iter()
        .rev()
        .map(|(kind, data, actor, at)| ActivityRow {
            what: describe(&kind, &data, &users),
            who: actor.unwrap_or_else(|| "Tocsin".into()),
            when: time::html(at, now),
        })
        .collect();
    let head = IssueHead::load(&state, issue, "activity").await?;
    page(&ActivityPage {
        chrome: Chrome::for_viewer(&format!("Activity of {}", head.short_id), &viewer),
        head,
        activity,
    })
}

/// An activity entry in words; `users` name assignees by email.
fn describe(kind: &str, data: &str, users: &[(i64, String)]) -> String {
    let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    let event = data.get("event_id").and_then(Value::as_str).unwrap_or("");
    match kind {
        "first_seen" => format!("First seen (event {event})"),
        "set_regression" => format!("Regression: the resolved issue happened again (event {event})"),
        "set_resolved" => "Marked resolved".into(),
        "set_resolved_in_release" => {
            let text = |k: &str| data.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
            let resolved_in = match text("version") {
                Some(v) => ResolvedIn::Release(v.to_string()),
                None => ResolvedIn::NextRelease {
                    after: text("current_release_version").map(str::to_string),
                },
            };
            format!("Marked resolved {}", super::issue_head::resolved_in_words(&resolved_in))
        }
        "set_unresolved" => match data.get("reason").and_then(Value::as_str) {
            Some("ignore_count_reached") => format!("Unignored: the event count was reached (event {event})"),
            Some("ignore_until_expired") => "Unignored: the ignore period ended".into(),
            Some("ignore_users_reached") => format!("Unignored: the number of users was reached (event {event})"),
            Some("ignore_window_reached") => {
                format!("Unignored: it happened as often as allowed within the window (event {event})")
            }
            _ => "Marked unresolved".into(),
        },
        "set_ignored" => {
            let n = |k: &str| data.get(k).and_then(Value::as_i64);
            let mut until = Vec::new();
            if let Some(c) = n("ignore_count") {
                until.push(format!("{c} more events"));
            }
            if let Some(u) = n("ignore_users") {
                until.push(format!("{u} more users"));
            }
            if let Some(c) = n("ignore_window_count") {
                let minutes = data.get("ignore_window").and_then(Value::as_f64).unwrap_or(3600.0) / 60.0;
                until.push(format!("{c} events within {minutes:.0} minutes"));
            }
            if data.get("ignore_until").is_some_and(|v| !v.is_null()) {
                until.push("a time".into());
            }
            if until.is_empty() {
                "Ignored".into()
            } else {
                format!("Ignored until {}", until.join(" or "))
            }
        }
        "assigned" => {
            let to = data
                .get("assignee_id")
                .and_then(Value::as_i64)
                .and_then(|id| users.iter().find(|(uid, _)| *uid == id))
                .map(|(_, email)| email.as_str())
                .or_else(|| data.get("email").and_then(Value::as_str));
            match to {
                Some(email) => format!("Assigned to {email}"),
                None => "Assigned".into(),
            }
        }
        "unassigned" => "Unassigned".into(),
        "unmerge" => match (data.get("into"), data.get("from")) {
            (Some(into), _) => format!(
                "Unmerged fingerprint {} with {} events into {}",
                data.get("hash").and_then(Value::as_str).unwrap_or(""),
                data.get("events").and_then(Value::as_i64).unwrap_or(0),
                into.as_str().unwrap_or("")
            ),
            (_, Some(from)) => format!("Split off {} by unmerging", from.as_str().unwrap_or("")),
            _ => "Unmerged".into(),
        },
        "merge" => {
            let merged: Vec<&str> = data
                .get("merged")
                .and_then(Value::as_array)
                .map(|m| m.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!("Merged {} into this issue", merged.join(", "))
        }
        "linked" => format!(
            "Linked {}",
            data.get("label").and_then(Value::as_str).unwrap_or("an external issue")
        ),
        "note" => format!("Commented: {}", data.get("text").and_then(Value::as_str).unwrap_or("")),
        other => other.to_string(),
    }
}
