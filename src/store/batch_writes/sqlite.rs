//! A batch's writes on SQLite: one multi-row statement per table, all sent as one text, so the
//! whole batch is one hand-off to sqlx's worker thread (which binds `?` across the statements
//! in order). SQLite has no data-modifying `WITH`; statements run in the order pushed.

use std::collections::BTreeSet;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::BatchWrites;
use crate::store::StoreError;
use crate::store::events::ROWS_PER_STATEMENT;

pub(super) async fn write(c: &mut SqliteConnection, writes: &BatchWrites<'_>) -> Result<(), StoreError> {
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("");
    insert_events(&mut qb, writes);
    // Before the users' insert: it counts the users the issues did not have yet.
    update_issues(&mut qb, writes);
    add_users(&mut qb, writes);
    add_hourly(&mut qb, writes);
    add_tag_values(&mut qb, writes);
    add_activity(&mut qb, writes);
    // Not cached: the text changes with the batch's row counts.
    qb.build().persistent(false).execute(&mut *c).await?;
    Ok(())
}

/// Inserts new events (already known not to be stored) with their issue ids.
fn insert_events(qb: &mut QueryBuilder<Sqlite>, writes: &BatchWrites<'_>) {
    for chunk in writes.events.chunks(ROWS_PER_STATEMENT) {
        qb.push(
            "INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, platform, release, \
             environment, user_key, tags, payload, dict_id, reopened, grouphash) ",
        );
        qb.push_values(chunk, |mut b, e| {
            let row = e.row;
            b.push_bind(row.project_id)
                .push_bind(row.event_id.as_str())
                .push_bind(e.issue_id)
                .push_bind(row.timestamp)
                .push_bind(row.received)
                .push_bind(row.level)
                .push_bind(row.platform.as_str())
                .push_bind(row.release.as_deref())
                .push_bind(row.environment.as_deref())
                .push_bind(row.user_key.as_deref())
                .push_bind(row.tags_json())
                .push_bind(row.payload.as_slice())
                .push_bind(row.dict_id)
                .push_bind(e.reopened)
                .push_bind(row.primary_hash());
        });
        qb.push("; ");
    }
}

/// Records who was affected (after [`update_issues`] counted the newcomers).
fn add_users(qb: &mut QueryBuilder<Sqlite>, writes: &BatchWrites<'_>) {
    for chunk in writes.users.chunks(ROWS_PER_STATEMENT * 4) {
        qb.push("INSERT INTO issue_users (issue_id, user_key) ");
        qb.push_values(chunk, |mut b, (issue, user)| {
            b.push_bind(*issue).push_bind(*user);
        });
        qb.push(" ON CONFLICT (issue_id, user_key) DO NOTHING; ");
    }
}

/// One `UPDATE … FROM (VALUES …)` for every touched issue of the batch: counters and seen
/// times, and — unless an older event arrived late — the newest event's level, title, culprit
/// and release. (SQLite evaluates every right-hand side against the row as it was, so
/// `last_seen <= d.column4` sees the old value.) A reopened issue also drops its status
/// conditions in the same statement. Users new to an issue are counted here, as the batch's
/// `(issue, user)` pairs that `issue_users` does not hold yet: exact, because the writer's
/// transaction is the only one that adds to it.
fn update_issues(qb: &mut QueryBuilder<Sqlite>, writes: &BatchWrites<'_>) {
    let deltas: Vec<_> = writes.deltas.iter().collect();
    // 12 values per issue and its users: 64 issues per statement stay far below SQLite's variable limit.
    for chunk in deltas.chunks(ROWS_PER_STATEMENT) {
        let ids: BTreeSet<i64> = chunk.iter().map(|(id, _)| **id).collect();
        qb.push("WITH u (issue_id, user_key) AS (");
        let users: Vec<_> = writes.users.iter().filter(|(issue, _)| ids.contains(issue)).collect();
        if users.is_empty() {
            qb.push("SELECT NULL, NULL WHERE 0");
        } else {
            qb.push_values(users, |mut b, (issue, user)| {
                b.push_bind(*issue).push_bind(*user);
            });
        }
        qb.push(
            "), fresh (issue_id, n) AS (SELECT issue_id, COUNT(*) FROM u WHERE NOT EXISTS \
             (SELECT 1 FROM issue_users AS x WHERE x.issue_id = u.issue_id AND x.user_key = u.user_key) \
             GROUP BY issue_id) \
             UPDATE issues SET times_seen = times_seen + d.column1, \
             users_seen = users_seen + COALESCE(fresh.n, 0), \
             first_seen = MIN(first_seen, d.column2), last_seen = MAX(last_seen, d.column3), \
             first_release = COALESCE(first_release, d.column4), \
             level = CASE WHEN last_seen <= d.column3 THEN d.column5 ELSE level END, \
             title = CASE WHEN last_seen <= d.column3 THEN d.column6 ELSE title END, \
             culprit = CASE WHEN last_seen <= d.column3 THEN d.column7 ELSE culprit END, \
             type = CASE WHEN last_seen <= d.column3 THEN d.column8 ELSE type END, \
             value = CASE WHEN last_seen <= d.column3 THEN d.column9 ELSE value END, \
             last_release = CASE WHEN last_seen <= d.column3 THEN COALESCE(d.column10, last_release) \
             ELSE last_release END, \
             status = CASE WHEN d.column11 THEN 'unresolved' ELSE status END, \
             resolved_at = CASE WHEN d.column11 THEN NULL ELSE resolved_at END, \
             ignore_until = CASE WHEN d.column11 THEN NULL ELSE ignore_until END, \
             ignore_count = CASE WHEN d.column11 THEN NULL ELSE ignore_count END, \
             ignore_baseline = CASE WHEN d.column11 THEN NULL ELSE ignore_baseline END, \
             resolved_in = CASE WHEN d.column11 THEN NULL ELSE resolved_in END, \
             resolved_in_release = CASE WHEN d.column11 THEN NULL ELSE resolved_in_release END \
             FROM (",
        );
        qb.push_values(chunk, |mut b, (issue_id, delta)| {
            let row = writes.rows[delta.latest_index];
            b.push_bind(delta.count)
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
        qb.push(") AS d LEFT JOIN fresh ON fresh.issue_id = d.column12 WHERE issues.id = d.column12; ");
    }
}

fn add_hourly(qb: &mut QueryBuilder<Sqlite>, writes: &BatchWrites<'_>) {
    for chunk in writes.hourly.chunks(ROWS_PER_STATEMENT * 4) {
        qb.push("INSERT INTO issue_hourly (issue_id, hour, count) ");
        qb.push_values(chunk, |mut b, (issue, hour, count)| {
            b.push_bind(*issue).push_bind(*hour).push_bind(*count);
        });
        qb.push(" ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly.count + excluded.count; ");
    }
}

fn add_tag_values(qb: &mut QueryBuilder<Sqlite>, writes: &BatchWrites<'_>) {
    for chunk in writes.tag_values.chunks(ROWS_PER_STATEMENT * 2) {
        qb.push("INSERT INTO issue_tag_values AS t (issue_id, key, value, count, first_seen, last_seen) ");
        qb.push_values(chunk, |mut b, t| {
            b.push_bind(t.issue_id)
                .push_bind(t.key)
                .push_bind(t.value)
                .push_bind(t.count)
                .push_bind(t.first_seen)
                .push_bind(t.last_seen);
        });
        qb.push(
            " ON CONFLICT (issue_id, key, value) DO UPDATE SET count = t.count + excluded.count, \
             first_seen = MIN(t.first_seen, excluded.first_seen), last_seen = MAX(t.last_seen, excluded.last_seen); ",
        );
    }
}

fn add_activity(qb: &mut QueryBuilder<Sqlite>, writes: &BatchWrites<'_>) {
    for chunk in writes.activity.chunks(ROWS_PER_STATEMENT * 2) {
        qb.push("INSERT INTO activity (issue_id, kind, data, at) ");
        qb.push_values(chunk, |mut b, a| {
            b.push_bind(a.issue_id)
                .push_bind(a.kind)
                .push_bind(a.data.as_str())
                .push_bind(a.at);
        });
        qb.push("; ");
    }
}
