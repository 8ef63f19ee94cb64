//! Stored zstd dictionaries (see `event::codec`) and the samples they are trained on.

use sqlx::Row;

use super::pool::{Conn, on};
use super::{Pool, StoreError};

/// A stored dictionary.
pub struct StoredDictionary {
    pub id: i64,
    pub project_id: i64,
    pub data: Vec<u8>,
}

pub async fn all_dictionaries(pool: &Pool) -> Result<Vec<StoredDictionary>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query("SELECT id, project_id, data FROM dictionaries ORDER BY id")
            .fetch_all(c)
            .await?;
        Ok(rows
            .iter()
            .map(|r| StoredDictionary {
                id: r.get(0),
                project_id: r.get(1),
                data: r.get(2),
            })
            .collect())
    })
}

/// The project's newest payloads with their dictionary ids: training samples.
///
/// Rows are read one at a time and reading stops once `max_bytes` of payloads were read, so a
/// project of large events does not load `limit` of them at once.
pub async fn recent_payloads(
    pool: &Pool,
    project_id: i64,
    limit: i64,
    max_bytes: usize,
) -> Result<Vec<(Vec<u8>, Option<i64>)>, StoreError> {
    on!(pool, |c| {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(
            "SELECT payload, dict_id FROM events WHERE project_id = $1 ORDER BY project_id DESC, received DESC LIMIT $2",
        )
        .bind(project_id)
        .bind(limit)
        .fetch(c);
        let mut out = Vec::new();
        let mut total = 0;
        while let Some(row) = rows.try_next().await? {
            let payload: Vec<u8> = row.get(0);
            total += payload.len();
            out.push((payload, row.get(1)));
            if total >= max_bytes {
                break;
            }
        }
        Ok(out)
    })
}

/// Dictionaries no stored event uses any more, except each project's newest.
pub async fn unused_dictionaries(pool: &Pool) -> Result<Vec<i64>, StoreError> {
    on!(pool, |c| {
        // Scans only the project's events (its index), and a project keeps few dictionaries.
        let rows = sqlx::query(
            "SELECT d.id FROM dictionaries d
              WHERE d.id < (SELECT MAX(n.id) FROM dictionaries n WHERE n.project_id = d.project_id)
                AND NOT EXISTS (SELECT 1 FROM events e WHERE e.project_id = d.project_id AND e.dict_id = d.id)",
        )
        .fetch_all(c)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    })
}

/// The writer's job: stores a trained dictionary; returns its id.
pub(super) async fn insert_dictionary(
    conn: &mut Conn<'_>,
    project_id: i64,
    data: &[u8],
    now: f64,
) -> Result<i64, StoreError> {
    on!(conn, |c, DB| {
        Ok(
            sqlx::query("INSERT INTO dictionaries (project_id, data, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(project_id)
                .bind(data)
                .bind(now)
                .fetch_one(c)
                .await?
                .get(0),
        )
    })
}

/// The writer's job: deletes dictionaries, unless an event came to use one meanwhile.
pub(super) async fn delete_dictionaries(conn: &mut Conn<'_>, ids: &[i64]) -> Result<(), StoreError> {
    on!(conn, |c, DB| {
        for id in ids {
            sqlx::query(
                "DELETE FROM dictionaries WHERE id = $1 AND NOT EXISTS \
                 (SELECT 1 FROM events e WHERE e.project_id = dictionaries.project_id AND e.dict_id = dictionaries.id)",
            )
            .bind(id)
            .execute(&mut *c)
            .await?;
        }
        Ok(())
    })
}
