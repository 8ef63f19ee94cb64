//! A batch's writes on SQLite: one multi-row statement per table. SQLite has no
//! data-modifying `WITH`, and a statement costs a hand-off to sqlx's worker thread, not a
//! network round trip.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::BatchWrites;
use crate::store::StoreError;
use crate::store::events::ROWS_PER_STATEMENT;

pub(super) async fn write(c: &mut SqliteConnection, writes: &BatchWrites<'_>) -> Result<(), StoreError> {
    insert_events(c, writes).await?;
    let new_users = add_users(c, writes).await?;
    apply_deltas(c, writes, &new_users).await?;
    add_hourly(c, writes).await?;
    add_tag_values(c, writes).await?;
    add_activity(c, writes).await
}

/// Inserts new events (already known not to be stored) with their issue ids.
async fn insert_events(c: &mut SqliteConnection, writes: &BatchWrites<'_>) -> Result<(), StoreError> {
    for chunk in writes.events.chunks(ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, platform, release, \
             environment, user_key, tags, payload, dict_id) ",
        );
        qb.push_values(chunk, |mut b, (row, issue_id)| {
            b.push_bind(row.project_id)
                .push_bind(row.event_id.as_str())
                .push_bind(*issue_id)
                .push_bind(row.timestamp)
                .push_bind(row.received)
                .push_bind(row.level)
                .push_bind(row.platform.as_str())
                .push_bind(row.release.as_deref())
                .push_bind(row.environment.as_deref())
                .push_bind(row.user_key.as_deref())
                .push_bind(row.tags_json())
                .push_bind(row.payload.as_slice())
                .push_bind(row.dict_id);
        });
        qb.build().execute(&mut *c).await?;
    }
    Ok(())
}

/// Records who was affected; returns, per issue, how many users are new to it.
async fn add_users(c: &mut SqliteConnection, writes: &BatchWrites<'_>) -> Result<HashMap<i64, i64>, StoreError> {
    let mut new_users: HashMap<i64, i64> = HashMap::new();
    for chunk in writes.users.chunks(ROWS_PER_STATEMENT * 4) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT INTO issue_users (issue_id, user_key) ");
        qb.push_values(chunk, |mut b, (issue, user)| {
            b.push_bind(*issue).push_bind(*user);
        });
        qb.push(" ON CONFLICT (issue_id, user_key) DO NOTHING RETURNING issue_id");
        for r in qb.build().fetch_all(&mut *c).await? {
            *new_users.entry(r.get(0)).or_default() += 1;
        }
    }
    Ok(new_users)
}

/// One `UPDATE … FROM (VALUES …)` for every touched issue of the batch: counters and seen
/// times, and — unless an older event arrived late — the newest event's level, title, culprit
/// and release. (SQLite evaluates every right-hand side against the row as it was, so
/// `last_seen <= d.column4` sees the old value.) A reopened issue also drops its status
/// conditions in the same statement.
async fn apply_deltas(
    c: &mut SqliteConnection,
    writes: &BatchWrites<'_>,
    new_users: &HashMap<i64, i64>,
) -> Result<(), StoreError> {
    let deltas: Vec<_> = writes.deltas.iter().collect();
    // 13 values per issue: 64 issues per statement stay far below SQLite's variable limit.
    for chunk in deltas.chunks(ROWS_PER_STATEMENT) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE issues SET times_seen = times_seen + d.column1, users_seen = users_seen + d.column2, \
             first_seen = MIN(first_seen, d.column3), last_seen = MAX(last_seen, d.column4), \
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
        );
        qb.push_values(chunk, |mut b, (issue_id, delta)| {
            let row = writes.rows[delta.latest_index];
            b.push_bind(delta.count)
                .push_bind(new_users.get(issue_id).copied().unwrap_or(0))
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
}

async fn add_hourly(c: &mut SqliteConnection, writes: &BatchWrites<'_>) -> Result<(), StoreError> {
    for chunk in writes.hourly.chunks(ROWS_PER_STATEMENT * 4) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT INTO issue_hourly (issue_id, hour, count) ");
        qb.push_values(chunk, |mut b, (issue, hour, count)| {
            b.push_bind(*issue).push_bind(*hour).push_bind(*count);
        });
        qb.push(" ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly.count + excluded.count");
        qb.build().execute(&mut *c).await?;
    }
    Ok(())
}

async fn add_tag_values(c: &mut SqliteConnection, writes: &BatchWrites<'_>) -> Result<(), StoreError> {
    for chunk in writes.tag_values.chunks(ROWS_PER_STATEMENT * 2) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO issue_tag_values AS t (issue_id, key, value, count, first_seen, last_seen) ",
        );
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
             first_seen = MIN(t.first_seen, excluded.first_seen), last_seen = MAX(t.last_seen, excluded.last_seen)",
        );
        qb.build().execute(&mut *c).await?;
    }
    Ok(())
}

async fn add_activity(c: &mut SqliteConnection, writes: &BatchWrites<'_>) -> Result<(), StoreError> {
    for chunk in writes.activity.chunks(ROWS_PER_STATEMENT * 2) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT INTO activity (issue_id, kind, data, at) ");
        qb.push_values(chunk, |mut b, a| {
            b.push_bind(a.issue_id)
                .push_bind(a.kind)
                .push_bind(a.data.as_str())
                .push_bind(a.at);
        });
        qb.build().execute(&mut *c).await?;
    }
    Ok(())
}
