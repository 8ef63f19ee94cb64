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
