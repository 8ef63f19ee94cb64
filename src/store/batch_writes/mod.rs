//! What a batch adds, written in as few statements as each backend allows. The digest decides
//! what to write; here it is aggregated to one row per distinct key (two events of one issue in
//! one hour make one bucket upsert, not two) and written in one hand-off: on SQLite as one text
//! of several statements (one per table), on PostgreSQL as one statement, because there every
//! statement is a network round trip and, with several nodes, the batch holds its issues' row
//! locks across all of them.

mod postgres;
mod sqlite;

use std::collections::BTreeMap;

use super::StoreError;
use super::events::EventRow;
use super::issue_writes::{Activity, IssueDelta};
use super::pool::Conn;

/// What the write says (as [`StoreError::Conflict`]) when the unique index refuses an event id
/// of the batch: it was stored already, and the batch's look-up did not look (PostgreSQL's
/// single statement); the whole statement was undone.
pub(super) const STORED_ALREADY: &str = "an event id of the batch is stored already";

/// One tag value's share of a batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct TagValue<'a> {
    pub issue_id: i64,
    pub key: &'a str,
    pub value: &'a str,
    pub count: i64,
    pub first_seen: f64,
    pub last_seen: f64,
}

/// An event of the batch to insert, with the issue it joined.
#[derive(Debug, Clone, Copy)]
pub(super) struct NewEvent<'a> {
    pub row: &'a EventRow,
    pub issue_id: i64,
    /// It reopened its issue (a regression or an ignore's end): retention keeps it.
    pub reopened: bool,
}

/// Everything a batch inserts or adds to, one row per key, sorted by key (so that every
/// writer touches shared rows in one order).
pub(super) struct BatchWrites<'a> {
    pub events: &'a [NewEvent<'a>],
    /// Distinct `(issue, user)` pairs.
    pub users: Vec<(i64, &'a str)>,
    /// `(issue, hour, events)`.
    pub hourly: Vec<(i64, i64, i64)>,
    pub tag_values: Vec<TagValue<'a>>,
    /// What each touched issue gains, keyed by issue id.
    pub deltas: &'a BTreeMap<i64, IssueDelta>,
    /// The batch's rows, which the deltas index.
    pub rows: &'a [&'a EventRow],
    pub activity: &'a [Activity],
    /// Issues read unresolved without a lock ([`super::batch_reads::Known::unlocked`]), which
    /// PostgreSQL's write checks once it holds them.
    pub unlocked: &'a [i64],
}

impl<'a> BatchWrites<'a> {
    pub fn new(
        events: &'a [NewEvent<'a>],
        deltas: &'a BTreeMap<i64, IssueDelta>,
        rows: &'a [&'a EventRow],
        activity: &'a [Activity],
    ) -> BatchWrites<'a> {
        let mut users: Vec<(i64, &str)> = events
            .iter()
            .filter_map(|e| e.row.user_key.as_deref().map(|u| (e.issue_id, u)))
            .collect();
        users.sort_unstable();
        users.dedup();
        let mut hourly: BTreeMap<(i64, i64), i64> = BTreeMap::new();
        let mut tags: BTreeMap<(i64, &str, &str), TagValue> = BTreeMap::new();
        for NewEvent { row, issue_id, .. } in events {
            *hourly
                .entry((*issue_id, (row.timestamp / 3600.0).floor() as i64))
                .or_default() += 1;
            for (key, value) in &row.tags {
                let tag = tags.entry((*issue_id, key, value)).or_insert(TagValue {
                    issue_id: *issue_id,
                    key,
                    value,
                    count: 0,
                    first_seen: row.timestamp,
                    last_seen: row.timestamp,
                });
                tag.count += 1;
                tag.first_seen = tag.first_seen.min(row.timestamp);
                tag.last_seen = tag.last_seen.max(row.timestamp);
            }
        }
        BatchWrites {
            events,
            users,
            hourly: hourly.into_iter().map(|((issue, hour), n)| (issue, hour, n)).collect(),
            tag_values: tags.into_values().collect(),
            deltas,
            rows,
            activity,
            unlocked: &[],
        }
    }
}

/// Writes all of it inside the caller's transaction.
pub(super) async fn write(conn: &mut Conn<'_>, writes: &BatchWrites<'_>) -> Result<(), StoreError> {
    match conn {
        Conn::Sqlite(c) => sqlite::write(c, writes).await,
        Conn::Postgres(c) => postgres::write(c, writes).await,
    }
}
