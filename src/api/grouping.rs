//! Grouping you can inspect: the hashes an issue owns (`/issues/{id}/hashes/`, as Sentry's API
//! lists them).

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
