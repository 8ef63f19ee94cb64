//! Grouping you can inspect: the hashes an issue owns (`/issues/{id}/hashes/`, as Sentry's API
//! lists them) and how one event was grouped (`…/events/{event_id}/grouping-info/`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::require_token;
use super::issues::resolve;
use super::shapes::event_json;
use super::{ApiError, ApiState};
use crate::store;

/// `GET /api/0/issues/{id}/hashes/`: each fingerprint of the issue with its grouping config,
/// how many stored events have it, and the newest of them.
pub async fn hashes(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let issue = resolve(&req, &state).await?;
    let mut out = Vec::new();
    for h in store::hashes_of(&state.pool, issue.id).await? {
        let latest = match store::latest_event_of_hash(&state.pool, issue.id, &h.hash).await? {
            Some(event) => {
                crate::compression::ensure_loaded(&state.pool, &state.codec, [event.dict_id]).await;
                event_json(&event, &state.codec)?
            }
            None => Value::Null,
        };
        out.push(json!({
            "id": h.hash,
            "config": h.config,
            "storedEvents": h.events,
            "latestEvent": latest,
            "mergedBySeer": false,
        }));
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /api/0/projects/{org}/{project}/events/{event_id}/grouping-info/`: how the event was
/// grouped, variant by variant (Sentry's shape: keyed by variant, each with its hash, whether
/// it contributes and why, and the component tree or fingerprint values).
pub async fn grouping_info(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let slug = req.match_info().get("project_slug").unwrap_or_default();
    let event_id = req.match_info().get("event_id").unwrap_or_default();
    let project = store::project_by_slug(&state.pool, slug)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("project {slug:?} not found")))?;
    let stored = store::event_by_id(&state.pool, project.id, &event_id.replace('-', "").to_ascii_lowercase())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("event {event_id:?} not found")))?;
    crate::compression::ensure_loaded(&state.pool, &state.codec, [stored.dict_id]).await;
    let json = state
        .codec
        .decompress(&stored.payload, stored.dict_id)
        .map_err(|e| ApiError::Internal(format!("event {event_id} is unreadable: {e}")))?;
    let event: crate::event::Event = serde_json::from_slice(&json)
        .map_err(|e| ApiError::Internal(format!("event {event_id} is not an event: {e}")))?;
    let rules = store::grouping_rules_of(&state.pool, project.id).await?;
    let mut out = serde_json::Map::new();
    for v in crate::grouping::variants(&event, &rules) {
        let mut body = serde_json::to_value(&v).map_err(|e| ApiError::Internal(e.to_string()))?;
        body["config"] = json!({"id": crate::grouping::CURRENT_CONFIG});
        body["type"] = json!(if v.component.is_some() { "component" } else { v.key });
        out.insert(v.key.to_string(), body);
    }
    Ok(HttpResponse::Ok().json(Value::Object(out)))
}
