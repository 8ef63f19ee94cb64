//! Reprocessing an issue's stored events (source maps that arrived after them): read the
//! newest, write back their payloads, and give the issue the fingerprints they now have.

use sqlx::Row;

use super::events::{EVENT_COLUMNS, stored_event};
use super::pool::on;
use super::{Pool, StoreError, StoredEvent};

/// The issue's newest `limit` events.
pub async fn newest_events(pool: &Pool, issue_id: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
    on!(pool, |c| {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1 ORDER BY timestamp DESC, id DESC LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(issue_id)
            .bind(limit)
            .fetch_all(c)
            .await?;
        Ok(rows.iter().map(|r| stored_event!(r)).collect())
    })
}

/// Replaces the payloads of events of the issue: `(row id, payload, dictionary)`. One
/// transaction; an event that left the issue meanwhile (merge, retention) is skipped.
pub async fn replace_payloads(
    pool: &Pool,
    issue_id: i64,
    rows: &[(i64, Vec<u8>, Option<i64>)],
) -> Result<u64, StoreError> {
    on!(pool, |c| {
        let mut tx = c.begin().await?;
        let mut changed = 0;
        for (id, payload, dict) in rows {
            changed += sqlx::query("UPDATE events SET payload = $1, dict_id = $2 WHERE id = $3 AND issue_id = $4")
                .bind(payload.as_slice())
                .bind(*dict)
                .bind(*id)
                .bind(issue_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    })
}

/// Links fingerprints no issue owns yet to the issue, so the events that now group by them
/// (mapped by source maps) join it instead of opening a new issue. Returns how many it took.
pub async fn adopt_hashes(
    pool: &Pool,
    project_id: i64,
    issue_id: i64,
    config: &str,
    hashes: &[String],
) -> Result<u64, StoreError> {
    on!(pool, |c| {
        let mut tx = c.begin().await?;
        let mut linked = 0;
        for hash in hashes {
            linked += sqlx::query(
                "INSERT INTO grouphashes (project_id, hash, config, issue_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (project_id, hash) DO NOTHING",
            )
            .bind(project_id)
            .bind(hash)
            .bind(config)
            .bind(issue_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(linked)
    })
}
