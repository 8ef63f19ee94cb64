//! Changes people make to issues (status, deletion). They run in the writer's transaction like
//! events do, so a resolve and a concurrent regression are ordered, never interleaved.

use sqlx::Row;

use super::issue_writes::Activity;
use super::pool::{Conn, on};
use super::resolutions::ResolvedIn;
use super::{Pool, StoreError};

/// A requested status.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusChange {
    Resolved,
    /// Resolved until an event of a newer release ([`ResolvedIn`]).
    ResolvedIn(ResolvedIn),
    Unresolved,
    /// Ignored until whichever comes first of: a time (epoch seconds), a number of more
    /// events, a number of more distinct users, `window.0` events within `window.1` seconds.
    /// None of them: ignored until someone unignores it.
    Ignored {
        until: Option<f64>,
        count: Option<i64>,
        users: Option<i64>,
        window: Option<(i64, f64)>,
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
    /// `sources` (of the target's project) become part of `target`.
    Merge {
        target: i64,
        sources: Vec<i64>,
        actor: String,
    },
    /// `hash` and its events leave `issue_id` for a new issue (answered `Split`).
    Unmerge {
        issue_id: i64,
        hash: String,
        facts: super::issue_merge::SplitFacts,
        actor: String,
    },
}

/// What a command found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandOutcome {
    Done,
    NotFound,
    /// Unmerging made this issue.
    Split(i64),
}

pub async fn apply(conn: &mut Conn<'_>, cmd: &IssueCommand, now: f64) -> Result<CommandOutcome, StoreError> {
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
            let updated = on!(conn, |c| sqlx::query(
                "UPDATE issues SET assignee_id = $1 WHERE id = $2"
            )
            .bind(user_id)
            .bind(issue_id)
            .execute(c)
            .await?
            .rows_affected());
            if updated == 0 {
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
            on!(conn, |c| {
                sqlx::query(
                    "INSERT INTO issue_links (issue_id, url, label, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(issue_id)
                .bind(url)
                .bind(label)
                .bind(actor)
                .bind(now)
                .execute(c)
                .await?;
            });
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
        IssueCommand::Merge { target, sources, actor } => {
            super::issue_merge::merge(conn, *target, sources, actor, now).await
        }
        IssueCommand::Unmerge {
            issue_id,
            hash,
            facts,
            actor,
        } => Ok(
            match super::issue_merge::unmerge(conn, *issue_id, hash, facts, actor, now).await? {
                Some(new_issue) => CommandOutcome::Split(new_issue),
                None => CommandOutcome::NotFound,
            },
        ),
        IssueCommand::Delete { issue_id } => {
            let done = on!(conn, |c| sqlx::query("DELETE FROM issues WHERE id = $1")
                .bind(issue_id)
                .execute(c)
                .await?
                .rows_affected());
            Ok(if done > 0 {
                CommandOutcome::Done
            } else {
                CommandOutcome::NotFound
            })
        }
    }
}

async fn set_status(
    conn: &mut Conn<'_>,
    issue_id: i64,
    change: &StatusChange,
    actor: &str,
    now: f64,
) -> Result<CommandOutcome, StoreError> {
    on!(conn, |c, DB| {
        let none = (None, None, None, None);
        let (status, resolved_at, (until, count, users, window)) = match change {
            StatusChange::Resolved | StatusChange::ResolvedIn(_) => ("resolved", Some(now), none),
            StatusChange::Unresolved => ("unresolved", None, none),
            StatusChange::Ignored {
                until,
                count,
                users,
                window,
            } => ("ignored", None, (*until, *count, *users, *window)),
        };
        // Every other change clears a resolution in a release.
        let (resolved_in, resolved_in_release) = match change {
            StatusChange::ResolvedIn(r) => {
                let (kind, version) = r.columns();
                (Some(kind), version)
            }
            _ => (None, None),
        };
        // The baselines are the issue's counts now; a window starts with the next event.
        let updated = sqlx::query(
            "UPDATE issues SET status = $1, resolved_at = $2, ignore_until = $3, ignore_count = $4, \
             ignore_baseline = CASE WHEN $5 IS NULL THEN NULL ELSE times_seen END, \
             ignore_users = $6, ignore_users_baseline = CASE WHEN $7 IS NULL THEN NULL ELSE users_seen END, \
             ignore_window_count = $8, ignore_window = $9, ignore_window_start = NULL, ignore_window_seen = NULL, \
             resolved_in = $11, resolved_in_release = $12 \
             WHERE id = $10 RETURNING id",
        )
        .bind(status)
        .bind(resolved_at)
        .bind(until)
        .bind(count)
        .bind(count)
        .bind(users)
        .bind(users)
        .bind(window.map(|w| w.0))
        .bind(window.map(|w| w.1))
        .bind(issue_id)
        .bind(resolved_in)
        .bind(resolved_in_release)
        .fetch_optional(&mut *c)
        .await?;
        if updated.is_none() {
            return Ok(CommandOutcome::NotFound);
        }
        let kind = match change {
            StatusChange::Resolved => "set_resolved",
            StatusChange::ResolvedIn(_) => "set_resolved_in_release",
            StatusChange::Unresolved => "set_unresolved",
            StatusChange::Ignored { .. } => "set_ignored",
        };
        let data = match change {
            // Sentry's entry: `version` is the release, "" for the next release (which Sentry
            // fills in once that release exists); we keep the release it is the next after.
            StatusChange::ResolvedIn(ResolvedIn::Release(version)) => serde_json::json!({ "version": version }),
            StatusChange::ResolvedIn(ResolvedIn::NextRelease { after }) => serde_json::json!({
                "version": "",
                "in_next_release": true,
                "current_release_version": after,
            }),
            _ => serde_json::json!({
                "ignore_until": until,
                "ignore_count": count,
                "ignore_users": users,
                "ignore_window_count": window.map(|w| w.0),
                "ignore_window": window.map(|w| w.1),
            }),
        }
        .to_string();
        let activity = Activity {
            issue_id,
            kind,
            data,
            at: now,
        };
        sqlx::query("INSERT INTO activity (issue_id, kind, data, actor, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(activity.issue_id)
            .bind(activity.kind)
            .bind(&activity.data)
            .bind(actor)
            .bind(activity.at)
            .execute(&mut *c)
            .await?;
        Ok(CommandOutcome::Done)
    })
}

/// The activity log of an issue, oldest first: `(kind, data JSON, actor, at)`.
pub async fn activity_of(pool: &Pool, issue_id: i64) -> Result<Vec<(String, String, Option<String>, f64)>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query("SELECT kind, data, actor, at FROM activity WHERE issue_id = $1 ORDER BY at, id")
            .bind(issue_id)
            .fetch_all(c)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
    })
}

async fn exists(conn: &mut Conn<'_>, issue_id: i64) -> Result<bool, StoreError> {
    on!(conn, |c, DB| {
        Ok(sqlx::query("SELECT 1 FROM issues WHERE id = $1")
            .bind(issue_id)
            .fetch_optional(&mut *c)
            .await?
            .is_some())
    })
}

pub(super) async fn log(
    conn: &mut Conn<'_>,
    issue_id: i64,
    kind: &str,
    data: &str,
    actor: &str,
    now: f64,
) -> Result<CommandOutcome, StoreError> {
    on!(conn, |c, DB| {
        sqlx::query("INSERT INTO activity (issue_id, kind, data, actor, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(issue_id)
            .bind(kind)
            .bind(data)
            .bind(actor)
            .bind(now)
            .execute(&mut *c)
            .await?;
        Ok(CommandOutcome::Done)
    })
}
