//! What a batch must know before it writes, read in one statement: which of its projects still
//! exist, which of its event ids are already stored, which issue owns each of its hashes, and
//! the status of those issues. One statement rather than four because each statement is a
//! round trip: to PostgreSQL over the network, to sqlx's worker thread on SQLite.
//!
//! On PostgreSQL, another node may change those issues before this batch commits. When every
//! owning issue is unresolved (nearly every batch under load), the look-up takes no lock: the
//! batch's write statement locks the issues, in id order, as its first step, and checks that
//! they are still unresolved ([`Known::unlocked`]); a batch that finds otherwise writes nothing
//! and runs again. Locking at the look-up instead held the issues from the look-up to COMMIT,
//! across three round trips and the node's own work, and two nodes' batches took turns. When
//! an owning issue is resolved or ignored, what the batch does depends on its state, so the
//! look-up locks the issues and reads them again before anything is decided.

use std::collections::{HashMap, HashSet};

use sqlx::{PgConnection, QueryBuilder, Sqlite, SqliteConnection};

use super::StoreError;
use super::digest::HashOwners;
use super::events::{EventRow, ROWS_PER_STATEMENT};
use super::issue_writes::IssueState;
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
    /// The owning issues' states before the batch.
    pub states: HashMap<i64, IssueState>,
    /// On PostgreSQL, the owning issues that were read unresolved without a lock: the write
    /// must find them still unresolved, or the batch runs again. Empty when the look-up locked
    /// them (and on SQLite, whose writer holds the whole database).
    pub unlocked: Vec<i64>,
    /// Projects of the rows with a rule that counts events or users (frequency rules): the
    /// others' batches need not read their rules at all.
    pub counting: HashSet<i64>,
}

/// Which branch of the `UNION ALL` a result row came from.
const PROJECT: i64 = 0;
const STORED: i64 = 1;
const OWNER: i64 = 2;
const STATE: i64 = 3;
const COUNTING: i64 = 4;

/// One result row: the branch, then up to six columns of it.
type Line = (
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<f64>,
    Option<i64>,
    Option<i64>,
);

pub(super) async fn known(conn: &mut Conn<'_>, rows: &[&EventRow]) -> Result<Known, StoreError> {
    match conn {
        Conn::Sqlite(c) => sqlite_lookup(c, rows).await,
        // Not a prepared statement: PostgreSQL would soon plan it once for any arrays and keep
        // that plan, and a plan made while `events` was small scans the table, which grows
        // under it (5 ms a batch after 20,000 events). Planned with its arrays, it looks each
        // id up in the unique index.
        Conn::Postgres(c) => postgres_lookup(c, rows, POSTGRES_STATEMENT, false).await,
    }
}

/// [`known`] on PostgreSQL without looking for stored event ids: the caller's insert finds
/// them instead, as the unique index refuses it. What it reads is planned once.
pub(super) async fn known_unprobed(c: &mut PgConnection, rows: &[&EventRow]) -> Result<Known, StoreError> {
    postgres_lookup(c, rows, POSTGRES_UNPROBED, true).await
}

async fn sqlite_lookup(c: &mut SqliteConnection, rows: &[&EventRow]) -> Result<Known, StoreError> {
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("");
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        push_sqlite_statement(&mut qb, chunk);
    }
    // Not cached: the text changes with the batch's rows and hashes.
    let mut known = Known::default();
    for line in qb.build_query_as::<Line>().persistent(false).fetch_all(c).await? {
        known.add(line);
    }
    Ok(known)
}

async fn postgres_lookup(
    c: &mut PgConnection,
    rows: &[&EventRow],
    statement: &'static str,
    prepared: bool,
) -> Result<Known, StoreError> {
    let mut projects: Vec<i64> = rows.iter().map(|r| r.project_id).collect();
    projects.sort_unstable();
    projects.dedup();
    let lines = sqlx::query_as::<_, Line>(statement)
        .persistent(prepared)
        .bind(projects)
        .bind(rows.iter().map(|r| r.event_id.as_str()).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .flat_map(|r| r.issue.hashes.iter().map(String::as_str))
                .collect::<Vec<_>>(),
        )
        .fetch_all(c)
        .await?;
    let mut known = Known::default();
    for line in lines {
        known.add(line);
    }
    Ok(known)
}

impl Known {
    /// Every owning issue was read unresolved.
    pub fn all_unresolved(&self) -> bool {
        self.states.values().all(|s| s.status == "unresolved")
    }
}

/// Inside the batch's transaction on PostgreSQL, after [`known`]: when every owning issue is
/// unresolved, notes them for the write to check ([`Known::unlocked`]); otherwise locks them
/// and reads their states again, before anything is decided from them. Nothing on SQLite.
pub(super) async fn settle_locks(conn: &mut Conn<'_>, known: &mut Known) -> Result<(), StoreError> {
    let Conn::Postgres(c) = conn else {
        return Ok(());
    };
    let mut ids: Vec<i64> = known.states.keys().copied().collect();
    ids.sort_unstable();
    if known.all_unresolved() {
        known.unlocked = ids;
        return Ok(());
    }
    known.states.clear();
    let wanted = ids.len();
    for line in sqlx::query_as::<_, Line>(LOCK_STATES)
        .bind(ids)
        .fetch_all(&mut **c)
        .await?
    {
        known.add(line);
    }
    // One went between the two statements (deleted, or merged into another).
    if known.states.len() != wanted {
        return Err(StoreError::Race(
            "an issue of the batch was deleted as it was locked".into(),
        ));
    }
    Ok(())
}

impl Known {
    fn add(&mut self, (kind, id, text, a, b, c, d): Line) {
        match (kind, text) {
            (PROJECT, _) => {
                self.live_projects.insert(id);
            }
            (STORED, Some(event_id)) => {
                self.stored.insert((id, event_id));
            }
            (OWNER, Some(hash)) => {
                if let Some(issue_id) = a {
                    self.owners.insert((id, hash), issue_id);
                }
            }
            (COUNTING, _) => {
                self.counting.insert(id);
            }
            (STATE, Some(status)) => {
                let state = IssueState {
                    status,
                    times_seen: a.unwrap_or(0),
                    ignore_until: b,
                    ignore_count: c,
                    ignore_baseline: d,
                    extended: false,
                    more: None,
                    resolution: None,
                };
                self.states.insert(id, state);
            }
            _ => {}
        }
    }
}

/// The look-up as arrays: one text for every batch, and simple to plan (each branch one index
/// scan). Matching project and event id lists separately can find pairs that no row of the
/// batch has; they are stored rows all the same, and the digest only asks about its own pairs.
/// The NULLs are typed because PostgreSQL matches a `UNION`'s column types branch by branch.
/// `$events` is the stored-ids branch, or nothing.
macro_rules! lookup_sql {
    ($events:literal) => {
        concat!(
            "WITH owners AS (
    SELECT project_id, hash, issue_id FROM grouphashes WHERE project_id = ANY($1) AND hash = ANY($3)
), states AS (
    SELECT id, status, times_seen, ignore_until, ignore_count, ignore_baseline FROM issues
    WHERE id = ANY(ARRAY(SELECT issue_id FROM owners))
)
SELECT CAST(0 AS BIGINT), id, CAST(NULL AS TEXT), CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE PRECISION),
       CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
    FROM projects WHERE id = ANY($1)
",
            $events,
            "UNION ALL
SELECT 2, project_id, hash, issue_id, NULL, NULL, NULL FROM owners
UNION ALL
SELECT 3, id, status, times_seen, ignore_until, ignore_count, ignore_baseline FROM states
UNION ALL
SELECT 4, id, NULL, NULL, NULL, NULL, NULL FROM projects WHERE id = ANY($1) AND EXISTS (
    SELECT 1 FROM alert_rules r
    WHERE r.project_id = projects.id AND (r.frequency_count IS NOT NULL OR r.users_count IS NOT NULL))"
        )
    };
}

const POSTGRES_STATEMENT: &str = lookup_sql!(
    "UNION ALL
SELECT 1, project_id, event_id, NULL, NULL, NULL, NULL
    FROM events WHERE project_id = ANY($1) AND event_id = ANY($2)
"
);

/// The look-up without its stored-ids branch (`$2` is left unused), for a batch written in one
/// statement ([`known_unprobed`]). Every table it reads grows only with new issues and
/// projects, so a plan made once serves: it is a prepared statement, planned once per
/// connection instead of once per batch (a quarter of PostgreSQL's work for batches of four).
const POSTGRES_UNPROBED: &str = lookup_sql!("");

/// The owning issues again, locked until COMMIT, in id order so that two nodes' batches wait
/// for each other instead of deadlocking (the rows of a `SELECT … ORDER BY … FOR UPDATE` are
/// locked as they come out of the sort).
const LOCK_STATES: &str = "\
SELECT CAST(3 AS BIGINT), id, status, times_seen, ignore_until, ignore_count, ignore_baseline
FROM issues WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE";

/// The look-up as `VALUES` lists, one statement per [`ROWS_PER_STATEMENT`] rows (SQLite has no
/// arrays, and a statement's variables are limited), all sent together. No lock: the writer's
/// `BEGIN IMMEDIATE` already holds the whole database.
fn push_sqlite_statement(qb: &mut QueryBuilder<Sqlite>, chunk: &[&EventRow]) {
    let mut projects: Vec<i64> = chunk.iter().map(|r| r.project_id).collect();
    projects.sort_unstable();
    projects.dedup();
    qb.push("WITH owners AS (SELECT project_id, hash, issue_id FROM grouphashes WHERE (project_id, hash) IN (VALUES ");
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
    qb.push(format!(
        ")) SELECT {PROJECT}, id, NULL, NULL, NULL, NULL, NULL FROM projects WHERE id IN ("
    ));
    let mut list = qb.separated(", ");
    for &id in &projects {
        list.push_bind(id);
    }
    qb.push(format!(
        ") UNION ALL SELECT {COUNTING}, id, NULL, NULL, NULL, NULL, NULL FROM projects WHERE EXISTS (\
         SELECT 1 FROM alert_rules r WHERE r.project_id = projects.id \
         AND (r.frequency_count IS NOT NULL OR r.users_count IS NOT NULL)) AND id IN ("
    ));
    let mut list = qb.separated(", ");
    for id in projects {
        list.push_bind(id);
    }
    qb.push(format!(
        ") UNION ALL SELECT {STORED}, project_id, event_id, NULL, NULL, NULL, NULL FROM events \
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
        ") UNION ALL SELECT {OWNER}, project_id, hash, issue_id, NULL, NULL, NULL FROM owners \
         UNION ALL SELECT {STATE}, id, status, times_seen, ignore_until, ignore_count, ignore_baseline \
         FROM issues WHERE id IN (SELECT issue_id FROM owners); "
    ));
}
