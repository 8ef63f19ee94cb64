//! Alert channels and the notification outbox. Rows are written inside the writer's batch
//! transaction (so a crash cannot lose or duplicate them); a dispatcher delivers them.

use sqlx::{QueryBuilder, Row};

use super::pool::{Conn, Dialect, on};
use super::{Pool, StoreError};
use crate::notify::rules::{AlertFacts, RuleSpec};

/// Where a project's alerts go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: i64,
    pub project_id: i64,
    /// `email`, `slack` or `webhook`.
    pub kind: String,
    /// Recipients (comma-separated) or the URL.
    pub target: String,
    pub on_new: bool,
    pub on_regression: bool,
    pub on_unignored: bool,
}

/// What fires a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    New,
    Regression,
    Unignored,
    /// A rule's "seen more than N times in M minutes".
    Frequency,
    /// A rule's "affecting more than N users in M minutes".
    Users,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::New => "new",
            Trigger::Regression => "regression",
            Trigger::Unignored => "unignored",
            Trigger::Frequency => "frequency",
            Trigger::Users => "users",
        }
    }
}

/// Which triggers a channel hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Triggers {
    pub new: bool,
    pub regression: bool,
    pub unignored: bool,
}

impl Triggers {
    pub const ALL: Triggers = Triggers {
        new: true,
        regression: true,
        unignored: true,
    };
}

/// Adds a channel. With triggers, it also gets a rule of its own that sends it those triggers
/// every time (no filters, no interval): what a channel with triggers always meant.
pub async fn add_channel(
    pool: &Pool,
    project_id: i64,
    kind: &str,
    target: &str,
    secret: Option<&str>,
    triggers: Triggers,
    now: f64,
) -> Result<i64, StoreError> {
    on!(pool, |c| {
        let mut tx = c.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO alert_channels (project_id, kind, target, secret, on_new, on_regression, on_unignored, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(project_id)
        .bind(kind)
        .bind(target)
        .bind(secret)
        .bind(i64::from(triggers.new))
        .bind(i64::from(triggers.regression))
        .bind(i64::from(triggers.unignored))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        if triggers.new || triggers.regression || triggers.unignored {
            let spec = RuleSpec::for_channel(format!("{kind} to {target}"), triggers, id);
            super::alert_rules::insert_rule!(tx, project_id, &spec, now);
        }
        tx.commit().await?;
        Ok(id)
    })
}

/// The alert channels of one project, or of every project.
pub async fn list_channels(pool: &Pool, project_id: Option<i64>) -> Result<Vec<Channel>, StoreError> {
    on!(pool, |c| {
        let mut conn = c.acquire().await?;
        channels_on(&mut Conn::from(&mut *conn), project_id).await
    })
}

/// [`list_channels`] on any connection: also read inside the writer's transaction.
async fn channels_on(conn: &mut Conn<'_>, project_id: Option<i64>) -> Result<Vec<Channel>, StoreError> {
    on!(conn, |c| {
        let rows = sqlx::query(
            "SELECT id, project_id, kind, target, on_new, on_regression, on_unignored FROM alert_channels \
             WHERE $1 IS NULL OR project_id = $2 ORDER BY id",
        )
        .bind(project_id)
        .bind(project_id)
        .fetch_all(c)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Channel {
                id: r.get(0),
                project_id: r.get(1),
                kind: r.get(2),
                target: r.get(3),
                on_new: r.get::<i64, _>(4) != 0,
                on_regression: r.get::<i64, _>(5) != 0,
                on_unignored: r.get::<i64, _>(6) != 0,
            })
            .collect())
    })
}

/// Advisory lock keys of the channels: this plus the channel id (far from `Task`'s keys).
const CHANNEL_LOCKS: i64 = 0x746f_6373_0100_0000;

/// The flood guard: per channel, at most `limit` notifications per window (an hour by default).
#[derive(Debug, Clone, Copy)]
pub struct FloodGuard {
    pub limit: i64,
    pub window_secs: f64,
}

impl FloodGuard {
    fn window(&self, now: f64) -> i64 {
        (now / self.window_secs).floor() as i64
    }
}

/// Queues the notifications the project's alert rules send for `trigger` on this issue: each
/// rule that hears the trigger, admits the event and has not fired for the issue within its
/// interval sends to its channels, and a channel that several rules name gets one message. Per
/// channel and window at most `guard.limit` go out; the rest are kept as `suppressed` and
/// counted in one `summary` notification due when the window ends.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue(
    conn: &mut Conn<'_>,
    project_id: i64,
    issue_id: i64,
    trigger: Trigger,
    facts: &AlertFacts<'_>,
    payload: &str,
    now: f64,
    guard: FloodGuard,
) -> Result<(), StoreError> {
    let rules = super::alert_rules::rules_on(conn, project_id).await?;
    let mut facts = *facts;
    let hearing = rules.iter().filter(|r| r.spec.hears(trigger));
    super::alert_rules::complete_facts(conn, hearing, project_id, issue_id, &mut facts, now).await?;
    let mut sent_to: Vec<i64> = Vec::new();
    for rule in rules.iter().filter(|r| r.spec.hears(trigger) && r.spec.admits(&facts)) {
        if rule.spec.channels.iter().all(|ch| sent_to.contains(ch)) {
            continue;
        }
        if rule.spec.interval_minutes > 0
            && !super::alert_rules::claim_fire(conn, rule.id, issue_id, rule.spec.interval_minutes, now).await?
        {
            continue;
        }
        for &channel in &rule.spec.channels {
            if sent_to.contains(&channel) {
                continue;
            }
            sent_to.push(channel);
            queue_on_channel(conn, channel, rule.id, issue_id, trigger, payload, now, guard).await?;
        }
    }
    Ok(())
}

/// The notifications of one rule that fired (a frequency rule: the writer decided it for this
/// rule alone): one per channel of the rule.
#[allow(clippy::too_many_arguments)]
pub(super) async fn queue_for_rule(
    conn: &mut Conn<'_>,
    rule: &super::alert_rules::AlertRule,
    issue_id: i64,
    trigger: Trigger,
    payload: &str,
    now: f64,
    guard: FloodGuard,
) -> Result<(), StoreError> {
    for &channel in &rule.spec.channels {
        queue_on_channel(conn, channel, rule.id, issue_id, trigger, payload, now, guard).await?;
    }
    Ok(())
}

/// One notification for one channel, under the channel's flood guard.
#[allow(clippy::too_many_arguments)]
async fn queue_on_channel(
    conn: &mut Conn<'_>,
    channel: i64,
    rule_id: i64,
    issue_id: i64,
    trigger: Trigger,
    payload: &str,
    now: f64,
    guard: FloodGuard,
) -> Result<(), StoreError> {
    let hour = guard.window(now);
    // Several nodes' writers enqueue at once on PostgreSQL: each takes the channel's lock until
    // its commit, so the count below sees the other nodes' rows and the flood guard (and its one
    // summary) holds for the cluster. One writer on SQLite needs no lock.
    if let Conn::Postgres(c) = conn {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHANNEL_LOCKS + channel)
            .execute(&mut **c)
            .await?;
    }
    let sent_this_hour: i64 = on!(conn, |c| {
        sqlx::query(
            "SELECT COUNT(*) FROM outbox WHERE channel_id = $1 AND hour = $2 AND trigger NOT IN ('summary', 'test') \
             AND state != 'suppressed'",
        )
        .bind(channel)
        .bind(hour)
        .fetch_one(c)
        .await?
        .get(0)
    });
    let state = if sent_this_hour >= guard.limit {
        "suppressed"
    } else {
        "pending"
    };
    on!(conn, |c| {
        sqlx::query(
            "INSERT INTO outbox (channel_id, rule_id, issue_id, trigger, payload, state, hour, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(channel)
        .bind(rule_id)
        .bind(issue_id)
        .bind(trigger.as_str())
        .bind(payload)
        .bind(state)
        .bind(hour)
        .bind(now)
        .bind(now)
        .execute(c)
        .await?;
    });
    if state == "suppressed" {
        summarise(conn, channel, hour, ((hour + 1) as f64) * guard.window_secs, now).await?;
    }
    Ok(())
}

/// Counts one more suppressed notification into the channel's summary for `hour`.
async fn summarise(conn: &mut Conn<'_>, channel_id: i64, hour: i64, due: f64, now: f64) -> Result<(), StoreError> {
    // The payload is JSON text on both backends; only the functions that edit it differ.
    let bump = match conn {
        Conn::Sqlite(_) => {
            "UPDATE outbox SET payload = json_set(payload, '$.suppressed', json_extract(payload, '$.suppressed') + 1) \
             WHERE channel_id = $1 AND hour = $2 AND trigger = 'summary' AND state = 'pending'"
        }
        Conn::Postgres(_) => {
            "UPDATE outbox SET payload = jsonb_set(payload::jsonb, '{suppressed}', \
             to_jsonb((payload::jsonb ->> 'suppressed')::bigint + 1))::text \
             WHERE channel_id = $1 AND hour = $2 AND trigger = 'summary' AND state = 'pending'"
        }
    };
    let updated = on!(conn, |c| sqlx::query(bump)
        .bind(channel_id)
        .bind(hour)
        .execute(c)
        .await?
        .rows_affected());
    if updated == 0 {
        on!(conn, |c| {
            sqlx::query(
                "INSERT INTO outbox (channel_id, trigger, payload, hour, next_attempt_at, created_at) \
             VALUES ($1, 'summary', '{\"suppressed\": 1}', $2, $3, $4)",
            )
            .bind(channel_id)
            .bind(hour)
            .bind(due)
            .bind(now)
            .execute(c)
            .await?;
        });
    }
    Ok(())
}

/// An outbox row as history and tests see it.
#[derive(Debug, Clone)]
pub struct OutboxRecord {
    pub id: i64,
    pub channel_id: i64,
    pub issue_id: Option<i64>,
    pub trigger: String,
    pub state: String,
    pub payload: String,
    pub attempts: i64,
    pub created_at: f64,
    pub delivered_at: Option<f64>,
    pub last_error: Option<String>,
}

/// Every outbox row (optionally of one issue), oldest first.
pub async fn outbox(pool: &Pool, issue_id: Option<i64>) -> Result<Vec<OutboxRecord>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query(
            "SELECT id, channel_id, issue_id, trigger, state, payload, attempts, created_at, delivered_at, last_error \
             FROM outbox WHERE $1 IS NULL OR issue_id = $2 ORDER BY id",
        )
        .bind(issue_id)
        .bind(issue_id)
        .fetch_all(c)
        .await?;
        Ok(rows
            .iter()
            .map(|r| OutboxRecord {
                id: r.get(0),
                channel_id: r.get(1),
                issue_id: r.get(2),
                trigger: r.get(3),
                state: r.get(4),
                payload: r.get(5),
                attempts: r.get(6),
                created_at: r.get(7),
                delivered_at: r.get(8),
                last_error: r.get(9),
            })
            .collect())
    })
}

/// A notification ready to send, with its channel and what it is about.
#[derive(Debug, Clone)]
pub struct DueItem {
    pub id: i64,
    pub trigger: String,
    pub payload: String,
    pub attempts: i64,
    pub created_at: f64,
    pub kind: String,
    pub target: String,
    pub secret: Option<String>,
    pub project_slug: String,
    pub issue_id: Option<i64>,
    pub short_number: Option<i64>,
    pub times_seen: Option<i64>,
    pub first_seen: Option<f64>,
    /// The issue's counts and times as they are when it is sent (not when it was queued).
    pub users_seen: Option<i64>,
    pub last_seen: Option<f64>,
}

/// Claims up to `limit` pending notifications whose time has come, oldest first, for
/// `lease_secs`, and returns them.
///
/// The claim moves `next_attempt_at` to the end of the lease: another node (or this one) sees
/// the row as not due until then. Delivery then marks it delivered or schedules its retry; a
/// node that dies in between leaves the row to be claimed again when the lease ends, so it is
/// delivered by another node rather than lost. Two nodes claiming at once do not both win:
/// PostgreSQL skips rows another claim has locked (`SKIP LOCKED`), and the outer `WHERE`
/// re-checks `next_attempt_at` on the row as the other claim left it. (SQLite has one writer.)
pub async fn claim_due(pool: &Pool, now: f64, lease_secs: f64, limit: i64) -> Result<Vec<DueItem>, StoreError> {
    on!(pool, |c, DB| {
        let claim = format!(
            "UPDATE outbox SET next_attempt_at = $1 \
              WHERE state = 'pending' AND next_attempt_at <= $2 AND id IN \
                    (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $2 \
                      ORDER BY next_attempt_at, id LIMIT $3 {}) \
             RETURNING id",
            DB::SKIP_LOCKED
        );
        let claimed: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(claim))
            .bind(now + lease_secs)
            .bind(now)
            .bind(limit)
            .fetch_all(c)
            .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<DB> = QueryBuilder::new(
            "SELECT o.id, o.trigger, o.payload, o.attempts, o.created_at, c.kind, c.target, c.secret, p.slug, \
                    o.issue_id, i.short_number, i.times_seen, i.first_seen, i.users_seen, i.last_seen \
               FROM outbox o JOIN alert_channels c ON c.id = o.channel_id JOIN projects p ON p.id = c.project_id \
               LEFT JOIN issues i ON i.id = o.issue_id \
              WHERE o.id IN (",
        );
        let mut ids = qb.separated(", ");
        for id in &claimed {
            ids.push_bind(*id);
        }
        qb.push(") ORDER BY o.created_at, o.id");
        let rows = qb.build().fetch_all(c).await?;
        Ok(rows
            .iter()
            .map(|r| DueItem {
                id: r.get(0),
                trigger: r.get(1),
                payload: r.get(2),
                attempts: r.get(3),
                created_at: r.get(4),
                kind: r.get(5),
                target: r.get(6),
                secret: r.get(7),
                project_slug: r.get(8),
                issue_id: r.get(9),
                short_number: r.get(10),
                times_seen: r.get(11),
                first_seen: r.get(12),
                users_seen: r.get(13),
                last_seen: r.get(14),
            })
            .collect())
    })
}

/// When the next pending notification is due, if any.
pub async fn next_due(pool: &Pool) -> Result<Option<f64>, StoreError> {
    on!(pool, |c| {
        Ok(
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")
                .fetch_one(c)
                .await?,
        )
    })
}

pub async fn mark_delivered(pool: &Pool, id: i64, now: f64) -> Result<(), StoreError> {
    on!(pool, |c| {
        sqlx::query("UPDATE outbox SET state = 'delivered', delivered_at = $1, attempts = attempts + 1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(c)
            .await?;
        Ok(())
    })
}

/// Records a failed attempt: retried at `retry_at`, or `None` to give up.
pub async fn mark_attempt_failed(pool: &Pool, id: i64, error: &str, retry_at: Option<f64>) -> Result<(), StoreError> {
    on!(pool, |c| {
        match retry_at {
            Some(at) => {
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3",
                )
                .bind(error)
                .bind(at)
                .bind(id)
                .execute(c)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $1, state = 'failed' WHERE id = $2",
                )
                .bind(error)
                .bind(id)
                .execute(c)
                .await?
            }
        };
        Ok(())
    })
}

/// Queues a `test` notification on every channel of a project; returns how many.
pub async fn enqueue_test(pool: &Pool, project_id: i64, rule: Option<i64>, now: f64) -> Result<usize, StoreError> {
    on!(pool, |c| {
        let queued = sqlx::query(
            "INSERT INTO outbox (channel_id, rule_id, trigger, payload, hour, next_attempt_at, created_at) \
             SELECT id, $5, 'test', '{}', $1, $2, $3 FROM alert_channels WHERE project_id = $4 \
             AND ($5 IS NULL OR id IN (SELECT channel_id FROM alert_rule_channels WHERE rule_id = $5))",
        )
        .bind((now / 3600.0).floor() as i64)
        .bind(now)
        .bind(now)
        .bind(project_id)
        .bind(rule)
        .execute(c)
        .await?
        .rows_affected();
        Ok(queued as usize)
    })
}

/// Removes a channel of a project (its queued notifications go with it); `false` if none.
pub async fn delete_channel(pool: &Pool, project_id: i64, channel_id: i64) -> Result<bool, StoreError> {
    on!(pool, |c| {
        Ok(
            sqlx::query("DELETE FROM alert_channels WHERE id = $1 AND project_id = $2")
                .bind(channel_id)
                .bind(project_id)
                .execute(c)
                .await?
                .rows_affected()
                > 0,
        )
    })
}

/// An issue's notifications with their channel kind, newest first: its delivery history.
pub async fn deliveries(pool: &Pool, issue_id: i64) -> Result<Vec<(String, OutboxRecord)>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query(
            "SELECT c.kind, o.id, o.channel_id, o.issue_id, o.trigger, o.state, o.payload, o.attempts, o.created_at, \
                    o.delivered_at, o.last_error \
               FROM outbox o JOIN alert_channels c ON c.id = o.channel_id WHERE o.issue_id = $1 ORDER BY o.id DESC",
        )
        .bind(issue_id)
        .fetch_all(c)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    OutboxRecord {
                        id: r.get(1),
                        channel_id: r.get(2),
                        issue_id: r.get(3),
                        trigger: r.get(4),
                        state: r.get(5),
                        payload: r.get(6),
                        attempts: r.get(7),
                        created_at: r.get(8),
                        delivered_at: r.get(9),
                        last_error: r.get(10),
                    },
                )
            })
            .collect())
    })
}
