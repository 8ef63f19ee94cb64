//! `GET /api/0/projects/{org}/{project_slug}/events/{event_id}/`

use actix_web::{HttpRequest, HttpResponse, web};

use super::auth::require_token;
use super::shapes::event_json;
use super::{ApiError, ApiState};
use crate::event::EventId;
use crate::store;

/// One stored event of a project.
pub async fn event_detail(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let (org, project_slug, event_id) = path.into_inner();
    state.check_org(&org)?;
    let project = store::project_by_slug(&state.pool, &project_slug)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("project {project_slug:?} not found")))?;
    let not_found = || ApiError::NotFound(format!("event {event_id:?} not found in project {project_slug:?}"));
    let id = EventId::parse(&event_id).ok_or_else(not_found)?;
    let stored = store::event_by_id(&state.pool, project.id, &id.to_string())
        .await?
        .ok_or_else(not_found)?;
    crate::compression::ensure_loaded(&state.pool, &state.codec, [stored.dict_id]).await;
    Ok(HttpResponse::Ok().json(event_json(&stored, &state.codec)?))
}
