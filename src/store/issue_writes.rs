//! The writer's statements about issues: multi-row where the batch allows it.

use sqlx::{QueryBuilder, Row};

use super::pool::{Conn, on};

use super::StoreError;
use super::events::EventRow;

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
    /// The issue goes back to unresolved (regression or ended ignore).
    pub reopen: bool,
    /// An ignore's window after this batch, when it continues: (start, events in it).
    pub ignore_window: Option<(f64, i64)>,
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
            reopen: false,
            ignore_window: None,
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
    /// The ignore also ends on users or a window ([`MoreConditions`]). The fast path reads only
    /// this and leaves such batches to the general path, which loads `more`.
    pub extended: bool,
    pub more: Option<MoreConditions>,
    /// How a resolved issue was resolved in a release; loaded on the general path only
    /// (`resolutions::load_resolutions`), which the fast path leaves resolved issues to.
    pub resolution: Option<super::resolutions::Resolution>,
}

/// An ignore's conditions on distinct users and on events within a window.
#[derive(Debug, Clone, Default)]
pub struct MoreConditions {
    /// More distinct users that end the ignore, and how many it has gained since.
    pub users: Option<i64>,
    pub users_gained: i64,
    /// Rows of the batch that bring the issue a user it had not seen, in order.
    pub new_user_rows: Vec<usize>,
    /// `(events, seconds)`: that many events within that long end the ignore.
    pub window: Option<(i64, f64)>,
    /// The window under way: when it started, and its events so far.
    pub window_start: Option<f64>,
    pub window_seen: i64,
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

/// `ignore_users, ignore_users_baseline, users_seen, ignore_window_count, ignore_window,
/// ignore_window_start, ignore_window_seen` of an issue.
type ConditionsRow = (
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<f64>,
    Option<f64>,
    Option<i64>,
);

/// For the batch's ignored issues: the ignore's conditions on users and on a window, and which
/// of the batch's rows bring each a user it has not seen. Ignores are rare, so this is a read
/// of its own, on the general path only.
pub async fn load_more_conditions(
    conn: &mut Conn<'_>,
    rows: &[&EventRow],
    assigned: &[super::digest::Assigned],
    states: &mut std::collections::HashMap<i64, IssueState>,
) -> Result<(), StoreError> {
    let mut ignored: Vec<i64> = assigned
        .iter()
        .map(|a| a.issue_id)
        .filter(|id| states.get(id).is_some_and(|s| s.status == "ignored"))
        .collect();
    ignored.sort_unstable();
    ignored.dedup();
    for issue_id in ignored {
        let (users, baseline, users_seen, window_count, window, start, seen): ConditionsRow =
            on!(conn, |c| sqlx::query_as(
                "SELECT ignore_users, ignore_users_baseline, users_seen, ignore_window_count, ignore_window, \
             ignore_window_start, ignore_window_seen FROM issues WHERE id = $1"
            )
            .bind(issue_id)
            .fetch_one(&mut *c)
            .await?);
        if users.is_none() && window_count.is_none() {
            continue;
        }
        let mut more = MoreConditions {
            users,
            users_gained: users_seen - baseline.unwrap_or(users_seen),
            window: window_count.zip(window),
            window_start: start,
            window_seen: seen.unwrap_or(0),
            ..MoreConditions::default()
        };
        if users.is_some() {
            let mut fresh = std::collections::HashSet::new();
            for a in assigned.iter().filter(|a| a.issue_id == issue_id) {
                let Some(key) = rows[a.index].user_key.as_deref() else {
                    continue;
                };
                if fresh.contains(key) {
                    continue;
                }
                let known = on!(conn, |c| sqlx::query(
                    "SELECT 1 FROM issue_users WHERE issue_id = $1 AND user_key = $2"
                )
                .bind(issue_id)
                .bind(key)
                .fetch_optional(&mut *c)
                .await?
                .is_some());
                if !known {
                    fresh.insert(key);
                    more.new_user_rows.push(a.index);
                }
            }
        }
        if let Some(state) = states.get_mut(&issue_id) {
            state.extended = true;
            state.more = Some(more);
        }
    }
    Ok(())
}

/// After the batch's writes: an ignore's window carries on with its new count, and an ignore
/// that ended drops its conditions on users and windows (the batch's `UPDATE` cleared the rest).
pub async fn settle_more_conditions(
    conn: &mut Conn<'_>,
    deltas: &std::collections::BTreeMap<i64, IssueDelta>,
    states: &std::collections::HashMap<i64, IssueState>,
) -> Result<(), StoreError> {
    for (issue_id, delta) in deltas {
        if states.get(issue_id).is_none_or(|s| s.more.is_none()) {
            continue;
        }
        on!(conn, |c| {
            if let Some((start, seen)) = delta.ignore_window {
                sqlx::query("UPDATE issues SET ignore_window_start = $1, ignore_window_seen = $2 WHERE id = $3")
                    .bind(start)
                    .bind(seen)
                    .bind(issue_id)
                    .execute(&mut *c)
                    .await?;
            } else if delta.reopen {
                sqlx::query(
                    "UPDATE issues SET ignore_users = NULL, ignore_users_baseline = NULL, ignore_window = NULL, \
                     ignore_window_count = NULL, ignore_window_start = NULL, ignore_window_seen = NULL WHERE id = $1",
                )
                .bind(issue_id)
                .execute(&mut *c)
                .await?;
            }
        });
    }
    Ok(())
}
