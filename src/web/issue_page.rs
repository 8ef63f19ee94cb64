//! The issue page: header, counters, status actions, charts, tag distribution, the event view
//! (latest by default), the events list, and the activity log.

use super::form::Form;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{page, see_other};
use super::event_view::{EventView, FrameMode};
use super::{Chrome, Viewer, WebError, WebState, charts, time};
use crate::event::unix_now;
use crate::store::{self, EventOrder, IssueCommand, IssueRecord, StatusChange, StoredEvent, TagSummary};

pub struct TagBar {
    pub value: String,
    pub percent: u32,
}

pub struct TagPanel {
    pub key: String,
    pub bars: Vec<TagBar>,
}

pub struct ActivityRow {
    pub what: String,
    pub who: String,
    pub when: String,
    pub when_exact: String,
}

#[derive(Template)]
#[template(path = "issue.html")]
struct IssuePage {
    chrome: Chrome,
    issue: IssueRecord,
    short_id: String,
    status: String,
    first_seen: String,
    first_seen_exact: String,
    last_seen: String,
    last_seen_exact: String,
    chart_24h: String,
    chart_30d: String,
    tags: Vec<TagPanel>,
    activity: Vec<ActivityRow>,
    event: Option<EventView>,
    frames: String,
    older: Option<String>,
    newer: Option<String>,
    oldest: Option<String>,
    latest: Option<String>,
    users: Vec<(i64, String)>,
    links: Vec<store::IssueLink>,
    feedback: Vec<FeedbackRow>,
    deliveries: Vec<DeliveryRow>,
    /// Events still stored (retention thins them; `times_seen` keeps counting).
    events_stored: i64,
}

/// One notification about the issue: channel, trigger, when, outcome.
pub struct DeliveryRow {
    pub channel: String,
    pub trigger: String,
    pub when: String,
    pub outcome: String,
    pub error: String,
}

pub struct FeedbackRow {
    pub who: String,
    pub comments: String,
    pub when: String,
    pub event_id: String,
}

#[derive(Template)]
#[template(path = "issue_events.html")]
struct EventsPage {
    chrome: Chrome,
    issue: IssueRecord,
    short_id: String,
    rows: Vec<(String, String, String)>,
    page: i64,
    more: bool,
}

#[derive(Template)]
#[template(path = "issue_tags.html")]
struct TagsPage {
    chrome: Chrome,
    issue: IssueRecord,
    short_id: String,
    tags: Vec<TagPanel>,
}

/// Every value of every tag key can be this many; more is a cardinality problem, not a page.
const ALL_VALUES: i64 = 1_000;

/// `GET /issues/{id}/tags/`: all values per key.
pub async fn tags(
    viewer: Viewer,
    path: web::Path<String>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let issue = issue(&state, &path).await?;
    let tags = store::issue_tags(&state.pool, issue.id, None, ALL_VALUES).await?;
    let short_id = crate::api::short_id(&issue);
    page(&TagsPage {
        chrome: Chrome::for_viewer(&format!("Tags of {short_id}"), &viewer),
        short_id,
        tags: tags.iter().map(panel).collect(),
        issue,
    })
}

#[derive(Deserialize)]
pub struct ViewQuery {
    frames: Option<String>,
    page: Option<i64>,
}

/// The issue a path names by its id or its short id (`/issues/DEFAULT-12/`).
async fn issue(state: &WebState, raw: &str) -> Result<IssueRecord, WebError> {
    let not_found = || WebError::NotFound(format!("There is no issue {raw:?}."));
    let found = match raw.parse::<i64>() {
        Ok(id) => store::issue_by_id(&state.pool, id).await?,
        Err(_) => super::issues::issue_by_reference(state, raw).await?,
    };
    found.ok_or_else(not_found)
}

/// `GET /issues/{id}/`: the latest event.
pub async fn show(
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<ViewQuery>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let issue = issue(&state, &path).await?;
    let (latest, _) = store::issue_events(&state.pool, issue.id, EventOrder::NewestFirst, 0, 1).await?;
    render(viewer, &state, issue, latest.into_iter().next(), &query).await
}

/// `GET /issues/{id}/events/{event_id}/`: one event inside its issue.
pub async fn show_event(
    viewer: Viewer,
    path: web::Path<(String, String)>,
    query: web::Query<ViewQuery>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let (raw_id, event_id) = path.into_inner();
    let issue = issue(&state, &raw_id).await?;
    let event = event_of(&state, &issue, &event_id).await?;
    render(viewer, &state, issue, Some(event), &query).await
}

async fn event_of(state: &WebState, issue: &IssueRecord, event_id: &str) -> Result<StoredEvent, WebError> {
    store::event_by_id(&state.pool, issue.project_id, event_id)
        .await?
        .filter(|e| e.issue_id == Some(issue.id))
        .ok_or_else(|| WebError::NotFound(format!("Issue {} has no event {event_id:?}.", issue.id)))
}

fn payload(state: &WebState, event: &StoredEvent) -> Result<(Map<String, Value>, usize), WebError> {
    let json = state
        .codec
        .decompress(&event.payload, event.dict_id)
        .map_err(|e| WebError::Internal(format!("event {} is unreadable: {e}", event.event_id)))?;
    let size = json.len();
    let map = serde_json::from_slice(&json)
        .map_err(|e| WebError::Internal(format!("event {} is not JSON: {e}", event.event_id)))?;
    Ok((map, size))
}

async fn render(
    viewer: Viewer,
    state: &WebState,
    issue: IssueRecord,
    event: Option<StoredEvent>,
    query: &ViewQuery,
) -> Result<HttpResponse, WebError> {
    let now = unix_now();
    let now_hour = (now / 3600.0).floor() as i64;
    let hourly = store::hourly_counts(&state.pool, &[issue.id], now_hour - 30 * 24).await?;
    let points = hourly.get(&issue.id).cloned().unwrap_or_default();
    let tags = store::issue_tags(&state.pool, issue.id, None, 3).await?;
    let mode = FrameMode::parse(query.frames.as_deref());
    let (event_view, older, newer) = match &event {
        Some(e) => {
            crate::compression::ensure_loaded(&state.pool, &state.codec, [e.dict_id]).await;
            let (map, size) = payload(state, e)?;
            let (older, newer) = store::event_neighbours(&state.pool, e).await?;
            (Some(EventView::build(&map, &e.tags, size, mode)), older, newer)
        }
        None => (None, None, None),
    };
    let (oldest, _) = store::issue_events(&state.pool, issue.id, EventOrder::OldestFirst, 0, 1).await?;
    let (latest, _) = store::issue_events(&state.pool, issue.id, EventOrder::NewestFirst, 0, 1).await?;
    let activity = store::activity_of(&state.pool, issue.id)
        .await?
        .into_iter()
        .rev()
        .map(|(kind, data, actor, at)| ActivityRow {
            what: describe(&kind, &data),
            who: actor.unwrap_or_else(|| "Tocsin".into()),
            when: time::relative(at, now),
            when_exact: time::exact(at),
        })
        .collect();
    let feedback = store::issue_feedback(&state.pool, issue.id)
        .await?
        .into_iter()
        .map(|f| FeedbackRow {
            who: match (f.name, f.email) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                (Some(n), None) => n,
                (None, Some(e)) => e,
                (None, None) => "anonymous".into(),
            },
            comments: f.comments,
            when: time::relative(f.received, now),
            event_id: f.event_id.unwrap_or_default(),
        })
        .collect();
    let short_id = crate::api::short_id(&issue);
    let issue_page = IssuePage {
        events_stored: store::stored_events_of_issue(&state.pool, issue.id).await?,
        deliveries: store::deliveries(&state.pool, issue.id)
            .await?
            .into_iter()
            .map(|(kind, r)| DeliveryRow {
                channel: kind,
                trigger: r.trigger,
                when: time::relative(r.created_at, now),
                outcome: match r.state.as_str() {
                    "pending" if r.attempts > 0 => format!("retrying ({} attempts)", r.attempts),
                    other => other.to_string(),
                },
                error: r.last_error.unwrap_or_default(),
            })
            .collect(),
        users: store::all_users(&state.pool).await?,
        links: store::issue_links(&state.pool, issue.id).await?,
        feedback,
        chrome: Chrome::for_viewer(&format!("{short_id} {}", issue.title), &viewer),
        short_id,
        status: issue.effective_status(now).to_string(),
        first_seen: time::relative(issue.first_seen, now),
        first_seen_exact: time::exact(issue.first_seen),
        last_seen: time::relative(issue.last_seen, now),
        last_seen_exact: time::exact(issue.last_seen),
        chart_24h: charts::bars(
            &charts::hourly(&points, now_hour, 24),
            480,
            60,
            "events per hour, last 24 hours",
        ),
        chart_30d: charts::bars(
            &charts::daily(&points, now_hour, 30),
            480,
            60,
            "events per day, last 30 days",
        ),
        tags: tags.iter().map(panel).collect(),
        activity,
        event: event_view,
        frames: match mode {
            FrameMode::App => "app",
            FrameMode::Full => "full",
            FrameMode::Raw => "raw",
        }
        .to_string(),
        older,
        newer,
        oldest: oldest.first().map(|e| e.event_id.clone()),
        latest: latest.first().map(|e| e.event_id.clone()),
        issue,
    };
    page(&issue_page)
}

fn panel(tag: &TagSummary) -> TagPanel {
    let total = tag.total.max(1) as f64;
    TagPanel {
        key: tag.key.clone(),
        bars: tag
            .top
            .iter()
            .map(|v| TagBar {
                value: v.value.clone(),
                percent: (v.count as f64 * 100.0 / total).round() as u32,
            })
            .collect(),
    }
}

fn describe(kind: &str, data: &str) -> String {
    let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    let event = data.get("event_id").and_then(Value::as_str).unwrap_or("");
    match kind {
        "first_seen" => format!("First seen (event {event})"),
        "set_regression" => format!("Regression: the resolved issue happened again (event {event})"),
        "set_resolved" => "Marked resolved".into(),
        "set_unresolved" => match data.get("reason").and_then(Value::as_str) {
            Some("ignore_count_reached") => format!("Unignored: the event count was reached (event {event})"),
            Some("ignore_until_expired") => "Unignored: the ignore period ended".into(),
            _ => "Marked unresolved".into(),
        },
        "set_ignored" => "Ignored".into(),
        "assigned" => "Assigned".into(),
        "unassigned" => "Unassigned".into(),
        "linked" => format!(
            "Linked {}",
            data.get("label").and_then(Value::as_str).unwrap_or("an external issue")
        ),
        "note" => format!("Commented: {}", data.get("text").and_then(Value::as_str).unwrap_or("")),
        other => other.to_string(),
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    csrf: String,
    status: String,
    /// Minutes, for "ignore for …".
    ignore_minutes: Option<String>,
    /// Events, for "ignore until N more …".
    ignore_count: Option<String>,
}

/// `POST /issues/{id}/status`: resolve, unresolve, or ignore (optionally with a condition).
pub async fn set_status(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<StatusForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let issue = issue(&state, &path).await?;
    let number = |v: &Option<String>| {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse::<i64>().ok())
    };
    let change = match form.status.as_str() {
        "resolved" => StatusChange::Resolved,
        "unresolved" => StatusChange::Unresolved,
        "ignored" => StatusChange::Ignored {
            until: number(&form.ignore_minutes)
                .filter(|m| *m > 0)
                .map(|m| unix_now() + m as f64 * 60.0),
            count: number(&form.ignore_count).filter(|c| *c > 0),
        },
        other => return Err(WebError::BadRequest(format!("unknown status {other:?}"))),
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

/// `GET /issues/{id}/events/`: every event, newest first.
pub async fn events(
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<ViewQuery>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let issue = issue(&state, &path).await?;
    let page_no = query.page.unwrap_or(1).max(1);
    let (events, more) =
        store::issue_events(&state.pool, issue.id, EventOrder::NewestFirst, (page_no - 1) * 50, 50).await?;
    let now = unix_now();
    let rows = events
        .iter()
        .map(|e| {
            (
                e.event_id.clone(),
                time::relative(e.timestamp, now),
                time::exact(e.timestamp),
            )
        })
        .collect();
    let short_id = crate::api::short_id(&issue);
    page(&EventsPage {
        chrome: Chrome::for_viewer(&format!("Events of {short_id}"), &viewer),
        short_id,
        issue,
        rows,
        page: page_no,
        more,
    })
}

/// `GET /issues/{id}/events/{event_id}/json`: the stored event as JSON.
pub async fn event_json(
    _viewer: Viewer,
    path: web::Path<(String, String)>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let (raw_id, event_id) = path.into_inner();
    let issue = issue(&state, &raw_id).await?;
    let event = event_of(&state, &issue, &event_id).await?;
    crate::compression::ensure_loaded(&state.pool, &state.codec, [event.dict_id]).await;
    let (map, _) = payload(&state, &event)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(serde_json::to_string_pretty(&map).unwrap_or_default()))
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
    Ok(see_other(&format!("/issues/{}/#activity", issue.id)))
}

async fn command(state: &WebState, cmd: IssueCommand) -> Result<(), WebError> {
    match state
        .writer
        .command(cmd)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
    {
        store::CommandOutcome::Done => Ok(()),
        store::CommandOutcome::NotFound => Err(WebError::NotFound("The issue is gone.".into())),
    }
}
