//! What a notification says, whatever carries it.

use serde_json::Value;

use crate::store::DueItem;

/// The content of one notification.
#[derive(Debug, Clone)]
pub struct Message {
    pub subject: String,
    /// `New issue`, `Regression`, …
    pub headline: String,
    pub title: String,
    pub link: String,
    pub short_id: String,
    pub project: String,
    pub culprit: String,
    pub environment: String,
    pub release: String,
    pub level: String,
    pub events: String,
    /// Distinct users the issue affected (empty when it has none, and for summaries and tests).
    pub users: String,
    /// `2026-11-25 01:02:03 UTC`, empty for summaries and tests.
    pub first_seen: String,
    pub last_seen: String,
    pub frames: Vec<String>,
    pub trigger: String,
    /// For an issue: the page that offers to ignore it (`…/mute?minutes=`), which needs
    /// sign-in and a confirming POST: a link in an email must not change anything by itself.
    pub mute: Option<String>,
}

impl Message {
    pub fn build(item: &DueItem, public_url: &str) -> Message {
        let p: Value = serde_json::from_str(&item.payload).unwrap_or(Value::Null);
        let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let project = item.project_slug.clone();
        let short_id = item
            .short_number
            .map(|n| format!("{}-{n}", project.to_ascii_uppercase()))
            .unwrap_or_default();
        let mute = item.issue_id.map(|id| format!("{public_url}/issues/{id}/mute"));
        let link = match item.issue_id {
            Some(id) => format!("{public_url}/issues/{id}/"),
            None => format!("{public_url}/projects/{project}/issues/"),
        };
        let (headline, title) = match item.trigger.as_str() {
            "new" => ("New issue".to_string(), text("title")),
            "regression" => ("Regression".to_string(), text("title")),
            "unignored" => ("Ignored issue is back".to_string(), text("title")),
            "frequency" => ("Issue is frequent".to_string(), text("title")),
            "users" => ("Issue affects many users".to_string(), text("title")),
            "summary" => {
                let n = p.get("suppressed").and_then(Value::as_i64).unwrap_or(0);
                (
                    "Too many alerts".to_string(),
                    format!("{n} more new issues in {project}"),
                )
            }
            _ => (
                "Test notification".to_string(),
                format!("Tocsin can reach this channel for {project}"),
            ),
        };
        Message {
            subject: format!("[{}] {title}", project.to_ascii_uppercase()),
            headline,
            title,
            link,
            short_id,
            culprit: text("culprit"),
            environment: text("environment"),
            release: text("release"),
            level: text("level"),
            events: item.times_seen.map(|n| n.to_string()).unwrap_or_default(),
            users: item
                .users_seen
                .filter(|n| *n > 0)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            first_seen: item.first_seen.map(time_text).unwrap_or_default(),
            last_seen: item.last_seen.map(time_text).unwrap_or_default(),
            frames: p
                .get("frames")
                .and_then(Value::as_array)
                .map(|f| f.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
            trigger: item.trigger.clone(),
            mute,
            project,
        }
    }
}

fn time_text(secs: f64) -> String {
    let s = crate::event::format_rfc3339(secs);
    let (date, rest) = s.split_once('T').unwrap_or((&s, ""));
    format!("{date} {} UTC", rest.split(['.', 'Z']).next().unwrap_or(rest))
}
