//! API tokens. Only the SHA-256 of a token is stored; a leaked database leaks no token.

use sqlx::{Row, SqliteExecutor};

use super::StoreError;
use crate::event::unix_now;

pub async fn create_token(
    ex: impl SqliteExecutor<'_>,
    name: &str,
    token_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?)")
        .bind(name)
        .bind(token_hash)
        .bind(unix_now())
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn token_is_valid(
    ex: impl SqliteExecutor<'_>,
    token_hash: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) FROM api_tokens WHERE token_hash = ?")
        .bind(token_hash)
        .fetch_one(ex)
        .await?;
    Ok(row.get::<i64, _>(0) > 0)
}
