//! Stored events: the row the writer inserts, and single reads for the API.

use sqlx::Row;

use super::pool::on;
use super::{Pool, StoreError};

/// One prepared event, ready for the writer: indexed columns, the compressed payload, and what
/// grouping and tag extraction (done in the handler) said about it.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub project_id: i64,
    pub event_id: String,
    pub timestamp: f64,
    pub received: f64,
    pub level: &'static str,
    pub platform: String,
    pub release: Option<String>,
    pub environment: Option<String>,
    /// `id:…`, `email:…`, `username:…` or `ip:…`.
    pub user_key: Option<String>,
    /// Built-in and custom tags, within the limits.
    pub tags: Vec<(String, String)>,
    pub issue: IssueFacts,
    /// zstd-compressed normalised JSON.
    pub payload: Vec<u8>,
    /// The dictionary `payload` was compressed with, if any.
    pub dict_id: Option<i64>,
}

impl EventRow {
    /// The tags column: a JSON list of `[key, value]` pairs.
    pub(super) fn tags_json(&self) -> String {
        serde_json::to_string(&self.tags).unwrap_or_else(|_| "[]".into())
    }

    /// The grouphash column: the event's first hash, which is always one of its issue's.
    pub(super) fn primary_hash(&self) -> Option<&str> {
        self.issue.hashes.first().map(String::as_str)
    }
}

/// What an event says about the issue it belongs to.
#[derive(Debug, Clone, Default)]
pub struct IssueFacts {
    pub grouping_config: &'static str,
    /// Look-up order; never empty. The last `secondary` of them are the previous grouping
    /// config's: they find an issue made before an upgrade, but are never linked to an issue
    /// (so the new config's splits hold for new issues).
    pub hashes: Vec<String>,
    pub secondary: usize,
    pub title: String,
    pub culprit: Option<String>,
    pub ty: Option<String>,
    pub value: Option<String>,
    /// The newest in-app frames (`module in function at line N`), for notifications.
    pub top_frames: Vec<String>,
}

/// An event read back.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The row id: orders events that share a timestamp.
    pub row_id: i64,
    pub project_id: i64,
    pub event_id: String,
    pub issue_id: Option<i64>,
    pub timestamp: f64,
    pub received: f64,
    pub tags: Vec<(String, String)>,
    pub payload: Vec<u8>,
    pub dict_id: Option<i64>,
}

/// The columns [`stored_event`] reads, in order.
pub(super) const EVENT_COLUMNS: &str =
    "id, project_id, event_id, issue_id, timestamp, received, tags, payload, dict_id";

/// A [`StoredEvent`] from a row of [`EVENT_COLUMNS`], of either backend's row type.
macro_rules! stored_event {
    ($row:expr) => {{
        let row = $row;
        $crate::store::StoredEvent {
            row_id: row.get(0),
            project_id: row.get(1),
            event_id: row.get(2),
            issue_id: row.get(3),
            timestamp: row.get(4),
            received: row.get(5),
            tags: serde_json::from_str(row.get::<&str, _>(6)).unwrap_or_default(),
            payload: row.get(7),
            dict_id: row.get(8),
        }
    }};
}
pub(super) use stored_event;

/// Rows per multi-row statement. sqlx caches one prepared statement per distinct row count, so
/// a fixed chunk keeps the cache small; 12 columns × 64 rows stays far below SQLite's 32766
/// variable limit.
pub(super) const ROWS_PER_STATEMENT: usize = 64;

pub async fn event_by_id(pool: &Pool, project_id: i64, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
    on!(pool, |c| {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE project_id = $1 AND event_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(project_id)
            .bind(event_id)
            .fetch_optional(c)
            .await?;
        Ok(row.as_ref().map(|r| stored_event!(r)))
    })
}

/// The issue a stored event belongs to, whatever its project.
pub async fn issue_of_event(pool: &Pool, event_id: &str) -> Result<Option<i64>, StoreError> {
    on!(pool, |c| {
        // Per project, so each look-up uses the (project_id, event_id) index.
        let row = sqlx::query(
            "SELECT e.issue_id FROM projects p JOIN events e ON e.project_id = p.id AND e.event_id = $1 \
             WHERE e.issue_id IS NOT NULL LIMIT 1",
        )
        .bind(event_id)
        .fetch_optional(c)
        .await?;
        Ok(row.map(|r| r.get(0)))
    })
}

/// The issue's newest stored event whose primary hash is `hash`.
pub async fn latest_event_of_hash(pool: &Pool, issue_id: i64, hash: &str) -> Result<Option<StoredEvent>, StoreError> {
    on!(pool, |c| {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1 AND grouphash = $2 ORDER BY timestamp DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(issue_id)
            .bind(hash)
            .fetch_optional(c)
            .await?;
        Ok(row.as_ref().map(|r| stored_event!(r)))
    })
}

/// How many events are stored (all projects).
pub async fn count_events(pool: &Pool) -> Result<i64, StoreError> {
    on!(pool, |c| {
        Ok(sqlx::query("SELECT COUNT(*) FROM events").fetch_one(c).await?.get(0))
    })
}
