//! The issue's Details tab: charts, the event view (latest by default) with its neighbours,
//! user feedback, notifications, links, and the tag sidebar.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::page;
use super::event_view::{EventView, FrameMode};
use super::issue_head::{IssueHead, issue};
use super::tags::{TagPanel, panel, search_link};
use super::{Chrome, Viewer, WebError, WebState, charts, time};
use crate::event::unix_now;
use crate::store::{self, EventOrder, IssueRecord, StoredEvent};

#[derive(Template)]
#[template(path = "issue.html")]
struct IssuePage {
    chrome: Chrome,
    head: IssueHead,
    chart_24h: String,
    chart_30d: String,
    tags: Vec<TagPanel>,
    event: Option<EventView>,
    /// How the event's issue was decided.
    why: Option<super::why::WhyView>,
    frames: String,
    /// After "Reprocess with source maps": (events rewritten, events read).
    reprocessed: Option<(usize, usize)>,
    older: Option<String>,
    newer: Option<String>,
    oldest: Option<String>,
    latest: Option<String>,
    links: Vec<store::IssueLink>,
    feedback: Vec<FeedbackRow>,
    deliveries: Vec<DeliveryRow>,
}

impl IssuePage {
    /// The project's issues with tag `key` = `value`.
    fn tag_link(&self, key: &str, value: &str) -> String {
        search_link(&self.head.issue.project_slug, key, value)
    }
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

#[derive(Deserialize)]
pub struct ViewQuery {
    frames: Option<String>,
    reprocessed: Option<usize>,
    of: Option<usize>,
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
    let (event_view, why, older, newer) = match &event {
        Some(e) => {
            crate::compression::ensure_loaded(&state.pool, &state.codec, [e.dict_id]).await;
            let (map, size) = payload(state, e)?;
            let (older, newer) = store::event_neighbours(&state.pool, e).await?;
            let rules = store::grouping_rules_of(&state.pool, issue.project_id).await?;
            let why = super::why::build(&map, &rules);
            (Some(EventView::build(&map, &e.tags, size, mode)), why, older, newer)
        }
        None => (None, None, None, None),
    };
    let (oldest, _) = store::issue_events(&state.pool, issue.id, EventOrder::OldestFirst, 0, 1).await?;
    let (latest, _) = store::issue_events(&state.pool, issue.id, EventOrder::NewestFirst, 0, 1).await?;
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
            when: time::html(f.received, now),
            event_id: f.event_id.unwrap_or_default(),
        })
        .collect();
    let links = store::issue_links(&state.pool, issue.id).await?;
    let deliveries = store::deliveries(&state.pool, issue.id)
        .await?
        .into_iter()
        .map(|(kind, r)| DeliveryRow {
            channel: kind,
            trigger: r.trigger,
            when: time::html(r.created_at, now),
            outcome: match r.state.as_str() {
                "pending" if r.attempts > 0 => format!("retrying ({} attempts)", r.attempts),
                other => other.to_string(),
            },
            error: r.last_error.unwrap_or_default(),
        })
        .collect();
    let tags = tags.iter().map(|t| panel(t, &issue, now)).collect();
    let head = IssueHead::load(state, issue, "details").await?;
    let issue_page = IssuePage {
        chrome: Chrome::for_viewer(&format!("{} {}", head.short_id, head.issue.title), &viewer),
        head,
        links,
        deliveries,
        feedback,
        chart_24h: charts::bars(
            &charts::hourly(&points, now_hour, 24),
            480,
            80,
            "events per hour, last 24 hours",
            true,
        ),
        chart_30d: charts::bars(
            &charts::daily(&points, now_hour, 30),
            480,
            80,
            "events per day, last 30 days",
            true,
        ),
        tags,
        event: event_view,
        why,
        frames: match mode {
            FrameMode::App => "app",
            FrameMode::Full => "full",
            FrameMode::Raw => "raw",
            FrameMode::Minified => "minified",
        }
        .to_string(),
        reprocessed: query.reprocessed.map(|n| (n, query.of.unwrap_or(n))),
        older,
        newer,
        oldest: oldest.first().map(|e| e.event_id.clone()),
        latest: latest.first().map(|e| e.event_id.clone()),
    };
    page(&issue_page)
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
