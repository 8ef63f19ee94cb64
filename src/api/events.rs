//! `GET /api/0/projects/{org}/{project_slug}/events/{event_id}/`

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::auth::require_token;
use super::{ApiError, ApiState};
use crate::event::EventId;
use crate::store;

/// The stored normalised event, with Sentry's `id`/`eventID`/`projectID` and dates added.
pub async fn event_detail(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let (org, project_slug, event_id) = path.into_inner();
    if org != state.org {
        return Err(ApiError::NotFound(format!(
            "organization {org:?} not found"
        )));
    }
    let project = store::project_by_slug(&state.pool, &project_slug)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("project {project_slug:?} not found")))?;
    let not_found = || {
        ApiError::NotFound(format!(
            "event {event_id:?} not found in project {project_slug:?}"
        ))
    };
    let id = EventId::parse(&event_id).ok_or_else(not_found)?;
    let stored = store::event_by_id(&state.pool, project.id, &id.to_string())
        .await?
        .ok_or_else(not_found)?;
    let json = zstd::bulk::decompress(&stored.payload, 64 * 1024 * 1024).map_err(|e| {
        ApiError::Internal(format!("stored payload of event {id} is unreadable: {e}"))
    })?;
    let mut event: serde_json::Map<String, Value> = serde_json::from_slice(&json).map_err(|e| {
        ApiError::Internal(format!("stored payload of event {id} is not JSON: {e}"))
    })?;
    let date_created = event
        .get("timestamp")
        .and_then(Value::as_f64)
        .unwrap_or(stored.received);
    let extra = [
        ("id", Value::String(stored.event_id.clone())),
        ("eventID", Value::String(stored.event_id)),
        ("projectID", Value::String(stored.project_id.to_string())),
        (
            "dateCreated",
            Value::String(crate::event::format_rfc3339(date_created)),
        ),
        (
            "dateReceived",
            Value::String(crate::event::format_rfc3339(stored.received)),
        ),
    ];
    for (key, value) in extra {
        event.insert(key.to_string(), value);
    }
    Ok(HttpResponse::Ok().json(event))
}
