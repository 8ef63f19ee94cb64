//! Retention's statements: which events to evict, evicting them, reclaiming free pages, and
//! the rate limits' rejection counts.
//!
//! Selection runs on a read connection (it scans a project's events); only the `DELETE` of a
//! small batch of row ids goes through the writer, so ingest never waits for the scan.

use sqlx::{QueryBuilder, Row};

use super::pool::{Conn, Db, on};
use super::{Pool, StoreError};

/// A project's effective retention limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRetention {
    pub project_id: i64,
    pub max_events: i64,
    pub max_age_days: f64,
}

/// Every project with its limits; `NULL` columns take the server's defaults.
pub async fn project_limits(
    pool: &Pool,
    default_max_events: i64,
    default_max_age_days: f64,
) -> Result<Vec<ProjectRetention>, StoreError> {
    on!(pool, |c| {
        let rows =
            sqlx::query("SELECT id, COALESCE(max_events, $1), COALESCE(max_age_days, $2) FROM projects ORDER BY id")
                .bind(default_max_events)
                .bind(default_max_age_days)
                .fetch_all(c)
                .await?;
        Ok(rows
            .iter()
            .map(|r| ProjectRetention {
                project_id: r.get(0),
                max_events: r.get(1),
                max_age_days: r.get(2),
            })
            .collect())
    })
}

/// Events of the project that retention may delete, ranked: each issue's events numbered from
/// its newest, so an issue's 500th-newest event goes before another issue's 10th-newest (busy
/// issues are thinned first, oldest events first). Never offered: an issue's first and latest
/// event and the events that reopened it. `$2` is the project (the statement that embeds it
/// binds `$1` and `$3`).
const EVICTABLE: &str = "SELECT id, received, from_newest FROM (
        SELECT id, received, reopened,
               ROW_NUMBER() OVER (PARTITION BY issue_id ORDER BY id) AS from_oldest,
               ROW_NUMBER() OVER (PARTITION BY issue_id ORDER BY id DESC) AS from_newest
          FROM events WHERE project_id = $2
    ) AS ranked WHERE from_oldest > 1 AND from_newest > 1 AND reopened = 0";

/// Up to `limit` row ids to evict now: first every evictable event received before
/// `older_than`, then — while the project stores `stored` > `max_events` events — the
/// lowest-ranked, as many as the excess.
pub async fn eviction_candidates(
    pool: &Pool,
    limits: &ProjectRetention,
    older_than: f64,
    stored: i64,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    on!(pool, |c| {
        let sql = format!(
            "SELECT id, received < $1 AS expired FROM ({EVICTABLE}) AS evictable \
             ORDER BY expired DESC, from_newest DESC, id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(older_than)
            .bind(limits.project_id)
            .bind(limit)
            .fetch_all(c)
            .await?;
        let mut excess = (stored - limits.max_events).max(0);
        let mut ids = Vec::with_capacity(rows.len());
        for r in rows {
            // Expired events sort first and always go; after them, only as many as the excess.
            let expired: bool = r.get(1);
            if !expired && excess <= 0 {
                break;
            }
            excess -= 1;
            ids.push(r.get(0));
        }
        Ok(ids)
    })
}

/// Events stored per project.
pub async fn stored_per_project(pool: &Pool) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query("SELECT project_id, COUNT(*) FROM events GROUP BY project_id")
            .fetch_all(c)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    })
}

/// Deletes the events with these row ids (the writer's job); returns how many were deleted.
pub(super) async fn delete_events(conn: &mut Conn<'_>, ids: &[i64]) -> Result<u64, StoreError> {
    on!(conn, |c, DB| {
        let mut deleted = 0;
        for chunk in ids.chunks(500) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new("DELETE FROM events WHERE id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(")");
            deleted += qb.build().execute(&mut *c).await?.rows_affected();
        }
        Ok(deleted)
    })
}

/// Pages on SQLite's free list: space deleted rows left, not yet returned to the file system.
/// Always 0 on PostgreSQL, whose autovacuum reclaims space by itself.
pub async fn free_pages(pool: &Pool) -> Result<i64, StoreError> {
    Ok(match pool.db() {
        Db::Sqlite(c) => sqlx::query("PRAGMA freelist_count").fetch_one(c).await?.get(0),
        Db::Postgres(_) => 0,
    })
}

/// Returns up to `pages` free pages to the file system (the database is in incremental
/// auto-vacuum mode); the writer's job, so it never contends with a batch.
pub(super) async fn incremental_vacuum(conn: &mut Conn<'_>, pages: i64) -> Result<(), StoreError> {
    if let Db::Sqlite(c) = conn.db() {
        // A PRAGMA cannot take a bound parameter; `pages` is an integer we chose.
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA incremental_vacuum({pages})")))
            .execute(c)
            .await?;
    }
    Ok(())
}

/// Adds refused-event counts: `(project_id, hour, reason, count)`.
pub(super) async fn add_rejections(
    conn: &mut Conn<'_>,
    counts: &[(i64, i64, &'static str, i64)],
) -> Result<(), StoreError> {
    on!(conn, |c, DB| {
        for chunk in counts.chunks(200) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new(
                "INSERT INTO project_rejections (project_id, hour, reason, count) \
                 SELECT column1, column2, column3, column4 FROM (",
            );
            qb.push_values(chunk, |mut b, (project, hour, reason, count)| {
                b.push_bind(*project)
                    .push_bind(*hour)
                    .push_bind(*reason)
                    .push_bind(*count);
            });
            // A project deleted since the count was taken has nothing to record against (and its
            // foreign key would fail the whole batch).
            qb.push(
                ") AS r WHERE r.column1 IN (SELECT id FROM projects) \
                 ON CONFLICT (project_id, hour, reason) DO UPDATE SET count = project_rejections.count + excluded.count",
            );
            qb.build().execute(&mut *c).await?;
        }
        Ok(())
    })
}

/// Events a rate limit refused for the project since `since_hour`, by reason.
pub async fn rejections_since(pool: &Pool, project_id: i64, since_hour: i64) -> Result<Vec<(String, i64)>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query(
            "SELECT reason, CAST(SUM(count) AS BIGINT) FROM project_rejections WHERE project_id = $1 AND hour >= $2 GROUP BY reason ORDER BY reason",
        )
        .bind(project_id)
        .bind(since_hour)
        .fetch_all(c)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    })
}
