//! JSON shapes of the API, following Sentry's field names so tools written for Sentry work.

use serde_json::{Map, Value, json};

use super::ApiError;
use crate::event::format_rfc3339;
use crate::store::{IssueRecord, ResolvedIn, StoredEvent, TagSummary};

/// `DEFAULT-3`.
pub fn short_id(issue: &IssueRecord) -> String {
    format!("{}-{}", issue.project_slug.to_ascii_uppercase(), issue.short_number)
}

pub fn issue_json(issue: &IssueRecord, public_url: &str, now: f64) -> Value {
    let status = issue.effective_status(now);
    let status_details = if status == "ignored" {
        // Sentry's shape: a windowed count is ignoreCount with ignoreWindow in minutes.
        let (count, window) = match issue.ignore_window {
            Some((n, seconds)) => (Some(n), Some((seconds / 60.0).round() as i64)),
            None => (issue.ignore_count, None),
        };
        json!({
            "ignoreUntil": issue.ignore_until.map(format_rfc3339),
            "ignoreCount": count,
            "ignoreWindow": window,
            "ignoreUserCount": issue.ignore_users,
            "actor": null,
        })
    } else if let (Some(r), "resolved") = (&issue.resolved_in, status) {
        resolved_in_json(r)
    } else {
        json!({})
    };
    json!({
        "id": issue.id.to_string(),
        "shortId": short_id(issue),
        "title": issue.title,
        "culprit": issue.culprit,
        "level": issue.level,
        "status": status,
        "statusDetails": status_details,
        "type": if issue.ty.is_some() { "error" } else { "default" },
        "platform": issue.platform,
        "count": issue.times_seen.to_string(),
        "userCount": issue.users_seen,
        "firstSeen": format_rfc3339(issue.first_seen),
        "lastSeen": format_rfc3339(issue.last_seen),
        "metadata": { "type": issue.ty, "value": issue.value, "title": issue.title },
        "project": { "id": issue.project_id.to_string(), "slug": issue.project_slug, "name": issue.project_name },
        "permalink": format!("{public_url}/issues/{}/", issue.id),
        "firstRelease": issue.first_release.as_ref().map(|v| json!({ "version": v })),
        "lastRelease": issue.last_release.as_ref().map(|v| json!({ "version": v })),
        "numComments": 0,
        "isBookmarked": false,
        "isPublic": false,
        "hasSeen": false,
        "assignedTo": match (issue.assignee_id, &issue.assignee_email) {
            (Some(id), Some(email)) => json!({ "type": "user", "id": id.to_string(), "email": email, "name": email }),
            _ => Value::Null,
        },

        "annotations": [],
    })
}

/// Sentry's `statusDetails` of an issue resolved in a release.
pub fn resolved_in_json(resolved_in: &ResolvedIn) -> Value {
    match resolved_in {
        ResolvedIn::NextRelease { .. } => json!({ "inNextRelease": true, "actor": null }),
        ResolvedIn::Release(version) => json!({ "inRelease": version, "actor": null }),
    }
}

/// A stored event: the normalised payload with Sentry's ids and dates added, and `tags` as
/// Sentry lists them (`[{key, value}]`, built-in tags included).
pub fn event_json(stored: &StoredEvent, codec: &crate::event::codec::Codec) -> Result<Value, ApiError> {
    let id = &stored.event_id;
    let json = codec
        .decompress(&stored.payload, stored.dict_id)
        .map_err(|e| ApiError::Internal(format!("stored payload of event {id} is unreadable: {e}")))?;
    let mut event: Map<String, Value> = serde_json::from_slice(&json)
        .map_err(|e| ApiError::Internal(format!("stored payload of event {id} is not JSON: {e}")))?;
    let date_created = event
        .get("timestamp")
        .and_then(Value::as_f64)
        .unwrap_or(stored.received);
    let extra = [
        ("id", Value::String(id.clone())),
        ("eventID", Value::String(id.clone())),
        ("projectID", Value::String(stored.project_id.to_string())),
        (
            "groupID",
            stored.issue_id.map_or(Value::Null, |i| Value::String(i.to_string())),
        ),
        ("dateCreated", Value::String(format_rfc3339(date_created))),
        ("dateReceived", Value::String(format_rfc3339(stored.received))),
    ];
    for (key, value) in extra {
        event.insert(key.to_string(), value);
    }
    let tags: Vec<Value> = stored
        .tags
        .iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect();
    event.insert("tags".into(), Value::Array(tags));
    Ok(Value::Object(event))
}

pub fn tag_json(tag: &TagSummary) -> Value {
    json!({
        "key": tag.key,
        "name": tag.key,
        "totalValues": tag.total,
        "uniqueValues": tag.distinct,
        "topValues": tag.top.iter().map(|v| json!({
            "key": v.key,
            "name": v.value,
            "value": v.value,
            "count": v.count,
            "firstSeen": format_rfc3339(v.first_seen),
            "lastSeen": format_rfc3339(v.last_seen),
        })).collect::<Vec<_>>(),
    })
}
