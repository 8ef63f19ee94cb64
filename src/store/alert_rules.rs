//! Alert rules and when each last fired for each issue (issue 17). Rules are read inside the
//! writer's batch transaction, where the per-issue interval is decided, so two nodes cannot both
//! fire a rule for one issue.

use sqlx::Row;

use super::pool::{Conn, on};
use super::{Pool, StoreError, Triggers};
use crate::event::Level;
use crate::notify::rules::{AlertFacts, RuleSpec, TagFilter, Threshold};

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRule {
    pub id: i64,
    pub project_id: i64,
    pub spec: RuleSpec,
}

fn threshold(count: Option<i64>, minutes: Option<i64>) -> Option<Threshold> {
    Some(Threshold {
        count: count?,
        minutes: minutes?,
    })
}

/// A rule from a row of [`RULE_COLUMNS`] (a macro: the row is SQLite's or PostgreSQL's); its
/// channels are read apart.
macro_rules! rule_from_row {
    ($r:expr) => {{
        let r = $r;
        AlertRule {
            id: r.get(0),
            project_id: r.get(1),
            spec: RuleSpec {
                name: r.get(2),
                triggers: Triggers {
                    new: r.get::<i64, _>(3) != 0,
                    regression: r.get::<i64, _>(4) != 0,
                    unignored: r.get::<i64, _>(5) != 0,
                },
                environments: serde_json::from_str(r.get::<&str, _>(6)).unwrap_or_default(),
                min_level: r
                    .get::<Option<String>, _>(7)
                    .and_then(|l| Level::parse(&serde_json::Value::String(l))),
                tags: serde_json::from_str::<Vec<TagFilter>>(r.get::<&str, _>(8)).unwrap_or_default(),
                interval_minutes: r.get(9),
                frequency: threshold(r.get(10), r.get(11)),
                users: threshold(r.get(12), r.get(13)),
                release: r.get(14),
                assigned: r.get::<Option<String>, _>(15).map(|a| a == "assigned"),
                latest_release: r.get::<i64, _>(16) != 0,
                channels: Vec::new(),
            },
        }
    }};
}

const RULE_COLUMNS: &str = "id, project_id, name, on_new, on_regression, on_unignored, environments, min_level, \
     tag_filters, interval_minutes, frequency_count, frequency_minutes, users_count, users_minutes, \
     release_pattern, assigned, latest_release";

/// The rules of a project, oldest first, with their channels.
pub async fn list_rules(pool: &Pool, project_id: i64) -> Result<Vec<AlertRule>, StoreError> {
    on!(pool, |c| {
        let mut conn = c.acquire().await?;
        rules_on(&mut Conn::from(&mut *conn), project_id).await
    })
}

/// [`list_rules`] on any connection: the writer reads rules inside its transaction.
pub(super) async fn rules_on(conn: &mut Conn<'_>, project_id: i64) -> Result<Vec<AlertRule>, StoreError> {
    let (mut rules, links): (Vec<AlertRule>, Vec<(i64, i64)>) = on!(conn, |c| {
        let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE project_id = $1 ORDER BY id");
        let rules = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(project_id)
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(|r| rule_from_row!(r))
            .collect();
        let links = sqlx::query(
            "SELECT l.rule_id, l.channel_id FROM alert_rule_channels l JOIN alert_rules r ON r.id = l.rule_id \
             WHERE r.project_id = $1 ORDER BY l.channel_id",
        )
        .bind(project_id)
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1)))
        .collect();
        (rules, links)
    });
    for rule in &mut rules {
        rule.spec.channels = links.iter().filter(|(r, _)| *r == rule.id).map(|(_, ch)| *ch).collect();
    }
    Ok(rules)
}

pub async fn rule_by_id(pool: &Pool, project_id: i64, rule_id: i64) -> Result<Option<AlertRule>, StoreError> {
    Ok(list_rules(pool, project_id)
        .await?
        .into_iter()
        .find(|r| r.id == rule_id))
}

/// Writes `spec` into rule `id` of the project, with its channels, inside the caller's
/// transaction; evaluates to whether the project has that rule.
macro_rules! write_definition {
    ($tx:expr, $id:expr, $project_id:expr, $spec:expr) => {{
        let spec: &RuleSpec = $spec;
        let changed = sqlx::query(
            "UPDATE alert_rules SET name = $1, on_new = $2, on_regression = $3, on_unignored = $4, environments = $5, \
             min_level = $6, tag_filters = $7, interval_minutes = $8, frequency_count = $9, frequency_minutes = $10, \
             users_count = $11, users_minutes = $12, release_pattern = $13, assigned = $14, \
             latest_release = $15 WHERE id = $16 AND project_id = $17",
        )
        .bind(spec.name.trim())
        .bind(i64::from(spec.triggers.new))
        .bind(i64::from(spec.triggers.regression))
        .bind(i64::from(spec.triggers.unignored))
        .bind(serde_json::to_string(&spec.environments).unwrap_or_else(|_| "[]".into()))
        .bind(spec.min_level.map(|l| l.as_str()))
        .bind(serde_json::to_string(&spec.tags).unwrap_or_else(|_| "[]".into()))
        .bind(spec.interval_minutes)
        .bind(spec.frequency.map(|t| t.count))
        .bind(spec.frequency.map(|t| t.minutes))
        .bind(spec.users.map(|t| t.count))
        .bind(spec.users.map(|t| t.minutes))
        .bind(spec.release.as_deref())
        .bind(spec.assigned.map(|a| if a { "assigned" } else { "unassigned" }))
        .bind(i64::from(spec.latest_release))
        .bind($id)
        .bind($project_id)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            > 0;
        if changed {
            sqlx::query("DELETE FROM alert_rule_channels WHERE rule_id = $1")
                .bind($id)
                .execute(&mut *$tx)
                .await?;
            for channel in &spec.channels {
                sqlx::query("INSERT INTO alert_rule_channels (rule_id, channel_id) VALUES ($1, $2)")
                    .bind($id)
                    .bind(channel)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
        changed
    }};
}

/// Inserts `spec` as a new rule of the project, with its channels, inside the caller's
/// transaction; evaluates to its id.
macro_rules! insert_rule {
    ($tx:expr, $project_id:expr, $spec:expr, $now:expr) => {{
        let spec: &RuleSpec = $spec;
        let id: i64 =
            sqlx::query("INSERT INTO alert_rules (project_id, name, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind($project_id)
                .bind(spec.name.trim())
                .bind($now)
                .fetch_one(&mut *$tx)
                .await?
                .get(0);
        // By path: the macro also expands in other modules of the store (`outbox`).
        super::alert_rules::write_definition!($tx, id, $project_id, spec);
        id
    }};
}
pub(super) use {insert_rule, write_definition};

/// Stores a new rule (already validated, its channels checked to be the project's).
pub async fn create_rule(pool: &Pool, project_id: i64, spec: &RuleSpec, now: f64) -> Result<i64, StoreError> {
    on!(pool, |c| {
        let mut tx = c.begin().await?;
        let id = insert_rule!(tx, project_id, spec, now);
        tx.commit().await?;
        Ok(id)
    })
}

/// Replaces a rule's definition; `false` when the project has no such rule. When it last fired
/// is kept, so an edit does not make it fire again at once.
pub async fn update_rule(pool: &Pool, project_id: i64, rule_id: i64, spec: &RuleSpec) -> Result<bool, StoreError> {
    on!(pool, |c| {
        let mut tx = c.begin().await?;
        let changed = write_definition!(tx, rule_id, project_id, spec);
        tx.commit().await?;
        Ok(changed)
    })
}

pub async fn delete_rule(pool: &Pool, project_id: i64, rule_id: i64) -> Result<bool, StoreError> {
    on!(pool, |c| {
        Ok(sqlx::query("DELETE FROM alert_rules WHERE id = $1 AND project_id = $2")
            .bind(rule_id)
            .bind(project_id)
            .execute(c)
            .await?
            .rows_affected()
            > 0)
    })
}

/// Records that `rule_id` fires for `issue_id` now, unless it fired less than `interval_minutes`
/// ago; `true` when it may fire. One statement, so that concurrent writers (nodes) agree: the
/// second waits on the first's row and then finds it too recent.
pub(super) async fn claim_fire(
    conn: &mut Conn<'_>,
    rule_id: i64,
    issue_id: i64,
    interval_minutes: i64,
    now: f64,
) -> Result<bool, StoreError> {
    let cutoff = now - (interval_minutes as f64) * 60.0;
    on!(conn, |c| {
        Ok(sqlx::query(
            "INSERT INTO alert_rule_fires (rule_id, issue_id, fired_at) VALUES ($1, $2, $3) \
             ON CONFLICT (rule_id, issue_id) DO UPDATE SET fired_at = excluded.fired_at \
             WHERE alert_rule_fires.fired_at <= $4 RETURNING rule_id",
        )
        .bind(rule_id)
        .bind(issue_id)
        .bind(now)
        .bind(cutoff)
        .fetch_optional(c)
        .await?
        .is_some())
    })
}

/// Reads what the filters of `rules` need beyond the event itself: the issue's assignee, and
/// whether the event's release is the project's latest. Only when one of them asks: most rules
/// need neither, and the writer's transaction should not pay for them.
pub(super) async fn complete_facts<'r>(
    conn: &mut Conn<'_>,
    rules: impl Iterator<Item = &'r AlertRule> + Clone,
    project_id: i64,
    issue_id: i64,
    facts: &mut AlertFacts<'_>,
    now: f64,
) -> Result<(), StoreError> {
    if facts.assigned.is_none() && rules.clone().any(|r| r.spec.needs_assignee()) {
        facts.assigned = Some(is_assigned(conn, issue_id).await?);
    }
    if facts.release_is_latest.is_none() && rules.clone().any(|r| r.spec.needs_latest_release()) {
        facts.release_is_latest = Some(match facts.release {
            Some(release) => {
                super::releases::latest_release_on(conn, project_id, Some(release), now)
                    .await?
                    .as_deref()
                    == Some(release)
            }
            None => false,
        });
    }
    Ok(())
}

/// Whether the issue has an assignee (for rules that filter on it).
async fn is_assigned(conn: &mut Conn<'_>, issue_id: i64) -> Result<bool, StoreError> {
    on!(conn, |c| {
        Ok(sqlx::query("SELECT assignee_id IS NOT NULL FROM issues WHERE id = $1")
            .bind(issue_id)
            .fetch_optional(c)
            .await?
            .is_some_and(|r| r.get::<bool, _>(0)))
    })
}

/// One notification in a project's alert history.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertHistoryRow {
    pub created_at: f64,
    /// The rule that sent it (none for tests, summaries and rules since deleted).
    pub rule: Option<String>,
    pub trigger: String,
    pub issue_id: Option<i64>,
    pub channel: String,
    pub state: String,
    pub last_error: Option<String>,
}

/// The project's latest notifications, newest first: what fired and how delivery went.
pub async fn alert_history(pool: &Pool, project_id: i64, limit: i64) -> Result<Vec<AlertHistoryRow>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query_as::<
            _,
            (
                f64,
                Option<String>,
                String,
                Option<i64>,
                String,
                String,
                String,
                Option<String>,
            ),
        >(
            "SELECT o.created_at, r.name, o.trigger, o.issue_id, c.kind, c.target, o.state, o.last_error \
               FROM outbox o JOIN alert_channels c ON c.id = o.channel_id LEFT JOIN alert_rules r ON r.id = o.rule_id \
              WHERE c.project_id = $1 ORDER BY o.id DESC LIMIT $2",
        )
        .bind(project_id)
        .bind(limit)
        .fetch_all(c)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(created_at, rule, trigger, issue_id, kind, target, state, last_error)| AlertHistoryRow {
                    created_at,
                    rule,
                    trigger,
                    issue_id,
                    channel: format!("{kind} {target}"),
                    state,
                    last_error,
                },
            )
            .collect())
    })
}

/// When each rule of the project last fired (for any issue), for the rules list.
pub async fn last_fired(pool: &Pool, project_id: i64) -> Result<std::collections::HashMap<i64, f64>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query(
            "SELECT f.rule_id, MAX(f.fired_at) FROM alert_rule_fires f JOIN alert_rules r ON r.id = f.rule_id \
             WHERE r.project_id = $1 GROUP BY f.rule_id",
        )
        .bind(project_id)
        .fetch_all(c)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    })
}
