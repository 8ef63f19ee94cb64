//! What every tab of an issue shows above its content (title, level, culprit, short id,
//! project, status and what ends an ignore, counters, first and last seen, the triage actions)
//! and the tabs themselves, so that Events, Tags and Activity keep the issue in view.

use super::{WebError, WebState, time};
use crate::event::unix_now;
use crate::store::{self, IssueRecord, ResolvedIn};

pub struct IssueHead {
    pub issue: IssueRecord,
    pub short_id: String,
    pub status: String,
    /// Why an ignored issue stays ignored, and until when.
    pub ignored: Option<String>,
    /// Which release a resolved issue was resolved in.
    pub resolved_in: Option<String>,
    /// The project's releases, newest first, for "resolve in release …" (unresolved only).
    pub releases: Vec<String>,
    /// Events still stored (retention thins them; `times_seen` keeps counting).
    pub events_stored: i64,
    /// Everyone an issue can be assigned to: (user id, email).
    pub users: Vec<(i64, String)>,
    /// `details`, `events`, `tags` or `activity`.
    pub tab: &'static str,
    /// `<time>` elements.
    pub first_seen: String,
    pub last_seen: String,
}

impl IssueHead {
    pub async fn load(state: &WebState, issue: IssueRecord, tab: &'static str) -> Result<IssueHead, WebError> {
        let now = unix_now();
        let status = issue.effective_status(now).to_string();
        let ignored = (status == "ignored").then(|| ignore_terms(&issue, now));
        let resolved_in = match (&issue.resolved_in, status.as_str()) {
            (Some(r), "resolved") => Some(format!("Resolved {}", resolved_in_words(r))),
            _ => None,
        };
        // Read only where the choice is offered: the list costs a pass over the project's
        // release tags.
        let releases = if status == "unresolved" {
            let mut releases = store::project_releases(&state.pool, issue.project_id).await?;
            store::order_releases(&mut releases, |r| r.version.as_str(), |r| r.date_created);
            releases.into_iter().rev().map(|r| r.version).collect()
        } else {
            Vec::new()
        };
        Ok(IssueHead {
            short_id: crate::api::short_id(&issue),
            events_stored: store::stored_events_of_issue(&state.pool, issue.id).await?,
            users: store::all_users(&state.pool).await?,
            first_seen: time::html(issue.first_seen, now),
            last_seen: time::html(issue.last_seen, now),
            status,
            ignored,
            resolved_in,
            releases,
            tab,
            issue,
        })
    }
}

impl IssueHead {
    /// The release's page in the issue's project.
    pub fn release_link(&self, version: &str) -> String {
        format!(
            "/projects/{}/releases/{}/",
            self.issue.project_slug,
            super::releases::segment(version)
        )
    }
}

/// "Ignored until 2026-11-27 10:00:00 UTC (in 5 hours)", "Ignored until 5 more events or 2 more
/// users, whichever comes first", or "Ignored forever…".
fn ignore_terms(issue: &IssueRecord, now: f64) -> String {
    let mut terms = Vec::new();
    if let Some(until) = issue.ignore_until {
        terms.push(format!("{} ({})", time::exact(until), time::ahead(until, now)));
    }
    let plural = |n: i64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    if let Some(count) = issue.ignore_count {
        let left = (issue.ignore_baseline.unwrap_or(issue.times_seen) + count - issue.times_seen).max(0);
        terms.push(plural(left, "more event"));
    }
    if let Some(users) = issue.ignore_users {
        let left = (issue.ignore_users_baseline.unwrap_or(issue.users_seen) + users - issue.users_seen).max(0);
        terms.push(plural(left, "more user"));
    }
    if let Some((count, seconds)) = issue.ignore_window {
        let within = if seconds == 3600.0 {
            "an hour".to_string()
        } else {
            format!("{} minutes", (seconds / 60.0).round())
        };
        terms.push(format!("{} within {within}", plural(count, "event")));
    }
    match terms.len() {
        0 => "Ignored forever, until someone unignores it".to_string(),
        1 => format!("Ignored until {}", terms[0]),
        _ => format!("Ignored until {}, whichever comes first", terms.join(" or ")),
    }
}

/// "in next release (after shop@1.2)" or "in release shop@1.3", as the header ("Resolved …")
/// and the activity ("Marked resolved …") say it.
pub fn resolved_in_words(resolved_in: &ResolvedIn) -> String {
    match resolved_in {
        ResolvedIn::NextRelease { after: Some(v) } => format!("in next release (after {v})"),
        ResolvedIn::NextRelease { after: None } => "in next release (the project had no release yet)".into(),
        ResolvedIn::Release(v) => format!("in release {v}"),
    }
}

/// The issue a path names by its id or its short id (`/issues/DEFAULT-12/`).
pub async fn issue(state: &WebState, raw: &str) -> Result<IssueRecord, WebError> {
    let not_found = || WebError::NotFound(format!("There is no issue {raw:?}."));
    let found = match raw.parse::<i64>() {
        Ok(id) => store::issue_by_id(&state.pool, id).await?,
        Err(_) => super::issues::issue_by_reference(state, raw).await?,
    };
    found.ok_or_else(not_found)
}
