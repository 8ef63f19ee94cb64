//! Frequency conditions of alert rules (issue 17), in the writer's batch: "seen more than N
//! times in M minutes" and "affecting more than N users in M minutes".
//!
//! Only for projects that have such a rule: their batch's events are counted per issue and
//! minute (`issue_minutes`) and their users' last minute kept (`issue_user_minutes`), one
//! upsert per distinct key of the batch, in the batch's transaction. A window's count is then a
//! sum over at most M of the issue's rows: exact, whatever node wrote them, and never a scan of
//! the events table. Windows end at the newest event of the issue in the batch, by the events'
//! own timestamps; the per-issue interval is decided on the same clock, so a rule fires once
//! when its threshold is crossed and again only an interval later.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use sqlx::Row;

use super::StoreError;
use super::alert_rules::{AlertRule, claim_fire, rules_on};
use super::events::EventRow;
use super::issue_writes::IssueDelta;
use super::outbox::{FloodGuard, Trigger, queue_for_rule};
use super::pool::{Conn, Dialect, on};
use crate::notify::rules::AlertFacts;

pub(super) fn minute(timestamp: f64) -> i64 {
    (timestamp / 60.0).floor() as i64
}

/// Records the batch's events of projects with frequency rules (`counting`, from the batch's
/// look-up), and queues the alerts whose thresholds they cross. `payload` gives the alert's
/// content for an event of the batch.
pub(super) async fn record_and_alert(
    conn: &mut Conn<'_>,
    rows: &[&EventRow],
    deltas: &BTreeMap<i64, IssueDelta>,
    counting: &HashSet<i64>,
    payload: impl Fn(&EventRow) -> String,
    guard: FloodGuard,
) -> Result<(), StoreError> {
    let projects: BTreeSet<i64> = deltas
        .values()
        .map(|d| rows[d.first_index].project_id)
        .filter(|p| counting.contains(p))
        .collect();
    for project in projects {
        let rules: Vec<AlertRule> = rules_on(conn, project)
            .await?
            .into_iter()
            .filter(|r| r.spec.frequency.is_some() || r.spec.users.is_some())
            .collect();
        if rules.is_empty() {
            continue;
        }
        let users = rules.iter().any(|r| r.spec.users.is_some());
        // What no window of the project's rules reaches back to is pruned as the issue moves on.
        let longest = rules
            .iter()
            .flat_map(|r| r.spec.frequency.iter().chain(r.spec.users.iter()))
            .map(|t| t.minutes)
            .max()
            .unwrap_or(0);
        for (&issue_id, delta) in deltas.iter().filter(|(_, d)| rows[d.first_index].project_id == project) {
            let end = minute(delta.max_timestamp);
            let counts = batch_counts(rows, delta, users);
            // The issue's minutes in the longest window, read once for every rule, before the
            // batch's are written and then added to them.
            let mut minutes = minutes_since(conn, issue_id, end - longest, end).await?;
            let new_minute = fold_in(&mut minutes, &counts.0, end - longest);
            record(conn, issue_id, &counts).await?;
            if new_minute {
                prune(conn, issue_id, end - longest).await?;
            }
            let latest = rows[delta.latest_index];
            let mut facts = AlertFacts {
                environment: latest.environment.as_deref(),
                level: latest.level,
                tags: &latest.tags,
                release: latest.release.as_deref(),
                assigned: None,
                release_is_latest: None,
            };
            super::alert_rules::complete_facts(conn, rules.iter(), project, issue_id, &mut facts, delta.max_timestamp)
                .await?;
            let events_in =
                |window: i64| -> i64 { minutes.iter().filter(|(m, _)| *m > end - window).map(|(_, n)| n).sum() };
            for rule in rules.iter().filter(|r| r.spec.admits(&facts)) {
                let mut crossed = None;
                if let Some(t) = rule.spec.frequency
                    && events_in(t.minutes) > t.count
                {
                    crossed = Some(Trigger::Frequency);
                }
                if crossed.is_none()
                    && let Some(t) = rule.spec.users
                    && users_in(conn, issue_id, end - t.minutes, end).await? > t.count
                {
                    crossed = Some(Trigger::Users);
                }
                let Some(trigger) = crossed else { continue };
                if claim_fire(conn, rule.id, issue_id, rule.spec.interval_minutes, delta.max_timestamp).await? {
                    let now = delta.max_timestamp;
                    queue_for_rule(conn, rule, issue_id, trigger, &payload(latest), now, guard).await?;
                }
            }
        }
    }
    Ok(())
}

/// An issue's events in a batch per minute, and each user's last minute in it.
pub(super) type BatchCounts<'r> = (BTreeMap<i64, i64>, BTreeMap<&'r str, i64>);

/// The issue's events in the batch per minute, and (when `users`) each user's last minute:
/// what both paths upsert.
pub(super) fn batch_counts<'r>(rows: &[&'r EventRow], delta: &IssueDelta, users: bool) -> BatchCounts<'r> {
    let mut per_minute: BTreeMap<i64, i64> = BTreeMap::new();
    let mut per_user: BTreeMap<&str, i64> = BTreeMap::new();
    for &i in &delta.indices {
        let m = minute(rows[i].timestamp);
        *per_minute.entry(m).or_default() += 1;
        if users && let Some(user) = rows[i].user_key.as_deref() {
            let last = per_user.entry(user).or_insert(m);
            *last = (*last).max(m);
        }
    }
    (per_minute, per_user)
}

/// Adds the batch's minutes to the issue's (minute, events) rows after `from`, read before the
/// batch was written. `true` when the batch starts a minute the issue had no row for: the
/// moment to prune the rows no window reaches any more. Reads look only inside their window,
/// so pruning only saves room, and once per issue and minute is enough (not once per batch).
pub(super) fn fold_in(minutes: &mut Vec<(i64, i64)>, per_minute: &BTreeMap<i64, i64>, from: i64) -> bool {
    let mut new_minute = false;
    for (&m, &n) in per_minute {
        match minutes.iter_mut().find(|(x, _)| *x == m) {
            Some(row) => row.1 += n,
            None => {
                new_minute = true;
                if m > from {
                    minutes.push((m, n));
                }
            }
        }
    }
    new_minute
}

/// One upsert per minute of the issue's events in the batch, and one per user.
async fn record(
    conn: &mut Conn<'_>,
    issue_id: i64,
    (per_minute, per_user): &BatchCounts<'_>,
) -> Result<(), StoreError> {
    on!(conn, |c, DB| {
        for (m, n) in per_minute {
            sqlx::query(
                "INSERT INTO issue_minutes (issue_id, minute, events) VALUES ($1, $2, $3) \
                 ON CONFLICT (issue_id, minute) DO UPDATE SET events = issue_minutes.events + excluded.events",
            )
            .bind(issue_id)
            .bind(m)
            .bind(n)
            .execute(&mut *c)
            .await?;
        }
        for (user, m) in per_user {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO issue_user_minutes (issue_id, user_key, minute) VALUES ($1, $2, $3) \
                 ON CONFLICT (issue_id, user_key) DO UPDATE SET minute = {}(issue_user_minutes.minute, excluded.minute)",
                DB::GREATEST
            )))
            .bind(issue_id)
            .bind(*user)
            .bind(m)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// Drops the issue's minutes (and users last seen) at or before `upto`.
async fn prune(conn: &mut Conn<'_>, issue_id: i64, upto: i64) -> Result<(), StoreError> {
    on!(conn, |c| {
        for table in ["issue_minutes", "issue_user_minutes"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE issue_id = $1 AND minute <= $2"
            )))
            .bind(issue_id)
            .bind(upto)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// The issue's (minute, events) rows after `from` up to and including `to`.
async fn minutes_since(conn: &mut Conn<'_>, issue_id: i64, from: i64, to: i64) -> Result<Vec<(i64, i64)>, StoreError> {
    on!(conn, |c| {
        Ok(sqlx::query_as::<_, (i64, i64)>(
            "SELECT minute, events FROM issue_minutes WHERE issue_id = $1 AND minute > $2 AND minute <= $3",
        )
        .bind(issue_id)
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await?)
    })
}

/// Users of the issue last seen in the minutes after `from` up to `to`: those seen in the window.
async fn users_in(conn: &mut Conn<'_>, issue_id: i64, from: i64, to: i64) -> Result<i64, StoreError> {
    on!(conn, |c| {
        Ok(
            sqlx::query("SELECT COUNT(*) FROM issue_user_minutes WHERE issue_id = $1 AND minute > $2 AND minute <= $3")
                .bind(issue_id)
                .bind(from)
                .bind(to)
                .fetch_one(c)
                .await?
                .get(0),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_adds_to_the_minutes_read_before_it_and_says_when_it_starts_a_new_one() {
        let mut minutes = vec![(100, 4), (101, 2)];
        let batch = BTreeMap::from([(101, 3)]);
        assert!(!fold_in(&mut minutes, &batch, 90), "minute 101 had a row");
        assert_eq!(minutes, [(100, 4), (101, 5)]);
        let batch = BTreeMap::from([(102, 1), (80, 7)]);
        assert!(fold_in(&mut minutes, &batch, 90), "minute 102 is new");
        assert_eq!(
            minutes,
            [(100, 4), (101, 5), (102, 1)],
            "minute 80 is out of the window"
        );
    }
}
