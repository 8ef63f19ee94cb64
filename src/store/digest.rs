//! The digest: everything one writer transaction does with a batch of events. Grouping was
//! computed in the handlers; here the hashes meet the database: issue look-up or creation,
//! counters, hourly buckets, tag values, distinct users, and status transitions (regressions,
//! expired ignores), all in the batch's single transaction so every counter stays exact.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use sqlx::PgConnection;

use super::pool::Conn;

use super::StoreError;
use super::batch_reads::{self, Known};
use super::batch_writes::{self, BatchWrites, NewEvent};
use super::events::EventRow;
use super::frequency;
use super::issue_writes::{self, Activity, IssueDelta, IssueState};
use super::outbox::{self, FloodGuard, Trigger};
use super::resolutions;
use super::stages::{Stage, StageTimes};
use crate::notify::rules::AlertFacts;

/// What became of one event of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// `false` for a duplicate event id: nothing was written for it.
    pub inserted: bool,
    pub issue_id: Option<i64>,
    /// This event created its issue.
    pub new_issue: bool,
    /// This event reopened a resolved issue.
    pub regression: bool,
    /// This event ended an ignore (its time or count condition was met).
    pub unignored: bool,
    /// Its project was deleted after ingest accepted its key: nothing was written.
    pub project_gone: bool,
}

/// Digests `rows` inside the caller's transaction; `now` is the commit's clock.
pub async fn digest(
    conn: &mut Conn<'_>,
    rows: &[&EventRow],
    now: f64,
    guard: FloodGuard,
    times: &mut StageTimes,
) -> Result<Vec<Outcome>, StoreError> {
    let mut outcomes = vec![Outcome::default(); rows.len()];
    let started = Instant::now();
    let mut known = batch_reads::known(conn, rows).await?;
    batch_reads::settle_locks(conn, &mut known).await?;
    times.add(Stage::Lookup, started);
    let fresh = screen(rows, &known, &mut outcomes);
    if fresh.is_empty() {
        return Ok(outcomes);
    }

    let mut owners = std::mem::take(&mut known.owners);
    let mut assigned: Vec<Assigned> = Vec::with_capacity(fresh.len());
    let mut activity: Vec<Activity> = Vec::new();
    for &i in &fresh {
        let row = rows[i];
        let (issue_id, created) = match owner(row, &owners) {
            Some(id) => (id, false),
            None => {
                let creating = Instant::now();
                let id = issue_writes::create_issue(conn, row).await?;
                times.add(Stage::NewIssues, creating);
                activity.push(Activity::new(id, "first_seen", &row.event_id, now));
                (id, true)
            }
        };
        // Hashes this event brings that no issue owns yet join its issue (as Sentry does), so
        // the next event with only that hash finds it.
        let unowned = unowned(row, &owners);
        if !unowned.is_empty() {
            let linking = Instant::now();
            issue_writes::link_hashes(conn, row.project_id, issue_id, row.issue.grouping_config, &unowned).await?;
            times.add(Stage::NewIssues, linking);
            for h in unowned {
                owners.insert((row.project_id, h.to_string()), issue_id);
            }
        }
        assigned.push(Assigned {
            index: i,
            issue_id,
            created,
        });
    }
    let mut states = std::mem::take(&mut known.states);
    issue_writes::load_more_conditions(conn, rows, &assigned, &mut states).await?;
    resolutions::load_resolutions(conn, rows, &assigned, &mut states).await?;
    let (deltas, events) = settle(rows, &assigned, &states, now, &mut outcomes, &mut activity);
    // Notifications join the same transaction: committed together, or not at all.
    enqueue_notifications(conn, rows, &outcomes, now, guard).await?;
    let writing = Instant::now();
    // The issues it writes to, that is: rows already stored or repeated join none.
    let unlocked: Vec<i64> = known
        .unlocked
        .iter()
        .copied()
        .filter(|id| deltas.contains_key(id))
        .collect();
    let mut writes = BatchWrites::new(&events, &deltas, rows, &activity);
    writes.unlocked = &unlocked;
    batch_writes::write(conn, &writes).await?;
    issue_writes::settle_more_conditions(conn, &deltas, &states).await?;
    frequency::record_and_alert(conn, rows, &deltas, &known.counting, alert_payload, guard).await?;
    times.add(Stage::Write, writing);
    Ok(outcomes)
}

/// A batch on PostgreSQL that only adds events to unresolved issues, written without a
/// transaction of its own: the look-up, then the write, one statement that PostgreSQL commits
/// by itself (it locks the batch's issues and checks that they are still unresolved first, as
/// in a transaction). Two round trips instead of four (no `BEGIN`, no `COMMIT`). `None`, having
/// written nothing, when the batch needs more than that (a new issue, a hash to link, a status
/// to change, a notification, a frequency rule): the caller runs it in a transaction.
pub async fn single_statement(
    conn: &mut PgConnection,
    rows: &[&EventRow],
    now: f64,
    times: &mut StageTimes,
) -> Result<Option<Vec<Outcome>>, StoreError> {
    let mut outcomes = vec![Outcome::default(); rows.len()];
    let started = Instant::now();
    // Stored event ids (an SDK's retry, say) are left to the events' unique index, which
    // undoes the write: then the transaction looks for them, as it does for every batch.
    let known = batch_reads::known_unprobed(conn, rows).await?;
    times.add(Stage::Lookup, started);
    if !known.all_unresolved() || !known.counting.is_empty() {
        return Ok(None);
    }
    let fresh = screen(rows, &known, &mut outcomes);
    let Some(assigned) = existing_issues(rows, &fresh, &known.owners) else {
        return Ok(None);
    };
    let mut activity = Vec::new();
    let (deltas, events) = settle(rows, &assigned, &known.states, now, &mut outcomes, &mut activity);
    if !activity.is_empty() {
        return Ok(None);
    }
    let writing = Instant::now();
    let unlocked: Vec<i64> = deltas.keys().copied().collect();
    let mut writes = BatchWrites::new(&events, &deltas, rows, &activity);
    writes.unlocked = &unlocked;
    if !events.is_empty() {
        match batch_writes::write(&mut Conn::from(conn), &writes).await {
            Err(StoreError::Conflict(why)) if why == batch_writes::STORED_ALREADY => return Ok(None),
            other => other?,
        }
    }
    times.add(Stage::Write, writing);
    times.fast_path = true;
    Ok(Some(outcomes))
}

/// A fresh row of the batch and the issue it joins.
#[derive(Debug, Clone, Copy)]
pub(super) struct Assigned {
    pub index: usize,
    pub issue_id: i64,
    /// The batch created this issue for it.
    pub created: bool,
}

/// Which rows are new, by index: not of a deleted project (a project deleted while ingest
/// still had its key cached: its events are refused here, not allowed to fail the whole
/// batch on a foreign key), not stored already, not repeated earlier in the batch.
pub(super) fn screen(rows: &[&EventRow], known: &Known, outcomes: &mut [Outcome]) -> Vec<usize> {
    for (i, row) in rows.iter().enumerate() {
        outcomes[i].project_gone = !known.live_projects.contains(&row.project_id);
    }
    let mut seen = HashSet::new();
    (0..rows.len())
        .filter(|&i| {
            let key = (rows[i].project_id, rows[i].event_id.clone());
            !outcomes[i].project_gone && !known.stored.contains(&key) && seen.insert(key)
        })
        .collect()
}

/// The issue that owns one of the row's hashes, trying them in order.
pub(super) fn owner(row: &EventRow, owners: &HashOwners) -> Option<i64> {
    row.issue
        .hashes
        .iter()
        .find_map(|h| owners.get(&(row.project_id, h.clone())).copied())
}

/// Each fresh row (`fresh`, indexes into `rows`) with its issue, when every one of them joins
/// an issue that owns all of its hashes: no issue to create and no hash to link. `None`
/// otherwise.
pub(super) fn existing_issues(rows: &[&EventRow], fresh: &[usize], owners: &HashOwners) -> Option<Vec<Assigned>> {
    fresh
        .iter()
        .map(|&index| {
            let issue_id = owner(rows[index], owners).filter(|_| unowned(rows[index], owners).is_empty())?;
            Some(Assigned {
                index,
                issue_id,
                created: false,
            })
        })
        .collect()
}

/// The row's (current config's) hashes that no issue owns yet.
pub(super) fn unowned<'r>(row: &'r EventRow, owners: &HashOwners) -> Vec<&'r str> {
    let primary = row.issue.hashes.len().saturating_sub(row.issue.secondary);
    row.issue.hashes[..primary]
        .iter()
        .filter(|h| !owners.contains_key(&(row.project_id, (*h).clone())))
        .map(String::as_str)
        .collect()
}

/// Once every fresh row has its issue: what each issue gains, the status changes that causes
/// (recorded in `outcomes` and `activity`), and the events to insert.
pub(super) fn settle<'r>(
    rows: &[&'r EventRow],
    assigned: &[Assigned],
    states: &HashMap<i64, IssueState>,
    now: f64,
    outcomes: &mut [Outcome],
    activity: &mut Vec<Activity>,
) -> (BTreeMap<i64, IssueDelta>, Vec<NewEvent<'r>>) {
    let mut deltas: BTreeMap<i64, IssueDelta> = BTreeMap::new();
    for a in assigned {
        let i = a.index;
        deltas
            .entry(a.issue_id)
            .or_insert_with(|| IssueDelta::new(i))
            .add(rows[i], i);
        outcomes[i] = Outcome {
            project_gone: false,
            inserted: true,
            issue_id: Some(a.issue_id),
            new_issue: a.created,
            ..Outcome::default()
        };
    }
    // Issues this batch created have no state: they are new, unresolved, and no other
    // transaction can see them yet.
    for (issue_id, delta) in &mut deltas {
        if let Some(state) = states.get(issue_id) {
            transition(*issue_id, state, delta, rows, now, outcomes, activity);
        }
    }
    let events = assigned
        .iter()
        .map(|a| NewEvent {
            row: rows[a.index],
            issue_id: a.issue_id,
            reopened: outcomes[a.index].regression || outcomes[a.index].unignored,
        })
        .collect();
    (deltas, events)
}

/// What an alert says of the event that set it off (the outbox row's payload).
fn alert_payload(row: &EventRow) -> String {
    serde_json::json!({
        "event_id": row.event_id,
        "level": row.level,
        "environment": row.environment,
        "release": row.release,
        "title": row.issue.title,
        "culprit": row.issue.culprit,
        "frames": row.issue.top_frames,
    })
    .to_string()
}

/// Queues the alerts of the batch's new issues, regressions and ended ignores.
async fn enqueue_notifications(
    conn: &mut Conn<'_>,
    rows: &[&EventRow],
    outcomes: &[Outcome],
    now: f64,
    guard: FloodGuard,
) -> Result<(), StoreError> {
    for (i, outcome) in outcomes.iter().enumerate() {
        let trigger = if outcome.new_issue {
            Trigger::New
        } else if outcome.regression {
            Trigger::Regression
        } else if outcome.unignored {
            Trigger::Unignored
        } else {
            continue;
        };
        let (row, issue_id) = (rows[i], outcome.issue_id.unwrap_or_default());
        let payload = alert_payload(row);
        let facts = AlertFacts {
            environment: row.environment.as_deref(),
            level: row.level,
            tags: &row.tags,
            release: row.release.as_deref(),
            assigned: None,
            release_is_latest: None,
        };
        outbox::enqueue(conn, row.project_id, issue_id, trigger, &facts, &payload, now, guard).await?;
    }
    Ok(())
}

/// Status changes an issue's new events cause: a resolved issue regresses (the first of its new
/// events is the regression; for one resolved in a release, the first event of a release that
/// reopens it, if any); an ignored issue reopens once its time has passed or its event
/// count is reached (by the event that reaches it). Otherwise an ignored issue stays ignored.
fn transition(
    issue_id: i64,
    state: &IssueState,
    delta: &mut IssueDelta,
    rows: &[&EventRow],
    now: f64,
    outcomes: &mut [Outcome],
    activity: &mut Vec<Activity>,
) {
    match state.status.as_str() {
        "resolved" => {
            // Events of old releases leave an issue resolved in a release as it is: stored and
            // counted, but no regression.
            let reopening = match &state.resolution {
                None => Some(delta.first_index),
                Some(r) => delta
                    .indices
                    .iter()
                    .copied()
                    .find(|&i| r.resolved_in.reopened_by(rows[i].release.as_deref(), &r.seen)),
            };
            if let Some(index) = reopening {
                delta.reopen = true;
                outcomes[index].regression = true;
                activity.push(Activity::new(issue_id, "set_regression", &rows[index].event_id, now));
            }
        }
        "ignored" => {
            let by_time = state.ignore_until.is_some_and(|until| now >= until);
            let by_count = state.ignore_count.and_then(|count| {
                // The k-th new event of this batch brings the total since ignoring to `count`.
                let already = state.times_seen - state.ignore_baseline.unwrap_or(state.times_seen);
                let needed = usize::try_from(count - already).ok()?.max(1);
                delta.indices.get(needed - 1).copied()
            });
            let more = state.more.as_ref();
            let by_users = more.and_then(|m| {
                // The k-th user new to the issue brings the users gained since ignoring to N.
                let needed = usize::try_from(m.users? - m.users_gained).ok()?.max(1);
                m.new_user_rows.get(needed - 1).copied()
            });
            let by_window = more.and_then(|m| {
                let (count, seconds) = m.window?;
                // A window opens with the first event after the last one closed.
                let (start, seen) = match m.window_start {
                    Some(start) if now - start < seconds => (start, m.window_seen),
                    _ => (now, 0),
                };
                let needed = usize::try_from(count - seen).ok()?.max(1);
                let hit = delta.indices.get(needed - 1).copied();
                if hit.is_none() {
                    delta.ignore_window = Some((start, seen + delta.count));
                }
                hit
            });
            let candidates = [
                (by_time.then_some(delta.first_index), "ignore_until_expired"),
                (by_count, "ignore_count_reached"),
                (by_users, "ignore_users_reached"),
                (by_window, "ignore_window_reached"),
            ];
            // The earliest event that meets a condition ends the ignore.
            let reopening = candidates
                .iter()
                .filter_map(|(index, reason)| index.map(|i| (i, *reason)))
                .min_by_key(|(i, _)| delta.indices.iter().position(|x| x == i));
            if let Some((index, reason)) = reopening {
                delta.reopen = true;
                delta.ignore_window = None;
                outcomes[index].unignored = true;
                activity.push(Activity::with_reason(
                    issue_id,
                    "set_unresolved",
                    &rows[index].event_id,
                    reason,
                    now,
                ));
            }
        }
        _ => {}
    }
}

/// Hashes of the rows, keyed for look-ups.
pub(super) type HashOwners = HashMap<(i64, String), i64>;
