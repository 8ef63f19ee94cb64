//! Storage: one SQLite file in WAL mode by default, or a PostgreSQL database that several
//! nodes share. All SQL lives in this module, written once for both (see [`pool`]).
//!
//! Two kinds of connection: the write connection owned by the [`writer`] task (group commit;
//! on SQLite with a second one for its fast path, `fast_path`, and one that checkpoints the
//! WAL beside it, `checkpointer`), and a pool for everything else. On SQLite that pool is read-only and CLI commands open their
//! own short-lived write connection; SQLite's lock and the busy timeout serialise them with a
//! running server. Outside this module every connection is reached through a [`Pool`] handle.

mod alert_rules;
pub mod artifacts;
mod batch_reads;
mod batch_writes;
mod changes;
mod checkpointer;
mod copy;
mod database;
mod dictionaries;
mod digest;
mod events;
mod fast_path;
mod feedback;
mod frequency;
mod issue_commands;
mod issue_merge;
pub use issue_merge::{IssueHash, SplitFacts, hashes_of};
mod issue_reads;
mod issue_writes;
mod migrate;
mod outbox;
mod pool;
mod projects;
mod releases;
mod resolutions;
pub use releases::{
    Deploy, Release, ReleaseChange, add_deploy, delete_release, deploys_of, issues_of_release, order_releases,
    project_releases, upsert_release,
};
pub use resolutions::{ReleaseRequest, ResolvedIn, resolution_for};
mod quota_windows;
mod reprocess;
pub use reprocess::{adopt_hashes, newest_events, replace_payloads};
mod retention;
mod stages;
mod tokens;
mod users;

pub mod writer;

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};

pub use alert_rules::{
    AlertHistoryRow, AlertRule, alert_history, create_rule, delete_rule, last_fired, list_rules, rule_by_id,
    update_rule,
};
pub use changes::{ChangeListener, DICTIONARY, Heard, Task, Turn, announce_dictionary};
pub use copy::{CopyReport, copy_to_postgres};
pub use database::{Database, Location, redact_url};
pub use dictionaries::{StoredDictionary, all_dictionaries, recent_payloads, unused_dictionaries};
pub use digest::Outcome;
pub use feedback::FeedbackRow;
pub use outbox::{
    Channel, DueItem, FloodGuard, OutboxRecord, Trigger, Triggers, add_channel, claim_due, delete_channel, deliveries,
    enqueue_test, list_channels, mark_attempt_failed, mark_delivered, next_due, outbox,
};
pub use pool::{Backend, Pool};
use pool::{Db, on};
pub use stages::{Stage, StageTimes};

pub use events::{EventRow, IssueFacts, StoredEvent, count_events, event_by_id, issue_of_event, latest_event_of_hash};
pub use issue_commands::{CommandOutcome, IssueCommand, StatusChange, activity_of};
pub use issue_reads::{
    AssigneeFilter, Compare, EventOrder, Feedback, FieldFilter, IssueField, IssueFilter, IssueLink, IssueRecord,
    IssueSort, TagAlternative, TagFilter, TagMatch, TagSummary, TagValue, all_users, event_neighbours, hourly_counts,
    issue_by_id, issue_by_short_id, issue_events, issue_events_tagged, issue_feedback, issue_links, issue_tag_values,
    issue_tags, latest_releases, like_escape, list_issues, project_tag_values, regressed_since, tag_key_exists,
};
pub use projects::{
    KeyOwner, ProjectLimits, ProjectWithKey, count_projects, create_project, delete_project, grouping_rules_of,
    key_owner, list_projects, project_by_slug, project_limits_of, scrub_config_of, set_grouping_rules,
    set_project_limits, set_scrub_config, stored_events_of_issue, stored_events_of_project, unresolved_counts,
};
pub use quota_windows::{
    clear_sign_in_failures, forget_sign_in_failures, forget_windows, record_sign_in_failure, reserve, sign_in_failures,
};
pub use retention::{
    ProjectRetention, eviction_candidates, free_pages, project_limits, rejections_since, stored_per_project,
};
pub use tokens::{TokenRecord, TokenScope, create_token, list_tokens, revoke_token, token_by_hash, token_name};
pub use users::{
    SessionRecord, UserRecord, complete_setup, count_users, create_session, create_user, delete_session,
    replace_setup_token, session, setup_token_is_valid, user_by_email,
};

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
    /// Another node changed the same rows first (PostgreSQL with several nodes): running the
    /// transaction again will see its work.
    #[error("lost a race with another node: {0}")]
    Race(String),
    #[error("the transaction holding this event failed: {0}")]
    BatchFailed(String),
}

/// A database driver's error, boxed so that no driver type shows outside `store/` (the cause
/// chain is kept for logs).
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        // PostgreSQL's deadlock (40P01) and serialization failure (40001) mean "run it again":
        // two nodes' batches touched the same issues in different orders.
        if let sqlx::Error::Database(db) = &e
            && matches!(db.code().as_deref(), Some("40P01" | "40001"))
        {
            return StoreError::Race(db.message().to_string());
        }
        StoreError::Database(Box::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(Box::new(e))
    }
}

/// `SELECT 1` on a pooled connection: the database is reachable and answers.
pub async fn ping(pool: &Pool) -> Result<(), StoreError> {
    on!(pool, |c| {
        sqlx::query("SELECT 1").execute(c).await?;
    });
    Ok(())
}

/// Folds SQLite's WAL into the main file (`TRUNCATE`), so the file size is what the data
/// takes. PostgreSQL manages its own log; nothing to do there.
pub async fn checkpoint(pool: &Pool) -> Result<(), StoreError> {
    if let Db::Sqlite(c) = pool.db() {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(c).await?;
    }
    Ok(())
}

/// Bytes the database takes: the SQLite file (after a checkpoint), or the PostgreSQL database.
pub async fn database_bytes(pool: &Pool) -> Result<i64, StoreError> {
    Ok(match pool.db() {
        Db::Sqlite(c) => {
            sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
                .fetch_one(c)
                .await?
        }
        Db::Postgres(c) => {
            sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(c)
                .await?
        }
    })
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
    let Db::Sqlite(sqlite) = pool.db() else {
        return Err(StoreError::Conflict(
            "tocsin backup copies the SQLite file; on PostgreSQL use pg_dump (or your provider's backups)".into(),
        ));
    };
    let target = file
        .to_str()
        .ok_or_else(|| StoreError::Conflict("the backup path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO $1").bind(target).execute(sqlite).await?;
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

/// Pushes `(value, value, …)` as bound parameters, for `… IN (…)` lists of any backend.
pub(super) fn push_list<DB, T>(qb: &mut sqlx::QueryBuilder<DB>, values: impl IntoIterator<Item = T>)
where
    DB: sqlx::Database,
    T: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB> + 'static,
{
    qb.push("(");
    let mut list = qb.separated(", ");
    for v in values {
        list.push_bind(v);
    }
    qb.push(")");
}
