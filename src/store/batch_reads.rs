//! What a batch must know before it writes, read in one statement: which of its projects still
//! exist, which of its event ids are already stored, and which issue owns each of its hashes.
//! One statement rather than three because each statement is a round trip: to PostgreSQL over
//! the network, to sqlx's worker thread on SQLite.

use std::collections::HashSet;

use sqlx::{QueryBuilder, Row};

use super::StoreError;
use super::digest::HashOwners;
use super::events::{EventRow, ROWS_PER_STATEMENT};
use super::pool::{Conn, on};

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
    on!(conn, |c, DB| {
        let mut known = Known::default();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut projects: Vec<i64> = chunk.iter().map(|r| r.project_id).collect();
            projects.sort_unstable();
            projects.dedup();
            let mut qb: QueryBuilder<DB> = QueryBuilder::new(format!(
                "SELECT CAST({PROJECT} AS BIGINT), id, CAST(NULL AS TEXT), CAST(NULL AS BIGINT) FROM projects \
                 WHERE id IN ("
            ));
            let mut list = qb.separated(", ");
            for id in &projects {
                list.push_bind(*id);
            }
            qb.push(format!(
                ") UNION ALL SELECT {STORED}, project_id, event_id, CAST(NULL AS BIGINT) FROM events \
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
            // The NULLs are typed: PostgreSQL matches a `UNION`'s column types branch by branch.
            // Not a prepared statement: PostgreSQL would soon plan it once for any values and
            // keep that plan, and a plan made while `events` was small scans the table, which
            // grows under it (5 ms a batch after 20,000 events). Planned with its values, it
            // looks each pair up in the unique index.
            for r in qb.build().persistent(false).fetch_all(&mut *c).await? {
                let project_id: i64 = r.get(1);
                match r.get::<i64, _>(0) {
                    PROJECT => {
                        known.live_projects.insert(project_id);
                    }
                    STORED => {
                        known.stored.insert((project_id, r.get(2)));
                    }
                    _ => {
                        known.owners.insert((project_id, r.get(2)), r.get(3));
                    }
                }
            }
        }
        Ok(known)
    })
}
