//! People who sign in, their sessions, and the first-admin setup token. These writes are rare
//! and small, so they use the admin pool rather than the event writer's queue.

use sqlx::Row;

use super::pool::{Conn, Dialect, on};
use super::{Pool, StoreError};
use crate::event::unix_now;

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub is_admin: bool,
}

/// A signed-in session: who, and the CSRF token its forms must echo.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user_id: i64,
    pub email: String,
    pub is_admin: bool,
    pub csrf_token: String,
}

pub async fn count_users(pool: &Pool) -> Result<i64, StoreError> {
    on!(pool, |c| Ok(sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(c)
        .await?
        .get(0)))
}

/// Creates a user; a taken email is a [`StoreError::Conflict`].
pub async fn create_user(pool: &Pool, email: &str, password_hash: &str, is_admin: bool) -> Result<i64, StoreError> {
    on!(pool, |c| {
        let mut conn = c.acquire().await?;
        create_user_on(&mut Conn::from(&mut *conn), email, password_hash, is_admin).await
    })
}

/// [`create_user`] on any connection: also inside [`complete_setup`]'s transaction.
async fn create_user_on(
    conn: &mut Conn<'_>,
    email: &str,
    password_hash: &str,
    is_admin: bool,
) -> Result<i64, StoreError> {
    on!(conn, |c| {
        let inserted = sqlx::query(
            "INSERT INTO users (email, password_hash, is_admin, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(i64::from(is_admin))
        .bind(unix_now())
        .fetch_one(c)
        .await;
        match inserted {
            Ok(row) => Ok(row.get(0)),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(StoreError::Conflict(format!(
                "a user with email {email:?} already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    })
}

pub async fn user_by_email(pool: &Pool, email: &str) -> Result<Option<UserRecord>, StoreError> {
    on!(pool, |c| {
        let row = sqlx::query("SELECT id, email, password_hash, is_admin FROM users WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(c)
            .await?;
        Ok(row.map(|r| UserRecord {
            id: r.get(0),
            email: r.get(1),
            password_hash: r.get(2),
            is_admin: r.get::<i64, _>(3) != 0,
        }))
    })
}

pub async fn create_session(
    pool: &Pool,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    ttl_secs: f64,
) -> Result<(), StoreError> {
    on!(pool, |c| {
        let now = unix_now();
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now)
        .bind(now + ttl_secs)
        .execute(c)
        .await?;
        Ok(())
    })
}

/// The live session with this token hash, if any.
pub async fn session(pool: &Pool, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
    on!(pool, |c| {
        let row = sqlx::query(
            "SELECT s.user_id, u.email, u.is_admin, s.csrf_token FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(unix_now())
        .fetch_optional(c)
        .await?;
        Ok(row.map(|r| SessionRecord {
            user_id: r.get(0),
            email: r.get(1),
            is_admin: r.get::<i64, _>(2) != 0,
            csrf_token: r.get(3),
        }))
    })
}

pub async fn delete_session(pool: &Pool, token_hash: &str) -> Result<(), StoreError> {
    on!(pool, |c| {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(c)
            .await?;
        Ok(())
    })
}

/// Replaces any earlier setup token: only the newest link works.
pub async fn replace_setup_token(pool: &Pool, token_hash: &str) -> Result<(), StoreError> {
    on!(pool, |c| {
        let mut conn = c.acquire().await?;
        sqlx::query("DELETE FROM setup_tokens").execute(&mut *conn).await?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
            .bind(token_hash)
            .bind(unix_now())
            .execute(&mut *conn)
            .await?;
        Ok(())
    })
}

pub async fn setup_token_is_valid(pool: &Pool, token_hash: &str) -> Result<bool, StoreError> {
    on!(pool, |c| {
        let row = sqlx::query("SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_one(c)
            .await?;
        Ok(row.get::<i64, _>(0) > 0)
    })
}

/// Creates the first admin and burns the setup token, atomically: `None` if the token was not
/// valid or a user already exists (the link works once). Deleting the token is the claim: of
/// two nodes completing the same setup at once, one deletes the row and the other waits for
/// it, then finds nothing to delete.
pub async fn complete_setup(
    pool: &Pool,
    token_hash: &str,
    email: &str,
    password_hash: &str,
) -> Result<Option<i64>, StoreError> {
    on!(pool, |c, DB| {
        let mut tx = c.begin_with(DB::BEGIN_WRITE).await?;
        let claimed = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        let users: i64 = sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        if !claimed || users > 0 {
            return Ok(None);
        }
        let id = create_user_on(&mut Conn::from(&mut *tx), email, password_hash, true).await?;
        sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(id))
    })
}
