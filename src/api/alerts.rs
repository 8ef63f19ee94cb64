//! `/api/0/projects/{org}/{project}/alerts/`: a project's notification channels.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{require_admin_token, require_token};
use super::{ApiError, ApiState};
use crate::event::unix_now;
use crate::notify::channels;
use crate::project::Project;
use crate::store::{self, Channel, Triggers};

/// Whether a handler only reads or also changes: changing needs an `admin` token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Change,
}

pub(super) async fn project(req: &HttpRequest, state: &ApiState, access: Access) -> Result<Project, ApiError> {
    match access {
        Access::Read => require_token(req, state).await?,
        Access::Change => require_admin_token(req, state).await?,
    };
    let org = req.match_info().get("org").unwrap_or_default();
    state.check_org(org)?;
    let slug = req.match_info().get("project_slug").unwrap_or_default();
    store::project_by_slug(&state.pool, slug)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("project {slug:?} not found")))
}

/// Secrets are never listed; the API shows the channel, not its key.
fn channel_json(c: &Channel) -> Value {
    let mut triggers = Vec::new();
    for (on, name) in [
        (c.on_new, "new"),
        (c.on_regression, "regression"),
        (c.on_unignored, "unignored"),
    ] {
        if on {
            triggers.push(name);
        }
    }
    json!({ "id": c.id.to_string(), "kind": c.kind, "target": c.target, "triggers": triggers })
}

pub async fn list(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Read).await?;
    let channels = store::list_channels(&state.pool, Some(project.id)).await?;
    Ok(HttpResponse::Ok().json(channels.iter().map(channel_json).collect::<Vec<_>>()))
}

/// `POST` `{"kind": "email"|"slack"|"webhook", "target": …, "secret"?: …, "triggers"?: [...]}`.
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Change).await?;
    let body: Value = serde_json::from_slice(&super::json_body(&req, payload).await?)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let spec = channels::parse(
        &text("kind"),
        &text("target"),
        body.get("secret").and_then(Value::as_str).map(str::to_string),
    )
    .map_err(ApiError::BadRequest)?;
    let triggers = match body.get("triggers") {
        None | Some(Value::Null) => Triggers::ALL,
        // No triggers of its own: the channel receives what alert rules send it.
        Some(Value::Array(list)) if list.is_empty() => Triggers {
            new: false,
            regression: false,
            unignored: false,
        },
        Some(Value::Array(list)) => {
            let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
            channels::parse_triggers(&names.join(",")).map_err(ApiError::BadRequest)?
        }
        Some(other) => return Err(ApiError::BadRequest(format!("triggers must be a list, got {other}"))),
    };
    let id = store::add_channel(
        &state.admin,
        project.id,
        spec.kind,
        &spec.target,
        spec.secret.as_deref(),
        triggers,
        unix_now(),
    )
    .await?;
    let channel = Channel {
        id,
        project_id: project.id,
        kind: spec.kind.to_string(),
        target: spec.target,
        on_new: triggers.new,
        on_regression: triggers.regression,
        on_unignored: triggers.unignored,
    };
    let mut out = channel_json(&channel);
    if let Some(secret) = spec.secret {
        out["secret"] = Value::String(secret);
    }
    Ok(HttpResponse::Created().json(out))
}

pub async fn delete(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Change).await?;
    let raw = req.match_info().get("id").unwrap_or_default();
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::NotFound(format!("channel {raw:?} not found")))?;
    if store::delete_channel(&state.admin, project.id, id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(format!("channel {raw:?} not found")))
    }
}

pub async fn test(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let project = project(&req, &state, Access::Change).await?;
    let n = store::enqueue_test(&state.admin, project.id, None, unix_now()).await?;
    Ok(HttpResponse::Accepted().json(json!({ "queued": n })))
}
