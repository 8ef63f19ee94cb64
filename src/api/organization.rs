//! What sentry-cli asks before anything else: `GET /api/0/` (is the token good, and what may it
//! do), the organizations the token sees (Tocsin has one, named by `--org`), and the
//! organization's projects.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::token_scope;
use super::{ApiError, ApiState};
use crate::store::{self, TokenScope};

/// Sentry's scopes that a Tocsin token's scope amounts to.
fn scopes(scope: TokenScope) -> Vec<&'static str> {
    let read = [
        "org:read",
        "project:read",
        "project:releases",
        "event:read",
        "member:read",
        "team:read",
    ];
    let admin = [
        "org:write",
        "project:write",
        "project:admin",
        "event:write",
        "event:admin",
    ];
    match scope {
        TokenScope::Read => read.to_vec(),
        TokenScope::Admin => read.iter().chain(admin.iter()).copied().collect(),
    }
}

/// `GET /api/0/`: the token's scopes. A token is not a person, so `user` is null.
pub async fn root(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let (name, scope) = token_scope(&req, &state).await?;
    Ok(HttpResponse::Ok().json(json!({
        "version": "0",
        "auth": {"scopes": scopes(scope), "name": name},
        "user": Value::Null,
    })))
}

fn organization(state: &ApiState) -> Value {
    json!({
        "id": "1",
        "slug": state.org,
        "name": state.org,
        "dateCreated": "1970-01-01T00:00:00Z",
        "isEarlyAdopter": false,
        "require2FA": false,
        // sentry-cli 2 reads it (3 does not).
        "requireEmailVerification": false,
        "status": {"id": "active", "name": "active"},
        "features": [],
    })
}

/// `GET /api/0/organizations/`
pub async fn list(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    token_scope(&req, &state).await?;
    Ok(HttpResponse::Ok().json(vec![organization(&state)]))
}

/// `GET /api/0/organizations/{org}/`
pub async fn detail(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    token_scope(&req, &state).await?;
    state.check_org(&path)?;
    Ok(HttpResponse::Ok().json(organization(&state)))
}

/// `GET /api/0/organizations/{org}/projects/`: every project, one page.
pub async fn projects(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    token_scope(&req, &state).await?;
    state.check_org(&path)?;
    let team = json!({"id": "1", "slug": state.org, "name": state.org});
    let projects: Vec<Value> = store::list_projects(&state.pool)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "id": p.project.id.to_string(),
                "slug": p.project.slug,
                "name": p.project.name,
                "platform": Value::Null,
                "dateCreated": "1970-01-01T00:00:00Z",
                "isMember": true,
                "hasAccess": true,
                "status": "active",
                "team": team,
                "teams": [team],
                "organization": organization(&state),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(projects))
}
