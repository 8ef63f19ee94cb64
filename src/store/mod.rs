//! Storage: one SQLite file in WAL mode. All SQL lives in this module.
//!
//! Two kinds of connection: one write connection owned by the [`writer`] task (group commit),
//! and a pool of read-only connections for everything that only reads. CLI commands open their
//! own short-lived write connection; SQLite's lock and the busy timeout serialise them with a
//! running server. Outside this module every connection is reached through a [`Pool`] handle.

mod dictionaries;
mod digest;
mod events;
mod feedback;
mod issue_commands;
mod issue_reads;
mod issue_writes;
mod migrate;
mod outbox;
mod pool;
mod projects;
mod retention;
mod tokens;
mod users;

pub mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row, SqliteConnection};

pub use dictionaries::{StoredDictionary, all_dictionaries, recent_payloads, unused_dictionaries};
pub use digest::Outcome;
pub use feedback::FeedbackRow;
pub use outbox::{
    Channel, DueItem, FloodGuard, OutboxRecord, Trigger, Triggers, add_channel, delete_channel, deliveries, due,
    enqueue_test, list_channels, mark_attempt_failed, mark_delivered, next_due, outbox,
};
pub use pool::Pool;

pub use events::{EventRow, IssueFacts, StoredEvent, count_events, event_by_id};
pub use issue_commands::{CommandOutcome, IssueCommand, StatusChange, activity_of};
pub use issue_reads::{
    AssigneeFilter, EventOrder, Feedback, IssueFilter, IssueLink, IssueRecord, IssueSort, TagFilter, TagSummary,
    TagValue, all_users, event_neighbours, hourly_counts, issue_by_id, issue_by_short_id, issue_events, issue_feedback,
    issue_links, issue_tags, list_issues, project_tag_values,
};
pub use projects::{
    KeyOwner, ProjectLimits, ProjectWithKey, count_projects, create_project, delete_project, key_owner, list_projects,
    project_by_slug, project_limits_of, scrub_config_of, set_project_limits, set_scrub_config, stored_events_of_issue,
    stored_events_of_project, unresolved_counts,
};
pub use retention::{
    ProjectRetention, eviction_candidates, free_pages, project_limits, rejections_since, stored_per_project,
};
pub use tokens::{TokenRecord, TokenScope, create_token, list_tokens, revoke_token, token_by_hash, token_name};
pub use users::{
    SessionRecord, UserRecord, complete_setup, count_users, create_session, create_user, delete_session,
    replace_setup_token, session, setup_token_is_valid, user_by_email,
};

use crate::config::Synchronous;

/// How long a connection waits for another writer (a CLI command, the server) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const READ_POOL_SIZE: u32 = 4;

/// Errors at the storage boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[source] BackendError),
    #[error("{0}")]
    Conflict(String),
    /// What the database driver reported; its type stays inside `store/`.
    #[error("database error: {0}")]
    Database(#[source] BackendError),
    #[error("the writer has stopped")]
    WriterGone,
    #[error("the transaction holding this event failed: {0}")]
    BatchFailed(String),
}

/// A database driver's error, boxed so that no driver type shows outside `store/` (the cause
/// chain is kept for logs).
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(Box::new(e))
    }
}

/// Where the database is and how durable commits must be.
#[derive(Debug, Clone)]
pub struct Database {
    path: PathBuf,
    synchronous: Synchronous,
}

impl Database {
    /// Creates the data directory if needed and runs pending migrations.
    pub async fn open(data_dir: &Path, synchronous: Synchronous) -> Result<Database, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let db = Database {
            path: data_dir.join("tocsin.db"),
            synchronous,
        };
        let mut conn = db.write_connection().await?;
        // Incremental auto-vacuum lets retention hand deleted space back to the file system in
        // small steps. A new file gets it from the connection options; a file created before
        // Tocsin used it is converted once (VACUUM rewrites the file).
        let mode: i64 = sqlx::query("PRAGMA auto_vacuum").fetch_one(&mut conn).await?.get(0);
        if mode != 2 {
            tracing::info!(path = %db.path.display(), "converting the database to incremental auto-vacuum (once)");
            sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
                .execute(&mut conn)
                .await?;
            sqlx::query("VACUUM").execute(&mut conn).await?;
        }
        migrate::migrator().run(&mut conn).await?;
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn options(&self) -> SqliteConnectOptions {
        let synchronous = match self.synchronous {
            Synchronous::Normal => SqliteSynchronous::Normal,
            Synchronous::Full => SqliteSynchronous::Full,
        };
        // `from_str` on a plain path cannot fail; the fallback keeps this infallible anyway.
        SqliteConnectOptions::from_str(&format!("sqlite://{}", self.path.display()))
            .unwrap_or_default()
            .filename(&self.path)
            .create_if_missing(true)
            // WAL: readers never block the writer and the writer never blocks readers.
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a committed transaction survives a crash of the process; only
            // power loss can take the last commits. FULL (a setting) fsyncs every commit.
            .synchronous(synchronous)
            // Integrity between projects, keys and events is enforced by the database itself.
            .foreign_keys(true)
            // A CLI command and the server share the file; wait for the lock rather than fail.
            .busy_timeout(BUSY_TIMEOUT)
            // Statements are logged by our own spans; sqlx's per-statement logs are noise.
            .disable_statement_logging()
    }

    /// A connection that may write: the writer task's.
    async fn write_connection(&self) -> Result<SqliteConnection, StoreError> {
        Ok(self.write_options().connect().await?)
    }

    /// Write connections ask for incremental auto-vacuum; it takes effect when the file is
    /// created (sqlx sets it before the journal mode, as SQLite requires).
    fn write_options(&self) -> SqliteConnectOptions {
        self.options().auto_vacuum(SqliteAutoVacuum::Incremental)
    }

    /// One write connection behind a [`Pool`], for a CLI command or a start-up step.
    pub async fn write_pool(&self) -> Result<Pool, StoreError> {
        pool(1, self.write_options()).await
    }

    /// A small read-write pool for rare writes outside the event path: users, sessions, setup.
    pub async fn admin_pool(&self) -> Result<Pool, StoreError> {
        pool(2, self.write_options()).await
    }

    /// The read-only pool for handlers.
    pub async fn read_pool(&self) -> Result<Pool, StoreError> {
        pool(READ_POOL_SIZE, self.options().read_only(true)).await
    }
}

async fn pool(size: u32, options: SqliteConnectOptions) -> Result<Pool, StoreError> {
    let pool: SqlitePool = SqlitePoolOptions::new()
        .max_connections(size)
        .connect_with(options)
        .await?;
    Ok(Pool::new(pool))
}

/// `SELECT 1` on a pooled connection: the database file is reachable and readable.
pub async fn ping(pool: &Pool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool.sqlite()).await?;
    Ok(())
}

/// Folds the WAL into the main file (`TRUNCATE`), so the file size is what the data takes.
pub async fn checkpoint(pool: &Pool) -> Result<(), StoreError> {
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(pool.sqlite())
        .await?;
    Ok(())
}

/// What a backup holds.
#[derive(Debug, Clone, Copy)]
pub struct BackupSummary {
    pub events: i64,
    pub issues: i64,
    pub bytes: u64,
}

/// Writes a consistent, compacted copy of the database to `file` with `VACUUM INTO`: one read
/// transaction, so it sees one committed state while the server goes on writing (WAL).
pub async fn backup(pool: &Pool, file: &Path) -> Result<BackupSummary, StoreError> {
    let target = file
        .to_str()
        .ok_or_else(|| StoreError::Conflict("the backup path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO ?").bind(target).execute(pool.sqlite()).await?;
    // Counted in the copy itself: the server may have written more since.
    let mut copy = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .connect()
        .await?;
    let check: String = sqlx::query("PRAGMA integrity_check").fetch_one(&mut copy).await?.get(0);
    if check != "ok" {
        return Err(StoreError::Conflict(format!(
            "the copy failed its integrity check: {check}"
        )));
    }
    let events: i64 = sqlx::query("SELECT COUNT(*) FROM events")
        .fetch_one(&mut copy)
        .await?
        .get(0);
    let issues: i64 = sqlx::query("SELECT COUNT(*) FROM issues")
        .fetch_one(&mut copy)
        .await?
        .get(0);
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok(BackupSummary { events, issues, bytes })
}
