//! Bearer-token authentication. Tokens are compared by their SHA-256, the only form stored.

use actix_web::HttpRequest;
use sha2::{Digest, Sha256};

use super::{ApiError, ApiState};
use crate::store;

/// The hex SHA-256 of a token, as stored in `api_tokens`.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The name of the token a request carries in `Authorization: Bearer <token>`; it is the actor
/// recorded in the activity log.
pub async fn require_token(req: &HttpRequest, state: &ApiState) -> Result<String, ApiError> {
    token_name(req, &state.pool).await?.ok_or(ApiError::Unauthorized)
}

/// Like [`require_token`], for requests that change or delete: the token needs the `admin`
/// scope; a `read` token gets 403.
pub async fn require_admin_token(req: &HttpRequest, state: &ApiState) -> Result<String, ApiError> {
    match token_with_scope(req, &state.pool).await? {
        None => Err(ApiError::Unauthorized),
        Some((name, store::TokenScope::Admin)) => Ok(name),
        Some((name, store::TokenScope::Read)) => Err(ApiError::Forbidden(format!(
            "token {name:?} may only read; changing and deleting need a token created with --scope admin"
        ))),
    }
}

/// The request's token and its scope; 401 without a valid one.
pub async fn token_scope(req: &HttpRequest, state: &ApiState) -> Result<(String, store::TokenScope), ApiError> {
    token_with_scope(req, &state.pool).await?.ok_or(ApiError::Unauthorized)
}

/// The name of a valid bearer token on the request, if it carries one.
pub async fn token_name(req: &HttpRequest, pool: &store::Pool) -> Result<Option<String>, store::StoreError> {
    Ok(token_with_scope(req, pool).await?.map(|(name, _)| name))
}

async fn token_with_scope(
    req: &HttpRequest,
    pool: &store::Pool,
) -> Result<Option<(String, store::TokenScope)>, store::StoreError> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match token {
        Some(token) => store::token_by_hash(pool, &token_hash(token)).await,
        None => Ok(None),
    }
}
