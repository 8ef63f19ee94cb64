//! Stored events: multi-row inserts for the writer, single reads for the API.

use std::collections::HashSet;

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqliteExecutor};

use super::StoreError;

/// One prepared event, ready for `INSERT`: indexed columns plus the compressed payload.
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
    /// zstd-compressed normalised JSON.
    pub payload: Vec<u8>,
}

/// An event read back.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub project_id: i64,
    pub event_id: String,
    pub received: f64,
    pub payload: Vec<u8>,
}

/// Rows per `INSERT` statement. sqlx caches one prepared statement per distinct row count, so a
/// fixed chunk keeps the cache small; 10 columns × 64 rows stays far below SQLite's 32766
/// variable limit.
const ROWS_PER_STATEMENT: usize = 64;

/// Inserts `rows` inside the caller's transaction. Returns, per row, whether it was new: a
/// duplicate `(project_id, event_id)` is skipped (SDK retries and replays are stored once).
pub async fn insert_events(
    conn: &mut SqliteConnection,
    rows: &[&EventRow],
) -> Result<Vec<bool>, StoreError> {
    let mut inserted: HashSet<(i64, String)> = HashSet::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO events (project_id, event_id, timestamp, received, level, platform, release, environment, payload) ",
        );
        qb.push_values(chunk, |mut b, row| {
            b.push_bind(row.project_id)
                .push_bind(row.event_id.as_str())
                .push_bind(row.timestamp)
                .push_bind(row.received)
                .push_bind(row.level)
                .push_bind(row.platform.as_str())
                .push_bind(row.release.as_deref())
                .push_bind(row.environment.as_deref())
                .push_bind(row.payload.as_slice());
        });
        qb.push(" ON CONFLICT (project_id, event_id) DO NOTHING RETURNING project_id, event_id");
        for row in qb.build().fetch_all(&mut *conn).await? {
            inserted.insert((row.get(0), row.get(1)));
        }
    }
    // Only the first row of a duplicated id within one batch counts as the new one.
    Ok(rows
        .iter()
        .map(|row| inserted.remove(&(row.project_id, row.event_id.clone())))
        .collect())
}

pub async fn event_by_id(
    ex: impl SqliteExecutor<'_>,
    project_id: i64,
    event_id: &str,
) -> Result<Option<StoredEvent>, StoreError> {
    let row = sqlx::query("SELECT project_id, event_id, received, payload FROM events WHERE project_id = ? AND event_id = ?")
        .bind(project_id)
        .bind(event_id)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|row| StoredEvent {
        project_id: row.get(0),
        event_id: row.get(1),
        received: row.get(2),
        payload: row.get(3),
    }))
}

/// How many events are stored (all projects).
pub async fn count_events(ex: impl SqliteExecutor<'_>) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) FROM events")
        .fetch_one(ex)
        .await?
        .get(0))
}
