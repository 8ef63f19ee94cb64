//! Changes people make to issues (status, deletion). They run in the writer's transaction like
//! events do, so a resolve and a concurrent regression are ordered, never interleaved.

use sqlx::{Row, SqliteConnection};

use super::issue_writes::Activity;
use super::{Pool, StoreError};

/// A requested status.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusChange {
    Resolved,
    Unresolved,
    /// Ignored until an optional time (epoch seconds) and/or an optional number of more events.
    Ignored {
        until: Option<f64>,
        count: Option<i64>,
    },
}

/// A change to an issue, made by `actor` (a token name, a user).
#[derive(Debug, Clone)]
pub enum IssueCommand {
    SetStatus {
        issue_id: i64,
        change: StatusChange,
        actor: String,
    },
    Delete {
        issue_id: i64,
    },
    /// `None` unassigns.
    Assign {
        issue_id: i64,
        user_id: Option<i64>,
        actor: String,
    },
    AddLink {
        issue_id: i64,
        url: String,
        label: String,
        actor: String,
    },
    Comment {
        issue_id: i64,
        text: String,
        actor: String,
    },
}

/// What a command found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandOutcome {
    Done,
    NotFound,
}

pub async fn apply(conn: &mut SqliteConnection, cmd: &IssueCommand, now: f64) -> Result<CommandOutcome, StoreError> {
    match cmd {
        IssueCommand::SetStatus {
            issue_id,
            change,
            actor,
        } => set_status(conn, *issue_id, change, actor, now).await,
        IssueCommand::Assign {
            issue_id,
            user_id,
            actor,
        } => {
            let updated = sqlx::query("UPDATE issues SET assignee_id = ? WHERE id = ? RETURNING id")
                .bind(user_id)
                .bind(issue_id)
                .fetch_optional(&mut *conn)
                .await?;
            if updated.is_none() {
                return Ok(CommandOutcome::NotFound);
            }
            let data = serde_json::json!({ "assignee_id": user_id }).to_string();
            log(
                conn,
                *issue_id,
                if user_id.is_some() { "assigned" } else { "unassigned" },
                &data,
                actor,
                now,
            )
            .await
        }
        IssueCommand::AddLink {
            issue_id,
            url,
            label,
            actor,
        } => {
            if !exists(conn, *issue_id).await? {
                return Ok(CommandOutcome::NotFound);
            }
            sqlx::query(
                "INSERT INTO issue_links (issue_id, url, label, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(issue_id)
            .bind(url)
            .bind(label)
            .bind(actor)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            let data = serde_json::json!({ "url": url, "label": label }).to_string();
            log(conn, *issue_id, "linked", &data, actor, now).await
        }
        IssueCommand::Comment { issue_id, text, actor } => {
            if !exists(conn, *issue_id).await? {
                return Ok(CommandOutcome::NotFound);
            }
            let data = serde_json::json!({ "text": text }).to_string();
            log(conn, *issue_id, "note", &data, actor, now).await
        }
        IssueCommand::Delete { issue_id } => {
            let done = sqlx::query("DELETE FROM issues WHERE id = ?")
                .bind(issue_id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok(if done > 0 {
                CommandOutcome::Done
            } else {
                CommandOutcome::NotFound
            })
        }
    }
}

async fn set_status(
    conn: &mut SqliteConnection,
    issue_id: i64,
    change: &StatusChange,
    actor: &str,
    now: f64,
) -> Result<CommandOutcome, StoreError> {
    let (status, resolved_at, until, count) = match change {
        StatusChange::Resolved => ("resolved", Some(now), None, None),
        StatusChange::Unresolved => ("unresolved", None, None, None),
        StatusChange::Ignored { until, count } => ("ignored", None, *until, *count),
    };
    let updated = sqlx::query(
        "UPDATE issues SET status = ?, resolved_at = ?, ignore_until = ?, ignore_count = ?, \
         ignore_baseline = CASE WHEN ? IS NULL THEN NULL ELSE times_seen END WHERE id = ? RETURNING id",
    )
    .bind(status)
    .bind(resolved_at)
    .bind(until)
    .bind(count)
    .bind(count)
    .bind(issue_id)
    .fetch_optional(&mut *conn)
    .await?;
    if updated.is_none() {
        return Ok(CommandOutcome::NotFound);
    }
    let kind = match change {
        StatusChange::Resolved => "set_resolved",
        StatusChange::Unresolved => "set_unresolved",
        StatusChange::Ignored { .. } => "set_ignored",
    };
    let data = serde_json::json!({ "ignore_until": until, "ignore_count": count }).to_string();
    let activity = Activity {
        issue_id,
        kind,
        data,
        at: now,
    };
    sqlx::query("INSERT INTO activity (issue_id, kind, data, actor, at) VALUES (?, ?, ?, ?, ?)")
        .bind(activity.issue_id)
        .bind(activity.kind)
        .bind(&activity.data)
        .bind(actor)
        .bind(activity.at)
        .execute(&mut *conn)
        .await?;
    Ok(CommandOutcome::Done)
}

/// The activity log of an issue, oldest first: `(kind, data JSON, actor, at)`.
pub async fn activity_of(pool: &Pool, issue_id: i64) -> Result<Vec<(String, String, Option<String>, f64)>, StoreError> {
    let rows = sqlx::query("SELECT kind, data, actor, at FROM activity WHERE issue_id = ? ORDER BY at, id")
        .bind(issue_id)
        .fetch_all(pool.sqlite())
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
}

async fn exists(conn: &mut SqliteConnection, issue_id: i64) -> Result<bool, StoreError> {
    Ok(sqlx::query("SELECT 1 FROM issues WHERE id = ?")
        .bind(issue_id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some())
}

async fn log(
    conn: &mut SqliteConnection,
    issue_id: i64,
    kind: &str,
    data: &str,
    actor: &str,
    now: f64,
) -> Result<CommandOutcome, StoreError> {
    sqlx::query("INSERT INTO activity (issue_id, kind, data, actor, at) VALUES (?, ?, ?, ?, ?)")
        .bind(issue_id)
        .bind(kind)
        .bind(data)
        .bind(actor)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(CommandOutcome::Done)
}
