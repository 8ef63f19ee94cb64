//! User feedback items: the legacy `user_report` (`{event_id, name, email, comments}`) and the
//! current `feedback` (an event whose `contexts.feedback` holds `message`, `contact_email`, `name`
//! and `associated_event_id`).

use serde_json::Value;

use super::IngestError;
use crate::event::{EventId, unix_now};
use crate::store::FeedbackRow;

/// Longest comment kept, in characters; feedback forms are short.
const MAX_COMMENTS: usize = 4096;

pub fn parse(
    ty: &str,
    payload: &[u8],
    project_id: i64,
    envelope_event_id: Option<EventId>,
) -> Result<FeedbackRow, IngestError> {
    let bad = |why: &str| IngestError::BadEvent(format!("invalid {ty} item: {why}"));
    let value: Value = serde_json::from_slice(payload).map_err(|e| bad(&e.to_string()))?;
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (event, name, email, comments) = if ty == "user_report" {
        (
            text(value.get("event_id")),
            text(value.get("name")),
            text(value.get("email")),
            text(value.get("comments")),
        )
    } else {
        let fb = value
            .get("contexts")
            .and_then(|c| c.get("feedback"))
            .ok_or_else(|| bad("no contexts.feedback"))?;
        (
            text(fb.get("associated_event_id")),
            text(fb.get("name")),
            text(fb.get("contact_email")),
            text(fb.get("message")),
        )
    };
    let comments = comments.ok_or_else(|| bad("no comments"))?;
    let event_id = match event {
        Some(raw) => Some(EventId::parse(&raw).ok_or_else(|| bad(&format!("event id {raw:?} is not a UUID")))?),
        // A user_report rides in the envelope of the event it is about.
        None if ty == "user_report" => envelope_event_id,
        None => None,
    };
    Ok(FeedbackRow {
        project_id,
        event_id: event_id.map(|id| id.to_string()),
        name,
        email,
        comments: comments.chars().take(MAX_COMMENTS).collect(),
        received: unix_now(),
    })
}
