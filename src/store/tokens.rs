//! API tokens. Only the SHA-256 of a token is stored; a leaked database leaks no token.

use sqlx::Row;

use super::pool::on;
use super::{Pool, StoreError};
use crate::event::unix_now;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// List and read issues, events, projects, alerts and metrics.
    Read,
    /// Also change and delete.
    Admin,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<TokenScope, String> {
        match text.trim() {
            "read" => Ok(TokenScope::Read),
            "admin" | "write" => Ok(TokenScope::Admin),
            other => Err(format!("unknown token scope {other:?}: use read or admin")),
        }
    }
}

/// A token as listed (never the token itself).
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: f64,
    pub last_used_at: Option<f64>,
}

pub async fn create_token(pool: &Pool, name: &str, token_hash: &str, scope: TokenScope) -> Result<i64, StoreError> {
    on!(pool, |c| {
        Ok(sqlx::query(
            "INSERT INTO api_tokens (name, token_hash, scope, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(token_hash)
        .bind(scope.as_str())
        .bind(unix_now())
        .fetch_one(c)
        .await?
        .get(0))
    })
}

/// The name and scope of the token with this hash, if there is one.
pub async fn token_by_hash(pool: &Pool, token_hash: &str) -> Result<Option<(String, TokenScope)>, StoreError> {
    on!(pool, |c| {
        let row = sqlx::query("SELECT name, scope FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(c)
            .await?;
        Ok(row.map(|r| {
            let scope = if r.get::<&str, _>(1) == "read" {
                TokenScope::Read
            } else {
                TokenScope::Admin
            };
            (r.get(0), scope)
        }))
    })
}

/// The name of the token with this hash, if there is one.
pub async fn token_name(pool: &Pool, token_hash: &str) -> Result<Option<String>, StoreError> {
    Ok(token_by_hash(pool, token_hash).await?.map(|(name, _)| name))
}

pub async fn list_tokens(pool: &Pool) -> Result<Vec<TokenRecord>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query("SELECT id, name, scope, created_at, last_used_at FROM api_tokens ORDER BY id")
            .fetch_all(c)
            .await?;
        Ok(rows
            .iter()
            .map(|r| TokenRecord {
                id: r.get(0),
                name: r.get(1),
                scope: TokenScope::parse(r.get::<&str, _>(2)).unwrap_or(TokenScope::Read),
                created_at: r.get(3),
                last_used_at: r.get(4),
            })
            .collect())
    })
}

/// Revokes (deletes) a token; false if there was none with this id.
pub async fn revoke_token(pool: &Pool, id: i64) -> Result<bool, StoreError> {
    on!(pool, |c| {
        Ok(sqlx::query("DELETE FROM api_tokens WHERE id = $1")
            .bind(id)
            .execute(c)
            .await?
            .rows_affected()
            > 0)
    })
}
