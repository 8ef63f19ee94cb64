//! The SQLite writer's fast path: a batch of events whose fingerprints all have issues and
//! whose issues change no status, read and written on a connection of the writer's own,
//! synchronously, on the writer's thread.
//!
//! Through sqlx, every statement is a hand-off to the connection's worker thread and back,
//! each result row a message, and a multi-row statement whose text changes with the batch is
//! parsed again by SQLite. Here each statement is a single-row one, prepared once and kept,
//! and runs in the writer's own thread (rusqlite). That is most batches under load: new
//! issues, hashes to link, regressions, ended ignores and notifications are rare, and a batch
//! with any of them, or with anything but events, takes the general path through sqlx
//! (`digest`), which this one leaves untouched (its transaction rolled back).
//!
//! Both connections belong to the one writer task, which runs one batch at a time, so they
//! never wait for each other's lock. What to write is decided by the same functions as on the
//! general path (`digest::screen`, `digest::settle`, `BatchWrites::new`); only the SQL is here.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::StoreError;
use super::batch_reads::Known;
use super::batch_writes::BatchWrites;
use super::digest::{self, Assigned, Outcome};
use super::events::EventRow;
use super::issue_writes::IssueState;
use super::stages::{Stage, StageTimes};

/// The fast path's share of frequency conditions (`store::frequency` has the general path's).
mod frequency {
    use std::collections::{BTreeMap, BTreeSet};

    use rusqlite::params;

    use super::super::events::EventRow;
    use super::super::issue_writes::IssueDelta;
    use super::StoreError;

    /// A project's frequency rule: its thresholds and interval.
    struct Rule {
        id: i64,
        events: Option<(i64, i64)>,
        users: Option<(i64, i64)>,
        interval: i64,
    }

    use super::super::frequency::{BatchCounts, batch_counts, fold_in, minute};

    /// Records the batch's events of projects with frequency rules, as the general path does;
    /// `true` when a rule is over its threshold for an issue and has not fired for it within
    /// its interval (filters are the general path's to check).
    pub(super) fn count_and_check(
        db: &rusqlite::Connection,
        rows: &[&EventRow],
        deltas: &BTreeMap<i64, IssueDelta>,
    ) -> Result<bool, StoreError> {
        let mut rules_of = db.prepare_cached(
            "SELECT id, frequency_count, frequency_minutes, users_count, users_minutes, interval_minutes FROM alert_rules \
             WHERE project_id = ?1 AND (frequency_count IS NOT NULL OR users_count IS NOT NULL)",
        )?;
        let projects: BTreeSet<i64> = deltas.values().map(|d| rows[d.first_index].project_id).collect();
        for project in projects {
            let rules: Vec<Rule> = rules_of
                .query_map(params![project], |r| {
                    let pair = |a: Option<i64>, b: Option<i64>| a.zip(b);
                    Ok(Rule {
                        id: r.get(0)?,
                        events: pair(r.get(1)?, r.get(2)?),
                        users: pair(r.get(3)?, r.get(4)?),
                        interval: r.get(5)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            if rules.is_empty() {
                continue;
            }
            let longest = rules
                .iter()
                .flat_map(|r| r.events.iter().chain(r.users.iter()))
                .map(|t| t.1)
                .max()
                .unwrap_or(0);
            for (&issue_id, delta) in deltas.iter().filter(|(_, d)| rows[d.first_index].project_id == project) {
                let end = minute(delta.max_timestamp);
                let counts = batch_counts(rows, delta, rules.iter().any(|r| r.users.is_some()));
                // The issue's minutes in the longest window, read once for every rule, before
                // the batch's are written and then added to them.
                let mut minutes = minutes_since(db, issue_id, end - longest, end)?;
                let new_minute = fold_in(&mut minutes, &counts.0, end - longest);
                record(db, issue_id, &counts, new_minute.then_some(end - longest))?;
                let events_in =
                    |window: i64| -> i64 { minutes.iter().filter(|(m, _)| *m > end - window).map(|(_, n)| n).sum() };
                for rule in &rules {
                    let over = match (rule.events, rule.users) {
                        (Some((count, window)), _) if events_in(window) > count => true,
                        (_, Some((count, window))) => users_in(db, issue_id, end - window, end)? > count,
                        _ => false,
                    };
                    if over
                        && !fired_within(
                            db,
                            rule.id,
                            issue_id,
                            delta.max_timestamp - (rule.interval as f64) * 60.0,
                        )?
                    {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// Upserts the batch's counts; prunes what is at or before `prune_upto`, when given.
    fn record(
        db: &rusqlite::Connection,
        issue_id: i64,
        (per_minute, per_user): &BatchCounts<'_>,
        prune_upto: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut minutes = db.prepare_cached(
            "INSERT INTO issue_minutes (issue_id, minute, events) VALUES (?1, ?2, ?3) \
             ON CONFLICT (issue_id, minute) DO UPDATE SET events = issue_minutes.events + excluded.events",
        )?;
        for (m, n) in per_minute {
            minutes.execute(params![issue_id, m, n])?;
        }
        let mut user = db.prepare_cached(
            "INSERT INTO issue_user_minutes (issue_id, user_key, minute) VALUES (?1, ?2, ?3) \
             ON CONFLICT (issue_id, user_key) DO UPDATE SET minute = MAX(issue_user_minutes.minute, excluded.minute)",
        )?;
        for (u, m) in per_user {
            user.execute(params![issue_id, u, m])?;
        }
        let Some(upto) = prune_upto else { return Ok(()) };
        db.prepare_cached("DELETE FROM issue_minutes WHERE issue_id = ?1 AND minute <= ?2")?
            .execute(params![issue_id, upto])?;
        db.prepare_cached("DELETE FROM issue_user_minutes WHERE issue_id = ?1 AND minute <= ?2")?
            .execute(params![issue_id, upto])?;
        Ok(())
    }

    /// The issue's (minute, events) rows after `from` up to `to`.
    fn minutes_since(
        db: &rusqlite::Connection,
        issue_id: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut read = db.prepare_cached(
            "SELECT minute, events FROM issue_minutes WHERE issue_id = ?1 AND minute > ?2 AND minute <= ?3",
        )?;
        let rows = read
            .query_map(params![issue_id, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn users_in(db: &rusqlite::Connection, issue_id: i64, from: i64, to: i64) -> Result<i64, StoreError> {
        Ok(db
            .prepare_cached(
                "SELECT COUNT(*) FROM issue_user_minutes WHERE issue_id = ?1 AND minute > ?2 AND minute <= ?3",
            )?
            .query_row(params![issue_id, from, to], |r| r.get(0))?)
    }

    /// The rule fired for the issue after `since` (so it may not fire again yet).
    fn fired_within(db: &rusqlite::Connection, rule_id: i64, issue_id: i64, since: f64) -> Result<bool, StoreError> {
        Ok(db
            .prepare_cached("SELECT 1 FROM alert_rule_fires WHERE rule_id = ?1 AND issue_id = ?2 AND fired_at > ?3")?
            .exists(params![rule_id, issue_id, since])?)
    }
}
use crate::config::Synchronous;

/// The writer's second SQLite connection, with its prepared statements.
pub struct FastPath {
    conn: rusqlite::Connection,
}

impl std::fmt::Debug for FastPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FastPath")
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

impl FastPath {
    /// Opens the database file (already created and migrated) with the settings of the
    /// writer's sqlx connection.
    pub(super) fn open(
        path: &Path,
        synchronous: Synchronous,
        busy_timeout: std::time::Duration,
    ) -> Result<FastPath, StoreError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(busy_timeout)?;
        let synchronous = match synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = {synchronous}; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = {};",
            super::checkpointer::WRITER_SAFETY_PAGES
        ))?;
        // Room for every statement of the fast path (18 with frequency rules) and a margin: an
        // evicted statement is parsed again in the next batch.
        conn.set_prepared_statement_cache_capacity(32);
        Ok(FastPath { conn })
    }

    /// Digests and commits `rows` when the batch needs nothing but look-ups and writes:
    /// `Some(outcomes)` once committed; `None` when it needs the general path, with nothing
    /// written.
    pub(super) fn try_batch(
        &mut self,
        rows: &[&EventRow],
        now: f64,
        times: &mut StageTimes,
    ) -> Result<Option<Vec<Outcome>>, StoreError> {
        let started = Instant::now();
        // Rolled back when dropped uncommitted: on an error, and when the batch needs more.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        times.add(Stage::Begin, started);
        let looking = Instant::now();
        let known = read_known(&tx, rows)?;
        times.add(Stage::Lookup, looking);
        let mut outcomes = vec![Outcome::default(); rows.len()];
        let fresh = digest::screen(rows, &known, &mut outcomes);
        // A new issue, or hashes to link to one: the general path's.
        let Some(assigned) = digest::existing_issues(rows, &fresh, &known.owners) else {
            return Ok(None);
        };
        // An ignore that ends on users or a window needs reads of its own: the general path's.
        // So does a resolved issue: one resolved in a release reads how, and the releases of
        // its events, to decide whether they reopen it; any other regresses, which notifies.
        let general = |a: &Assigned| {
            known
                .states
                .get(&a.issue_id)
                .is_some_and(|s| (s.status == "ignored" && s.extended) || s.status == "resolved")
        };
        if assigned.iter().any(general) {
            return Ok(None);
        }
        let mut activity = Vec::new();
        let (deltas, events) = digest::settle(rows, &assigned, &known.states, now, &mut outcomes, &mut activity);
        if !activity.is_empty() {
            // A regression or an ended ignore: it notifies.
            return Ok(None);
        }
        // Projects with frequency rules: their counts are kept here too; a rule that may fire
        // (over its threshold, not fired within its interval) needs the general path, which
        // decides and queues it.
        let counting = Instant::now();
        let may_fire = frequency::count_and_check(&tx, rows, &deltas)?;
        times.add(Stage::Write, counting);
        if may_fire {
            return Ok(None);
        }
        if !events.is_empty() {
            let writing = Instant::now();
            write(&tx, &BatchWrites::new(&events, &deltas, rows, &activity))?;
            times.add(Stage::Write, writing);
        }
        let committing = Instant::now();
        tx.commit()?;
        times.add(Stage::Commit, committing);
        times.fast_path = true;
        Ok(Some(outcomes))
    }
}

fn read_known(db: &rusqlite::Connection, rows: &[&EventRow]) -> Result<Known, StoreError> {
    let mut known = Known::default();
    let mut project = db.prepare_cached("SELECT 1 FROM projects WHERE id = ?1")?;
    let mut stored = db.prepare_cached("SELECT 1 FROM events WHERE project_id = ?1 AND event_id = ?2")?;
    let mut owner = db.prepare_cached("SELECT issue_id FROM grouphashes WHERE project_id = ?1 AND hash = ?2")?;
    let mut state = db.prepare_cached(
        "SELECT status, times_seen, ignore_until, ignore_count, ignore_baseline, \
         ignore_users IS NOT NULL OR ignore_window_count IS NOT NULL FROM issues WHERE id = ?1",
    )?;
    for row in rows {
        let pid = row.project_id;
        if !known.live_projects.contains(&pid) && project.exists(params![pid])? {
            known.live_projects.insert(pid);
        }
        if stored.exists(params![pid, row.event_id])? {
            known.stored.insert((pid, row.event_id.clone()));
        }
        for hash in &row.issue.hashes {
            let key = (pid, hash.clone());
            if known.owners.contains_key(&key) {
                continue;
            }
            let Some(issue_id) = owner.query_row(params![pid, hash], |r| r.get::<_, i64>(0)).optional()? else {
                continue;
            };
            known.owners.insert(key, issue_id);
            if let std::collections::hash_map::Entry::Vacant(slot) = known.states.entry(issue_id) {
                let found = state
                    .query_row(params![issue_id], |r| {
                        Ok(IssueState {
                            status: r.get(0)?,
                            times_seen: r.get(1)?,
                            ignore_until: r.get(2)?,
                            ignore_count: r.get(3)?,
                            ignore_baseline: r.get(4)?,
                            extended: r.get(5)?,
                            more: None,
                            resolution: None,
                        })
                    })
                    .optional()?;
                if let Some(found) = found {
                    slot.insert(found);
                }
            }
        }
    }
    Ok(known)
}

/// The issues' `UPDATE`: counters and seen times, and — unless an older event arrived late —
/// the newest event's level, title, culprit and release. SQLite evaluates every right-hand
/// side against the row as it was, so `last_seen <= ?3` compares with the old value. A
/// reopened issue also drops its status conditions.
const UPDATE_ISSUE: &str = "\
UPDATE issues SET times_seen = times_seen + ?1, users_seen = users_seen + ?12,
    first_seen = MIN(first_seen, ?2), last_seen = MAX(last_seen, ?3),
    first_release = COALESCE(first_release, ?4),
    level = CASE WHEN last_seen <= ?3 THEN ?5 ELSE level END,
    title = CASE WHEN last_seen <= ?3 THEN ?6 ELSE title END,
    culprit = CASE WHEN last_seen <= ?3 THEN ?7 ELSE culprit END,
    type = CASE WHEN last_seen <= ?3 THEN ?8 ELSE type END,
    value = CASE WHEN last_seen <= ?3 THEN ?9 ELSE value END,
    last_release = CASE WHEN last_seen <= ?3 THEN COALESCE(?10, last_release) ELSE last_release END,
    status = CASE WHEN ?11 THEN 'unresolved' ELSE status END,
    resolved_at = CASE WHEN ?11 THEN NULL ELSE resolved_at END,
    ignore_until = CASE WHEN ?11 THEN NULL ELSE ignore_until END,
    ignore_count = CASE WHEN ?11 THEN NULL ELSE ignore_count END,
    ignore_baseline = CASE WHEN ?11 THEN NULL ELSE ignore_baseline END,
    resolved_in = CASE WHEN ?11 THEN NULL ELSE resolved_in END,
    resolved_in_release = CASE WHEN ?11 THEN NULL ELSE resolved_in_release END
WHERE id = ?13";

fn write(db: &rusqlite::Connection, writes: &BatchWrites<'_>) -> Result<(), StoreError> {
    let mut insert = db.prepare_cached(
        "INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, platform, release, \
         environment, user_key, tags, payload, dict_id, reopened, grouphash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    for e in writes.events {
        let row = e.row;
        insert.execute(params![
            row.project_id,
            row.event_id,
            e.issue_id,
            row.timestamp,
            row.received,
            row.level,
            row.platform,
            row.release,
            row.environment,
            row.user_key,
            row.tags_json(),
            row.payload,
            row.dict_id,
            e.reopened,
            row.primary_hash(),
        ])?;
    }
    // Users first: an insert that adds a row is a user new to that issue.
    let mut user = db.prepare_cached(
        "INSERT INTO issue_users (issue_id, user_key) VALUES (?1, ?2) ON CONFLICT (issue_id, user_key) DO NOTHING",
    )?;
    let mut new_users: HashMap<i64, i64> = HashMap::new();
    for (issue_id, user_key) in &writes.users {
        let added = user.execute(params![issue_id, user_key])?;
        *new_users.entry(*issue_id).or_default() += i64::try_from(added).unwrap_or(0);
    }
    let mut update = db.prepare_cached(UPDATE_ISSUE)?;
    for (issue_id, delta) in writes.deltas {
        let row = writes.rows[delta.latest_index];
        update.execute(params![
            delta.count,
            delta.min_timestamp,
            delta.max_timestamp,
            delta.first_release,
            row.level,
            row.issue.title,
            row.issue.culprit,
            row.issue.ty,
            row.issue.value,
            row.release,
            delta.reopen,
            new_users.get(issue_id).copied().unwrap_or(0),
            issue_id,
        ])?;
    }
    let mut hourly = db.prepare_cached(
        "INSERT INTO issue_hourly (issue_id, hour, count) VALUES (?1, ?2, ?3) \
         ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly.count + excluded.count",
    )?;
    for (issue_id, hour, count) in &writes.hourly {
        hourly.execute(params![issue_id, hour, count])?;
    }
    let mut tag = db.prepare_cached(
        "INSERT INTO issue_tag_values AS t (issue_id, key, value, count, first_seen, last_seen) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (issue_id, key, value) DO UPDATE SET count = t.count + excluded.count, \
         first_seen = MIN(t.first_seen, excluded.first_seen), last_seen = MAX(t.last_seen, excluded.last_seen)",
    )?;
    for t in &writes.tag_values {
        tag.execute(params![t.issue_id, t.key, t.value, t.count, t.first_seen, t.last_seen])?;
    }
    let mut activity = db.prepare_cached("INSERT INTO activity (issue_id, kind, data, at) VALUES (?1, ?2, ?3, ?4)")?;
    for a in writes.activity {
        activity.execute(params![a.issue_id, a.kind, a.data, a.at])?;
    }
    Ok(())
}
