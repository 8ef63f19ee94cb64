//! Telling the other nodes that projects or keys changed, so their caches forget at once.
//!
//! On PostgreSQL every change to a project (its creation, limits, scrubbing settings or
//! deletion) is followed by a `NOTIFY` on one channel; each node `LISTEN`s and clears its key
//! cache when a notification comes, so a change made on one node, or by the CLI, takes effect
//! on every node within a round trip rather than after the cache's timeout. SQLite has one
//! node: the server clears its own cache where it makes a change, and a CLI change is read
//! when the cached entry ages out (or at once for a new key, whose miss is not cached long).

use sqlx::postgres::PgListener;

use super::pool::Db;
use super::{Database, Pool, StoreError};

const CHANNEL: &str = "tocsin_changes";

/// Announces that projects or keys changed. After the change's commit: a notification sent
/// inside a transaction would be delivered only at its commit anyway, and a failed one must
/// not undo the change (the caches' timeout still bounds how long a node can miss it).
pub(super) async fn announce(pool: &Pool, what: &str) {
    if let Db::Postgres(c) = pool.db()
        && let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(what)
            .execute(c)
            .await
    {
        tracing::warn!(error = %e, what, "cannot tell the other nodes about a change");
    }
}

/// What a node hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Another node (or this one, or the CLI) changed projects or keys.
    Changed(String),
    /// The connection was lost and is back: changes may have been missed meanwhile.
    Reconnected,
}

/// A node's ear on the change channel; `None` on SQLite.
pub struct ChangeListener(PgListener);

impl ChangeListener {
    pub async fn start(db: &Database) -> Result<Option<ChangeListener>, StoreError> {
        let Some(pool) = db.postgres_pool() else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(ChangeListener(listener)))
    }

    /// Waits for the next change. While PostgreSQL is unreachable this keeps trying to
    /// reconnect (returning errors), and says [`Heard::Reconnected`] once it is back.
    pub async fn next(&mut self) -> Result<Heard, StoreError> {
        Ok(match self.0.try_recv().await? {
            Some(n) => Heard::Changed(n.payload().to_string()),
            None => Heard::Reconnected,
        })
    }
}

/// Tells the other nodes that a compression dictionary was stored, so they can read events
/// compressed with it (and compress new ones with it).
pub async fn announce_dictionary(pool: &Pool) {
    announce(pool, DICTIONARY).await;
}

/// The payload of [`announce_dictionary`]'s notification.
pub const DICTIONARY: &str = "dictionary";

/// Background work one node at a time does for the whole database.
#[derive(Debug, Clone, Copy)]
pub enum Task {
    Retention,
    Training,
}

impl Task {
    /// The advisory lock's key: any fixed number no other application on the database uses.
    fn key(self) -> i64 {
        match self {
            Task::Retention => 0x746f_6373_696e_0001,
            Task::Training => 0x746f_6373_696e_0002,
        }
    }
}

/// This node's turn at a [`Task`]: on PostgreSQL a session advisory lock, held on a connection
/// of its own until [`Turn::release`]; on SQLite, where the server is the only node, always
/// granted.
pub struct Turn {
    held: Option<(sqlx::pool::PoolConnection<sqlx::Postgres>, i64)>,
}

impl Turn {
    /// Takes the task's lock if no other node holds it; `None` when one does.
    pub async fn try_take(pool: &Pool, task: Task) -> Result<Option<Turn>, StoreError> {
        let Db::Postgres(pg) = pool.db() else {
            return Ok(Some(Turn { held: None }));
        };
        let mut conn = pg.acquire().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(task.key())
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.then(|| Turn {
            held: Some((conn, task.key())),
        }))
    }

    /// Gives the task back to the other nodes.
    pub async fn release(mut self) {
        if let Some((mut conn, key)) = self.held.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(key)
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                // The session ends with the connection, and the lock with it.
                drop(conn.detach());
            }
        }
    }
}

impl Drop for Turn {
    /// A turn dropped without `release` (its task failed or was cancelled) must not go back to
    /// the pool still holding the lock: its connection is closed, which ends the lock.
    fn drop(&mut self) {
        if let Some((conn, _)) = self.held.take() {
            drop(conn.detach());
        }
    }
}
