//! A batch's writes on PostgreSQL: one statement, whatever the batch holds. Each table's rows go
//! in as arrays (`UNNEST`), so the statement's text never changes with the batch's size, and
//! data-modifying `WITH` clauses run every insert and update in that one round trip. New users
//! are counted from what the `issue_users` insert returns, inside the same statement.

use sqlx::PgConnection;

use super::BatchWrites;
use crate::store::StoreError;

/// Every part runs exactly once, to completion, whether or not the final `SELECT` reads it.
/// All parts see the snapshot the statement started with; the issues' `UPDATE` sets each
/// column from the row as it was, so `last_seen <= d.last` compares with the old value.
///
/// First, `locked` locks the batch's issues in id order, waiting for another node's batch that
/// holds one of them to commit, and reads their latest status; every other part waits for
/// `ok` (a one-time filter) before it writes a row, so that no batch holds a row another waits
/// for while it waits itself. `ok` is false when an issue the look-up read unresolved without
/// a lock (`$43`) is no longer unresolved, or no longer there: then nothing is written, and the
/// batch runs again.
const WRITE_BATCH: &str = "\
WITH locked AS (
    SELECT id, status FROM issues WHERE id = ANY($16::BIGINT[]) ORDER BY id FOR NO KEY UPDATE
), ok AS (
    SELECT COUNT(*) = cardinality($43::BIGINT[]) AS ok FROM locked
    WHERE id = ANY($43::BIGINT[]) AND status = 'unresolved'
), new_events AS (
    INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, platform, release,
                        environment, user_key, tags, payload, dict_id, reopened, grouphash)
    SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::DOUBLE PRECISION[],
                         $5::DOUBLE PRECISION[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[],
                         $10::TEXT[], $11::TEXT[], $12::BYTEA[], $13::BIGINT[], $41::BIGINT[],
                         $42::TEXT[])
    WHERE (SELECT ok FROM ok)
), new_users AS (
    INSERT INTO issue_users (issue_id, user_key)
    SELECT * FROM UNNEST($14::BIGINT[], $15::TEXT[]) WHERE (SELECT ok FROM ok)
    ON CONFLICT (issue_id, user_key) DO NOTHING
    RETURNING issue_id
), deltas AS (
    SELECT d.*, COALESCE(u.n, 0) AS users
    FROM UNNEST($16::BIGINT[], $17::BIGINT[], $18::DOUBLE PRECISION[], $19::DOUBLE PRECISION[],
                $20::TEXT[], $21::TEXT[], $22::TEXT[], $23::TEXT[], $24::TEXT[], $25::TEXT[],
                $26::TEXT[], $27::BOOLEAN[])
         AS d (id, count, first, last, first_release, level, title, culprit, type, value, release, reopen)
    LEFT JOIN (SELECT issue_id, COUNT(*) AS n FROM new_users GROUP BY issue_id) AS u ON u.issue_id = d.id
), issue_updates AS (
    UPDATE issues SET times_seen = times_seen + d.count, users_seen = users_seen + d.users,
        first_seen = LEAST(first_seen, d.first), last_seen = GREATEST(last_seen, d.last),
        first_release = COALESCE(issues.first_release, d.first_release),
        level = CASE WHEN last_seen <= d.last THEN d.level ELSE issues.level END,
        title = CASE WHEN last_seen <= d.last THEN d.title ELSE issues.title END,
        culprit = CASE WHEN last_seen <= d.last THEN d.culprit ELSE issues.culprit END,
        type = CASE WHEN last_seen <= d.last THEN d.type ELSE issues.type END,
        value = CASE WHEN last_seen <= d.last THEN d.value ELSE issues.value END,
        last_release = CASE WHEN last_seen <= d.last THEN COALESCE(d.release, last_release) ELSE last_release END,
        status = CASE WHEN d.reopen THEN 'unresolved' ELSE status END,
        resolved_at = CASE WHEN d.reopen THEN NULL ELSE resolved_at END,
        ignore_until = CASE WHEN d.reopen THEN NULL ELSE ignore_until END,
        ignore_count = CASE WHEN d.reopen THEN NULL ELSE ignore_count END,
        ignore_baseline = CASE WHEN d.reopen THEN NULL ELSE ignore_baseline END,
        resolved_in = CASE WHEN d.reopen THEN NULL ELSE resolved_in END,
        resolved_in_release = CASE WHEN d.reopen THEN NULL ELSE resolved_in_release END
    FROM deltas AS d
    WHERE issues.id = d.id AND (SELECT ok FROM ok)
), hourly AS (
    INSERT INTO issue_hourly (issue_id, hour, count)
    SELECT * FROM UNNEST($28::BIGINT[], $29::BIGINT[], $30::BIGINT[]) WHERE (SELECT ok FROM ok)
    ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly.count + excluded.count
), tag_values AS (
    INSERT INTO issue_tag_values AS t (issue_id, key, value, count, first_seen, last_seen)
    SELECT * FROM UNNEST($31::BIGINT[], $32::TEXT[], $33::TEXT[], $34::BIGINT[],
                         $35::DOUBLE PRECISION[], $36::DOUBLE PRECISION[])
    WHERE (SELECT ok FROM ok)
    ON CONFLICT (issue_id, key, value) DO UPDATE SET count = t.count + excluded.count,
        first_seen = LEAST(t.first_seen, excluded.first_seen), last_seen = GREATEST(t.last_seen, excluded.last_seen)
), activity AS (
    INSERT INTO activity (issue_id, kind, data, at)
    SELECT * FROM UNNEST($37::BIGINT[], $38::TEXT[], $39::TEXT[], $40::DOUBLE PRECISION[])
    WHERE (SELECT ok FROM ok)
)
SELECT ok FROM ok";

pub(super) async fn write(c: &mut PgConnection, writes: &BatchWrites<'_>) -> Result<(), StoreError> {
    let events = writes.events;
    let deltas: Vec<_> = writes.deltas.iter().collect();
    let latest = |d: &crate::store::issue_writes::IssueDelta| writes.rows[d.latest_index];
    let tags: Vec<String> = events.iter().map(|e| e.row.tags_json()).collect();
    let ok: bool = sqlx::query_scalar(WRITE_BATCH)
        .bind(events.iter().map(|e| e.row.project_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.row.event_id.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.issue_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.row.timestamp).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.row.received).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.row.level).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.row.platform.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.row.release.as_deref()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.row.environment.as_deref()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.row.user_key.as_deref()).collect::<Vec<_>>())
        .bind(tags)
        .bind(events.iter().map(|e| e.row.payload.as_slice()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.row.dict_id).collect::<Vec<_>>())
        .bind(writes.users.iter().map(|(issue, _)| *issue).collect::<Vec<_>>())
        .bind(writes.users.iter().map(|(_, user)| *user).collect::<Vec<_>>())
        .bind(deltas.iter().map(|(id, _)| **id).collect::<Vec<_>>())
        .bind(deltas.iter().map(|(_, d)| d.count).collect::<Vec<_>>())
        .bind(deltas.iter().map(|(_, d)| d.min_timestamp).collect::<Vec<_>>())
        .bind(deltas.iter().map(|(_, d)| d.max_timestamp).collect::<Vec<_>>())
        .bind(
            deltas
                .iter()
                .map(|(_, d)| d.first_release.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(deltas.iter().map(|(_, d)| latest(d).level).collect::<Vec<_>>())
        .bind(
            deltas
                .iter()
                .map(|(_, d)| latest(d).issue.title.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            deltas
                .iter()
                .map(|(_, d)| latest(d).issue.culprit.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            deltas
                .iter()
                .map(|(_, d)| latest(d).issue.ty.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            deltas
                .iter()
                .map(|(_, d)| latest(d).issue.value.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            deltas
                .iter()
                .map(|(_, d)| latest(d).release.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(deltas.iter().map(|(_, d)| d.reopen).collect::<Vec<_>>())
        .bind(writes.hourly.iter().map(|h| h.0).collect::<Vec<_>>())
        .bind(writes.hourly.iter().map(|h| h.1).collect::<Vec<_>>())
        .bind(writes.hourly.iter().map(|h| h.2).collect::<Vec<_>>())
        .bind(writes.tag_values.iter().map(|t| t.issue_id).collect::<Vec<_>>())
        .bind(writes.tag_values.iter().map(|t| t.key).collect::<Vec<_>>())
        .bind(writes.tag_values.iter().map(|t| t.value).collect::<Vec<_>>())
        .bind(writes.tag_values.iter().map(|t| t.count).collect::<Vec<_>>())
        .bind(writes.tag_values.iter().map(|t| t.first_seen).collect::<Vec<_>>())
        .bind(writes.tag_values.iter().map(|t| t.last_seen).collect::<Vec<_>>())
        .bind(writes.activity.iter().map(|a| a.issue_id).collect::<Vec<_>>())
        .bind(writes.activity.iter().map(|a| a.kind).collect::<Vec<_>>())
        .bind(writes.activity.iter().map(|a| a.data.as_str()).collect::<Vec<_>>())
        .bind(writes.activity.iter().map(|a| a.at).collect::<Vec<_>>())
        .bind(events.iter().map(|e| i64::from(e.reopened)).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.row.primary_hash()).collect::<Vec<_>>())
        .bind(writes.unlocked)
        .fetch_one(c)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.constraint() == Some("events_project_id_event_id_key") => {
                StoreError::Conflict(super::STORED_ALREADY.into())
            }
            _ => e.into(),
        })?;
    if !ok {
        return Err(StoreError::Race(
            "an issue the batch read unresolved changed before it was locked".into(),
        ));
    }
    Ok(())
}
