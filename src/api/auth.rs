//! Bearer-token authentication. Tokens are compared by their SHA-256, the only form stored.

use actix_web::HttpRequest;
use sha2::{Digest, Sha256};

use super::{ApiError, ApiState};
use crate::store;

/// The hex SHA-256 of a token, as stored in `api_tokens`.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Succeeds when the request carries a valid `Authorization: Bearer <token>`.
pub async fn require_token(req: &HttpRequest, state: &ApiState) -> Result<(), ApiError> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    if store::token_is_valid(&state.pool, &token_hash(token)).await? {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}
