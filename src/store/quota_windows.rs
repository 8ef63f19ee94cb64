//! Limits shared by the nodes of one PostgreSQL database: rate-limit windows, and the
//! sign-in throttle's failures.
//!
//! A node does not ask the database per event: it reserves a chunk of a window's allowance
//! (a tenth of the limit, at least one event) and spends it locally, asking again when the
//! chunk is gone. So a limit holds for the whole cluster: the nodes together never admit more
//! than the limit in a window. A chunk a node does not spend is lost to the others for that
//! window, so a busy cluster can admit up to (nodes × chunk) less than the limit; never more.

use sqlx::Row;

use super::pool::Db;
use super::{Pool, StoreError};

/// Reserves up to `chunk` events of `limit` in the window; returns how many were granted (0:
/// the window is spent). On SQLite, the only node, the whole chunk (it counts in memory).
pub async fn reserve(pool: &Pool, scope: &str, window: i64, chunk: i64, limit: i64) -> Result<i64, StoreError> {
    let Db::Postgres(c) = pool.db() else {
        return Ok(chunk);
    };
    // One statement, atomic under concurrent nodes: the row lock of the upsert orders them,
    // and each sees what the one before it left.
    let row = sqlx::query(
        "INSERT INTO rate_windows AS w (scope, win, used, granted) VALUES ($1, $2, LEAST($3, $4), LEAST($3, $4)) \
         ON CONFLICT (scope, win) DO UPDATE SET \
             used = w.used + GREATEST(0, LEAST($3, $4 - w.used)), \
             granted = GREATEST(0, LEAST($3, $4 - w.used)) \
         RETURNING granted",
    )
    .bind(scope)
    .bind(window)
    .bind(chunk)
    .bind(limit)
    .fetch_one(c)
    .await?;
    Ok(row.get(0))
}

/// Drops the windows that ended before the minute `minute_before`.
pub async fn forget_windows(pool: &Pool, minute_before: i64) -> Result<(), StoreError> {
    if let Db::Postgres(c) = pool.db() {
        // Project windows count minutes, the server's seconds: each by its own clock.
        sqlx::query(
            "DELETE FROM rate_windows WHERE (scope <> 'server' AND win < $1) OR (scope = 'server' AND win < $1 * 60)",
        )
        .bind(minute_before)
        .execute(c)
        .await?;
    }
    Ok(())
}

/// Failed sign-ins per key since `since`: `(key, failures, oldest)` for the keys that have
/// any. PostgreSQL only (a SQLite server keeps them in memory); empty on SQLite.
pub async fn sign_in_failures(pool: &Pool, keys: &[String], since: f64) -> Result<Vec<(String, i64, f64)>, StoreError> {
    let Db::Postgres(c) = pool.db() else {
        return Ok(Vec::new());
    };
    let rows =
        sqlx::query("SELECT key, COUNT(*), MIN(at) FROM sign_in_failures WHERE key = ANY($1) AND at > $2 GROUP BY key")
            .bind(keys)
            .bind(since)
            .fetch_all(c)
            .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

/// Records one failed sign-in under each key.
pub async fn record_sign_in_failure(pool: &Pool, keys: &[String], at: f64) -> Result<(), StoreError> {
    if let Db::Postgres(c) = pool.db() {
        sqlx::query("INSERT INTO sign_in_failures (key, at) SELECT k, $2 FROM UNNEST($1::text[]) AS k")
            .bind(keys)
            .bind(at)
            .execute(c)
            .await?;
    }
    Ok(())
}

/// Forgets a key's failures (a successful sign-in clears its account).
pub async fn clear_sign_in_failures(pool: &Pool, key: &str) -> Result<(), StoreError> {
    if let Db::Postgres(c) = pool.db() {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1")
            .bind(key)
            .execute(c)
            .await?;
    }
    Ok(())
}

/// Drops failures older than `before`: past every throttle window.
pub async fn forget_sign_in_failures(pool: &Pool, before: f64) -> Result<(), StoreError> {
    if let Db::Postgres(c) = pool.db() {
        sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(before)
            .execute(c)
            .await?;
    }
    Ok(())
}
