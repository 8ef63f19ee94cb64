//! An issue's events, tags and activity.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::require_token;
use super::issues::resolve;
use super::pagination::{Page, query_pairs};
use super::shapes::{event_json, tag_json};
use super::{ApiError, ApiState};
use crate::event::format_rfc3339;
use crate::store::{self, EventOrder};

/// How many values `/tags/` lists per key.
const TOP_VALUES: i64 = 10;

/// `GET /api/0/issues/{id}/events/`, newest first, paginated.
pub async fn list(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let issue = resolve(&req, &state).await?;
    let params = query_pairs(&req);
    let page = Page::from_query(&params)?;
    let (events, more) =
        store::issue_events(&state.pool, issue.id, EventOrder::NewestFirst, page.offset, page.limit).await?;
    crate::compression::ensure_loaded(&state.pool, &state.codec, events.iter().map(|e| e.dict_id)).await;
    let body = events
        .iter()
        .map(|e| event_json(e, &state.codec))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok()
        .insert_header(("Link", page.link_header(&req, &state.public_url, &params, more)))
        .json(body))
}

/// `GET /api/0/issues/{id}/events/latest/` and `/oldest/`.
pub async fn one(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let issue = resolve(&req, &state).await?;
    let order = match req.match_info().get("which") {
        Some("latest") => EventOrder::NewestFirst,
        Some("oldest") => EventOrder::OldestFirst,
        other => {
            return Err(ApiError::NotFound(format!(
                "no such event selector {:?}: use latest or oldest",
                other.unwrap_or_default()
            )));
        }
    };
    let (events, _) = store::issue_events(&state.pool, issue.id, order, 0, 1).await?;
    let event = events
        .first()
        .ok_or_else(|| ApiError::NotFound(format!("issue {} has no events", issue.id)))?;
    crate::compression::ensure_loaded(&state.pool, &state.codec, [event.dict_id]).await;
    Ok(HttpResponse::Ok().json(event_json(event, &state.codec)?))
}

/// `GET /api/0/issues/{id}/tags/`: every key with its top values.
pub async fn tags(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let issue = resolve(&req, &state).await?;
    let tags = store::issue_tags(&state.pool, issue.id, None, TOP_VALUES).await?;
    Ok(HttpResponse::Ok().json(tags.iter().map(tag_json).collect::<Vec<Value>>()))
}

/// `GET /api/0/issues/{id}/tags/{key}/`: one key with its top values.
pub async fn tag(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let issue = resolve(&req, &state).await?;
    let key = req.match_info().get("key").unwrap_or_default();
    let tags = store::issue_tags(&state.pool, issue.id, Some(key), TOP_VALUES).await?;
    let tag = tags
        .first()
        .ok_or_else(|| ApiError::NotFound(format!("issue {} has no tag {key:?}", issue.id)))?;
    Ok(HttpResponse::Ok().json(tag_json(tag)))
}

/// `GET /api/0/issues/{id}/activity/`: status changes and regressions, oldest first.
pub async fn activity(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    let issue = resolve(&req, &state).await?;
    let rows = store::activity_of(&state.pool, issue.id).await?;
    let body: Vec<Value> = rows
        .into_iter()
        .map(|(kind, data, actor, at)| {
            json!({
                "type": kind,
                "data": serde_json::from_str::<Value>(&data).unwrap_or(Value::Null),
                "user": actor,
                "dateCreated": format_rfc3339(at),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
