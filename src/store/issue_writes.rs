//! The writer's statements about issues: multi-row where the batch allows it.

use std::collections::{BTreeMap, HashMap};

use sqlx::{QueryBuilder, Row};

use super::pool::{Conn, Dialect, on};

use super::StoreError;
use super::digest::HashOwners;
use super::events::{EventRow, ROWS_PER_STATEMENT};

/// What a batch adds to one issue.
#[derive(Debug, Clone)]
pub struct IssueDelta {
    /// Row indices (in the batch) of this issue's new events, in order.
    pub indices: Vec<usize>,
    pub first_index: usize,
    pub count: i64,
    pub min_timestamp: f64,
    pub max_timestamp: f64,
    /// Index of the newest event (by timestamp); its level, title and release win.
    pub latest_index: usize,
    pub first_release: Option<String>,
    pub new_users: i64,
    /// The issue goes back to unresolved (regression or ended ignore).
    pub reopen: bool,
}

impl IssueDelta {
    pub fn new(first_index: usize) -> IssueDelta {
        IssueDelta {
            indices: Vec::new(),
            first_index,
            count: 0,
            min_timestamp: f64::INFINITY,
            max_timestamp: f64::NEG_INFINITY,
            latest_index: first_index,
            first_release: None,
            new_users: 0,
            reopen: false,
        }
    }

    pub fn add(&mut self, row: &EventRow, index: usize) {
        self.indices.push(index);
        self.count += 1;
        if row.timestamp < self.min_timestamp {
            self.min_timestamp = row.timestamp;
            if row.release.is_some() {
                self.first_release = row.release.clone();
            }
        }
        if row.timestamp >= self.max_timestamp {
            self.max_timestamp = row.timestamp;
            self.latest_index = index;
        }
    }
}

/// An issue's status before the batch.
#[derive(Debug, Clone)]
pub struct IssueState {
    pub status: String,
    pub times_seen: i64,
    pub ignore_until: Option<f64>,
    pub ignore_count: Option<i64>,
    pub ignore_baseline: Option<i64>,
}

/// A row for the activity log.
#[derive(Debug, Clone)]
pub struct Activity {
    pub issue_id: i64,
    pub kind: &'static str,
    pub data: String,
    pub at: f64,
}

impl Activity {
    pub fn new(issue_id: i64, kind: &'static str, event_id: &str, at: f64) -> Activity {
        Activity {
            issue_id,
            kind,
            data: serde_json::json!({ "event_id": event_id }).to_string(),
            at,
        }
    }

    pub fn with_reason(issue_id: i64, kind: &'static str, event_id: &str, reason: &str, at: f64) -> Activity {
        Activity {
            issue_id,
            kind,
            data: serde_json::json!({ "event_id": event_id, "reason": reason }).to_string(),
            at,
        }
    }
}

/// Which issue owns each of the rows' hashes, where one does.
pub async fn hash_owners(conn: &mut Conn<'_>, rows: &[&EventRow]) -> Result<HashOwners, StoreError> {
    on!(conn, |c, DB| {
        let pairs: Vec<(i64, &str)> = rows
            .iter()
            .flat_map(|r| r.issue.hashes.iter().map(move |h| (r.project_id, h.as_str())))
            .collect();
        let mut owners = HashOwners::new();
        for chunk in pairs.chunks(ROWS_PER_STATEMENT * 2) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new(
                "SELECT project_id, hash, issue_id FROM grouphashes WHERE (project_id, hash) IN (VALUES ",
            );
            let mut values = qb.separated(", ");
            for (project_id, hash) in chunk {
                values.push("(");
                values.push_bind_unseparated(*project_id);
                values.push_unseparated(", ");
                values.push_bind_unseparated(*hash);
                values.push_unseparated(")");
            }
            qb.push(")");
            for r in qb.build().fetch_all(&mut *c).await? {
                owners.insert((r.get(0), r.get(1)), r.get(2));
            }
        }
        Ok(owners)
    })
}

/// Creates the issue `row` is the first event of; counters start at zero and the batch's
/// delta fills them.
pub async fn create_issue(conn: &mut Conn<'_>, row: &EventRow) -> Result<i64, StoreError> {
    on!(conn, |c, DB| {
        let number: i64 = sqlx::query(
            "UPDATE projects SET next_issue_number = next_issue_number + 1 WHERE id = $1 RETURNING next_issue_number - 1",
        )
        .bind(row.project_id)
        .fetch_one(&mut *c)
        .await?
        .get(0);
        let id: i64 = sqlx::query(
            "INSERT INTO issues (project_id, short_number, title, culprit, type, value, level, platform, first_seen, \
             last_seen, first_release, last_release, grouping_config) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(row.project_id)
        .bind(number)
        .bind(&row.issue.title)
        .bind(&row.issue.culprit)
        .bind(&row.issue.ty)
        .bind(&row.issue.value)
        .bind(row.level)
        .bind(&row.platform)
        .bind(row.timestamp)
        .bind(row.timestamp)
        .bind(&row.release)
        .bind(&row.release)
        .bind(row.issue.grouping_config)
        .fetch_one(&mut *c)
        .await?
        .get(0);
        Ok(id)
    })
}

pub async fn link_hashes(
    conn: &mut Conn<'_>,
    project_id: i64,
    issue_id: i64,
    config: &str,
    hashes: &[&str],
) -> Result<(), StoreError> {
    on!(conn, |c, DB| {
        let mut qb: QueryBuilder<DB> =
            QueryBuilder::new("INSERT INTO grouphashes (project_id, hash, config, issue_id) ");
        qb.push_values(hashes, |mut b, hash| {
            b.push_bind(project_id)
                .push_bind(*hash)
                .push_bind(config)
                .push_bind(issue_id);
        });
        qb.push(" ON CONFLICT (project_id, hash) DO NOTHING RETURNING hash");
        let linked = qb.build().fetch_all(&mut *c).await?.len();
        // One writer per database never meets a conflict here: the batch read every owner
        // first. Several nodes on one PostgreSQL can: another node's batch made an issue for
        // the same new hash and committed while we waited on its row. Then this batch must
        // not go on with the issue it just made: it fails as a race and the writer runs it
        // again, when it finds the other node's issue.
        if linked < hashes.len() {
            return Err(StoreError::Race("another node linked the same new fingerprint".into()));
        }
        Ok(())
    })
}

/// Records who was affected; returns, per issue, how many users are new to it.
pub async fn add_users(conn: &mut Conn<'_>, assigned: &[(&EventRow, i64)]) -> Result<HashMap<i64, i64>, StoreError> {
    on!(conn, |c, DB| {
        let mut pairs: Vec<(i64, &str)> = assigned
            .iter()
            .filter_map(|(row, issue)| row.user_key.as_deref().map(|u| (*issue, u)))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut new_users: HashMap<i64, i64> = HashMap::new();
        for chunk in pairs.chunks(ROWS_PER_STATEMENT * 4) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new("INSERT INTO issue_users (issue_id, user_key) ");
            qb.push_values(chunk, |mut b, (issue, user)| {
                b.push_bind(*issue).push_bind(*user);
            });
            qb.push(" ON CONFLICT (issue_id, user_key) DO NOTHING RETURNING issue_id");
            for r in qb.build().fetch_all(&mut *c).await? {
                *new_users.entry(r.get(0)).or_default() += 1;
            }
        }
        Ok(new_users)
    })
}

pub async fn states(
    conn: &mut Conn<'_>,
    issue_ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, IssueState>, StoreError> {
    on!(conn, |c, DB| {
        let ids: Vec<i64> = issue_ids.collect();
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT * 4) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new(
                "SELECT id, status, times_seen, ignore_until, ignore_count, ignore_baseline FROM issues WHERE id IN (",
            );
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            // The ids come sorted, and on PostgreSQL the rows are locked here in that order:
            // every node's batch then takes its issues' locks in one global order, so two
            // batches wait for each other instead of deadlocking in their UPDATE (whose plan
            // locks in physical order).
            qb.push(") ORDER BY id");
            qb.push(DB::LOCK_ROWS);
            for r in qb.build().fetch_all(&mut *c).await? {
                out.insert(
                    r.get(0),
                    IssueState {
                        status: r.get(1),
                        times_seen: r.get(2),
                        ignore_until: r.get(3),
                        ignore_count: r.get(4),
                        ignore_baseline: r.get(5),
                    },
                );
            }
        }
        Ok(out)
    })
}

/// One `UPDATE … FROM (VALUES …)` for every touched issue of the batch: counters and seen
/// times, and — unless an older event arrived late — the newest event's level, title, culprit
/// and release. (SQLite evaluates every right-hand side against the row as it was, so
/// `last_seen <= d.column4` sees the old value.) A reopened issue also drops its status
/// conditions in the same statement. One statement instead of one per issue: each statement is
/// a round trip to sqlx's SQLite thread, and a batch touches up to hundreds of issues.
pub async fn apply_deltas(
    conn: &mut Conn<'_>,
    deltas: &BTreeMap<i64, IssueDelta>,
    rows: &[&EventRow],
) -> Result<(), StoreError> {
    on!(conn, |c, DB| {
        let deltas: Vec<(&i64, &IssueDelta)> = deltas.iter().collect();
        // 13 values per issue: 64 issues per statement stay far below SQLite's variable limit.
        for chunk in deltas.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new(format!(
                "UPDATE issues SET times_seen = times_seen + d.column1, users_seen = users_seen + d.column2, \
                 first_seen = {least}(first_seen, d.column3), last_seen = {greatest}(last_seen, d.column4), \
                 first_release = COALESCE(first_release, d.column5), \
                 level = CASE WHEN last_seen <= d.column4 THEN d.column6 ELSE level END, \
                 title = CASE WHEN last_seen <= d.column4 THEN d.column7 ELSE title END, \
                 culprit = CASE WHEN last_seen <= d.column4 THEN d.column8 ELSE culprit END, \
                 type = CASE WHEN last_seen <= d.column4 THEN d.column9 ELSE type END, \
                 value = CASE WHEN last_seen <= d.column4 THEN d.column10 ELSE value END, \
                 last_release = CASE WHEN last_seen <= d.column4 THEN COALESCE(d.column11, last_release) \
                 ELSE last_release END, \
                 status = CASE WHEN d.column12 THEN 'unresolved' ELSE status END, \
                 resolved_at = CASE WHEN d.column12 THEN NULL ELSE resolved_at END, \
                 ignore_until = CASE WHEN d.column12 THEN NULL ELSE ignore_until END, \
                 ignore_count = CASE WHEN d.column12 THEN NULL ELSE ignore_count END, \
                 ignore_baseline = CASE WHEN d.column12 THEN NULL ELSE ignore_baseline END \
                 FROM (",
                least = DB::LEAST,
                greatest = DB::GREATEST,
            ));
            qb.push_values(chunk, |mut b, (issue_id, delta)| {
                let row = rows[delta.latest_index];
                b.push_bind(delta.count)
                    .push_bind(delta.new_users)
                    .push_bind(delta.min_timestamp)
                    .push_bind(delta.max_timestamp)
                    .push_bind(delta.first_release.as_deref())
                    .push_bind(row.level)
                    .push_bind(row.issue.title.as_str())
                    .push_bind(row.issue.culprit.as_deref())
                    .push_bind(row.issue.ty.as_deref())
                    .push_bind(row.issue.value.as_deref())
                    .push_bind(row.release.as_deref())
                    .push_bind(delta.reopen)
                    .push_bind(**issue_id);
            });
            qb.push(") AS d WHERE issues.id = d.column13");
            qb.build().execute(&mut *c).await?;
        }
        Ok(())
    })
}

pub async fn add_hourly(conn: &mut Conn<'_>, assigned: &[(&EventRow, i64)]) -> Result<(), StoreError> {
    on!(conn, |c, DB| {
        let mut buckets: BTreeMap<(i64, i64), i64> = BTreeMap::new();
        for (row, issue) in assigned {
            *buckets
                .entry((*issue, (row.timestamp / 3600.0).floor() as i64))
                .or_default() += 1;
        }
        let buckets: Vec<((i64, i64), i64)> = buckets.into_iter().collect();
        for chunk in buckets.chunks(ROWS_PER_STATEMENT * 4) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new("INSERT INTO issue_hourly (issue_id, hour, count) ");
            qb.push_values(chunk, |mut b, ((issue, hour), count)| {
                b.push_bind(*issue).push_bind(*hour).push_bind(*count);
            });
            qb.push(" ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly.count + excluded.count");
            qb.build().execute(&mut *c).await?;
        }
        Ok(())
    })
}

pub async fn add_tag_values(conn: &mut Conn<'_>, assigned: &[(&EventRow, i64)]) -> Result<(), StoreError> {
    on!(conn, |c, DB| {
        // (issue, key, value) → (count, first, last)
        let mut values: BTreeMap<(i64, &str, &str), (i64, f64, f64)> = BTreeMap::new();
        for (row, issue) in assigned {
            for (key, value) in &row.tags {
                let e =
                    values
                        .entry((*issue, key.as_str(), value.as_str()))
                        .or_insert((0, row.timestamp, row.timestamp));
                e.0 += 1;
                e.1 = e.1.min(row.timestamp);
                e.2 = e.2.max(row.timestamp);
            }
        }
        let values: Vec<_> = values.into_iter().collect();
        for chunk in values.chunks(ROWS_PER_STATEMENT * 2) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new(
                "INSERT INTO issue_tag_values AS t (issue_id, key, value, count, first_seen, last_seen) ",
            );
            qb.push_values(chunk, |mut b, ((issue, key, value), (count, first, last))| {
                b.push_bind(*issue)
                    .push_bind(*key)
                    .push_bind(*value)
                    .push_bind(*count)
                    .push_bind(*first)
                    .push_bind(*last);
            });
            qb.push(format!(
                " ON CONFLICT (issue_id, key, value) DO UPDATE SET count = t.count + excluded.count, \
                 first_seen = {}(t.first_seen, excluded.first_seen), last_seen = {}(t.last_seen, excluded.last_seen)",
                DB::LEAST,
                DB::GREATEST
            ));
            qb.build().execute(&mut *c).await?;
        }
        Ok(())
    })
}

pub async fn add_activity(conn: &mut Conn<'_>, activity: &[Activity]) -> Result<(), StoreError> {
    on!(conn, |c, DB| {
        for chunk in activity.chunks(ROWS_PER_STATEMENT * 2) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new("INSERT INTO activity (issue_id, kind, data, at) ");
            qb.push_values(chunk, |mut b, a| {
                b.push_bind(a.issue_id)
                    .push_bind(a.kind)
                    .push_bind(a.data.as_str())
                    .push_bind(a.at);
            });
            qb.build().execute(&mut *c).await?;
        }
        Ok(())
    })
}
