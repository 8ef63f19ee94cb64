//! API tokens. Only the SHA-256 of a token is stored; a leaked database leaks no token.

use sqlx::{Row, SqliteExecutor};

use super::StoreError;
use crate::event::unix_now;

pub async fn create_token(ex: impl SqliteExecutor<'_>, name: &str, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?)")
        .bind(name)
        .bind(token_hash)
        .bind(unix_now())
        .execute(ex)
        .await?;
    Ok(())
}

/// The name of the token with this hash, if there is one.
pub async fn token_name(ex: impl SqliteExecutor<'_>, token_hash: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT name FROM api_tokens WHERE token_hash = ?")
        .bind(token_hash)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| r.get(0)))
}
