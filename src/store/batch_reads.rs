//! What a batch must know before it writes, read in one statement: which of its projects still
//! exist, which of its event ids are already stored, and which issue owns each of its hashes.
//! One statement rather than three because each statement is a round trip: to PostgreSQL over
//! the network, to sqlx's worker thread on SQLite.

use std::collections::HashSet;

use sqlx::{QueryBuilder, Row, Sqlite};

use super::StoreError;
use super::digest::HashOwners;
use super::events::{EventRow, ROWS_PER_STATEMENT};
use super::pool::Conn;

/// What the database holds about a batch's rows.
#[derive(Debug, Default)]
pub(super) struct Known {
    /// Projects of the rows that still exist.
    pub live_projects: HashSet<i64>,
    /// `(project_id, event_id)` pairs already stored.
    pub stored: HashSet<(i64, String)>,
    /// Which issue owns each of the rows' hashes, where one does.
    pub owners: HashOwners,
}

/// Which branch of the `UNION ALL` a result row came from.
const PROJECT: i64 = 0;
const STORED: i64 = 1;
const OWNER: i64 = 2;

pub(super) async fn known(conn: &mut Conn<'_>, rows: &[&EventRow]) -> Result<Known, StoreError> {
    let mut known = Known::default();
    match conn {
        Conn::Sqlite(c) => {
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                for r in sqlite_statement(chunk).build().fetch_all(&mut **c).await? {
                    known.add(r.get(0), r.get(1), r.get(2), r.get(3));
                }
            }
        }
        Conn::Postgres(c) => {
            let mut projects: Vec<i64> = rows.iter().map(|r| r.project_id).collect();
            projects.sort_unstable();
            projects.dedup();
            // Not a prepared statement: PostgreSQL would soon plan it once for any arrays and
            // keep that plan, and a plan made while `events` was small scans the table, which
            // grows under it (5 ms a batch after 20,000 events). Planned with its arrays, it
            // looks each id up in the unique index.
            let found = sqlx::query(POSTGRES_STATEMENT)
                .persistent(false)
                .bind(projects)
                .bind(rows.iter().map(|r| r.event_id.as_str()).collect::<Vec<_>>())
                .bind(
                    rows.iter()
                        .flat_map(|r| r.issue.hashes.iter().map(String::as_str))
                        .collect::<Vec<_>>(),
                )
                .fetch_all(&mut **c)
                .await?;
            for r in found {
                known.add(r.get(0), r.get(1), r.get(2), r.get(3));
            }
        }
    }
    Ok(known)
}

impl Known {
    fn add(&mut self, kind: i64, project_id: i64, text: Option<String>, issue_id: Option<i64>) {
        match (kind, text, issue_id) {
            (PROJECT, _, _) => {
                self.live_projects.insert(project_id);
            }
            (STORED, Some(event_id), _) => {
                self.stored.insert((project_id, event_id));
            }
            (OWNER, Some(hash), Some(issue_id)) => {
                self.owners.insert((project_id, hash), issue_id);
            }
            _ => {}
        }
    }
}

/// The look-up as arrays: one text for every batch, and simple to plan (each branch one index
/// scan). Matching project and event id lists separately can find pairs that no row of the
/// batch has; they are stored rows all the same, and the digest only asks about its own pairs.
/// The NULLs are typed because PostgreSQL matches a `UNION`'s column types branch by branch.
const POSTGRES_STATEMENT: &str = "\
SELECT CAST(0 AS BIGINT), id, CAST(NULL AS TEXT), CAST(NULL AS BIGINT) FROM projects WHERE id = ANY($1)
UNION ALL
SELECT 1, project_id, event_id, NULL FROM events WHERE project_id = ANY($1) AND event_id = ANY($2)
UNION ALL
SELECT 2, project_id, hash, issue_id FROM grouphashes WHERE project_id = ANY($1) AND hash = ANY($3)";

/// The look-up as `VALUES` lists, for at most [`ROWS_PER_STATEMENT`] rows (SQLite has no
/// arrays, and a statement's variables are limited).
fn sqlite_statement(chunk: &[&EventRow]) -> QueryBuilder<Sqlite> {
    let mut projects: Vec<i64> = chunk.iter().map(|r| r.project_id).collect();
    projects.sort_unstable();
    projects.dedup();
    let mut qb: QueryBuilder<Sqlite> =
        QueryBuilder::new(format!("SELECT {PROJECT}, id, NULL, NULL FROM projects WHERE id IN ("));
    let mut list = qb.separated(", ");
    for id in projects {
        list.push_bind(id);
    }
    qb.push(format!(
        ") UNION ALL SELECT {STORED}, project_id, event_id, NULL FROM events \
         WHERE (project_id, event_id) IN (VALUES "
    ));
    let mut values = qb.separated(", ");
    for row in chunk {
        values.push("(");
        values.push_bind_unseparated(row.project_id);
        values.push_unseparated(", ");
        values.push_bind_unseparated(row.event_id.as_str());
        values.push_unseparated(")");
    }
    qb.push(format!(
        ") UNION ALL SELECT {OWNER}, project_id, hash, issue_id FROM grouphashes \
         WHERE (project_id, hash) IN (VALUES "
    ));
    let mut values = qb.separated(", ");
    for row in chunk {
        for hash in &row.issue.hashes {
            values.push("(");
            values.push_bind_unseparated(row.project_id);
            values.push_unseparated(", ");
            values.push_bind_unseparated(hash.as_str());
            values.push_unseparated(")");
        }
    }
    qb.push(")");
    qb
}
