//! Merging issues: their hashes, events, counters, hourly buckets, tag values, users, links and
//! activity move into one issue, and the others are deleted. Later events of any of their
//! hashes land in the merged issue, because the hashes now point at it. One command, one
//! transaction.

use sqlx::Row;

use super::StoreError;
use super::issue_commands::CommandOutcome;
use super::pool::{Conn, on};

/// Merges `sources` into `target` (all of one project); the activity names them by short id.
pub async fn merge(
    conn: &mut Conn<'_>,
    target: i64,
    sources: &[i64],
    actor: &str,
    now: f64,
) -> Result<CommandOutcome, StoreError> {
    let project = project_of(conn, target).await?;
    let Some(project) = project else {
        return Ok(CommandOutcome::NotFound);
    };
    let mut merged = Vec::new();
    for &source in sources.iter().filter(|s| **s != target) {
        match project_of(conn, source).await? {
            Some(p) if p == project => {}
            Some(_) => return Err(StoreError::Conflict("only issues of one project can be merged".into())),
            None => return Ok(CommandOutcome::NotFound),
        }
        merged.push(short_id(conn, source).await?);
        move_into(conn, source, target).await?;
    }
    on!(conn, |c| {
        sqlx::query(
            "UPDATE issues SET users_seen = (SELECT COUNT(*) FROM issue_users WHERE issue_id = $1) WHERE id = $2",
        )
        .bind(target)
        .bind(target)
        .execute(&mut *c)
        .await?;
    });
    let data = serde_json::json!({ "merged": merged }).to_string();
    super::issue_commands::log(conn, target, "merge", &data, actor, now).await
}

async fn project_of(conn: &mut Conn<'_>, issue_id: i64) -> Result<Option<i64>, StoreError> {
    Ok(on!(conn, |c| sqlx::query(
        "SELECT project_id FROM issues WHERE id = $1"
    )
    .bind(issue_id)
    .fetch_optional(&mut *c)
    .await?
    .map(|r| r.get::<i64, _>(0))))
}

async fn short_id(conn: &mut Conn<'_>, issue_id: i64) -> Result<String, StoreError> {
    let (slug, number): (String, i64) = on!(conn, |c| sqlx::query_as(
        "SELECT p.slug, i.short_number FROM issues i JOIN projects p ON p.id = i.project_id WHERE i.id = $1"
    )
    .bind(issue_id)
    .fetch_one(&mut *c)
    .await?);
    Ok(format!("{}-{number}", slug.to_ascii_uppercase()))
}

/// Everything of `source` moves to `target`, counts add up, and `source` is deleted.
async fn move_into(conn: &mut Conn<'_>, source: i64, target: i64) -> Result<(), StoreError> {
    // Portable (SQLite and PostgreSQL): CASE instead of MIN/LEAST of two values.
    const STATEMENTS: &[&str] = &[
        "UPDATE grouphashes SET issue_id = $1 WHERE issue_id = $2",
        "UPDATE events SET issue_id = $1 WHERE issue_id = $2",
        "INSERT INTO issue_hourly (issue_id, hour, count) SELECT $1, hour, count FROM issue_hourly WHERE issue_id = $2 \
         ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly.count + excluded.count",
        "INSERT INTO issue_tag_values (issue_id, key, value, count, first_seen, last_seen) \
         SELECT $1, key, value, count, first_seen, last_seen FROM issue_tag_values WHERE issue_id = $2 \
         ON CONFLICT (issue_id, key, value) DO UPDATE SET count = issue_tag_values.count + excluded.count, \
         first_seen = CASE WHEN excluded.first_seen < issue_tag_values.first_seen THEN excluded.first_seen \
         ELSE issue_tag_values.first_seen END, \
         last_seen = CASE WHEN excluded.last_seen > issue_tag_values.last_seen THEN excluded.last_seen \
         ELSE issue_tag_values.last_seen END",
        "INSERT INTO issue_users (issue_id, user_key) SELECT $1, user_key FROM issue_users WHERE issue_id = $2 \
         ON CONFLICT (issue_id, user_key) DO NOTHING",
        "UPDATE activity SET issue_id = $1 WHERE issue_id = $2",
        "UPDATE issue_links SET issue_id = $1 WHERE issue_id = $2",
        "UPDATE issues SET \
         times_seen = times_seen + (SELECT s.times_seen FROM issues s WHERE s.id = $2), \
         first_release = CASE WHEN (SELECT s.first_seen FROM issues s WHERE s.id = $2) < first_seen \
           THEN (SELECT s.first_release FROM issues s WHERE s.id = $2) ELSE first_release END, \
         first_seen = CASE WHEN (SELECT s.first_seen FROM issues s WHERE s.id = $2) < first_seen \
           THEN (SELECT s.first_seen FROM issues s WHERE s.id = $2) ELSE first_seen END, \
         last_release = CASE WHEN (SELECT s.last_seen FROM issues s WHERE s.id = $2) > last_seen \
           THEN (SELECT s.last_release FROM issues s WHERE s.id = $2) ELSE last_release END, \
         last_seen = CASE WHEN (SELECT s.last_seen FROM issues s WHERE s.id = $2) > last_seen \
           THEN (SELECT s.last_seen FROM issues s WHERE s.id = $2) ELSE last_seen END \
         WHERE id = $1",
        "DELETE FROM issues WHERE id = $2",
    ];
    for sql in STATEMENTS {
        on!(conn, |c| {
            sqlx::query(sqlx::AssertSqlSafe(*sql))
                .bind(target)
                .bind(source)
                .execute(&mut *c)
                .await?;
        });
    }
    Ok(())
}

/// What a new issue split off by unmerging is called: from its newest event's grouping.
#[derive(Debug, Clone)]
pub struct SplitFacts {
    pub title: String,
    pub culprit: Option<String>,
    pub ty: Option<String>,
    pub value: Option<String>,
}

/// Splits hash `hash` off `issue_id` into a new issue, with the stored events whose primary
/// hash it is; their counts, hourly buckets and tag values move with them. Events stored
/// before events recorded their hash (NULL) stay. `Ok(None)`: the issue or the hash is gone,
/// it is the issue's last hash, or no stored event has it.
pub async fn unmerge(
    conn: &mut Conn<'_>,
    issue_id: i64,
    hash: &str,
    facts: &SplitFacts,
    actor: &str,
    now: f64,
) -> Result<Option<i64>, StoreError> {
    type Moved = (i64, f64, String, Option<String>, String, String, Option<String>);
    let Some(project) = project_of(conn, issue_id).await? else {
        return Ok(None);
    };
    let hashes: i64 = on!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM grouphashes WHERE issue_id = $1"
    )
    .bind(issue_id)
    .fetch_one(&mut *c)
    .await?);
    let owned: Option<i64> = on!(conn, |c| sqlx::query_scalar(
        "SELECT issue_id FROM grouphashes WHERE project_id = $1 AND hash = $2"
    )
    .bind(project)
    .bind(hash)
    .fetch_optional(&mut *c)
    .await?);
    if owned != Some(issue_id) || hashes < 2 {
        return Ok(None);
    }
    let moved: Vec<Moved> = on!(conn, |c| sqlx::query_as(
        "SELECT id, timestamp, tags, user_key, level, platform, release FROM events \
         WHERE issue_id = $1 AND grouphash = $2 ORDER BY timestamp, id"
    )
    .bind(issue_id)
    .bind(hash)
    .fetch_all(&mut *c)
    .await?);
    // A hash without stored events has nothing to split off.
    let (Some(first), Some(last)) = (moved.first().cloned(), moved.last().cloned()) else {
        return Ok(None);
    };
    let count = moved.len() as i64;
    let new_id: i64 = on!(conn, |c| {
        let number: i64 = sqlx::query_scalar(
            "UPDATE projects SET next_issue_number = next_issue_number + 1 WHERE id = $1 RETURNING next_issue_number - 1",
        )
        .bind(project)
        .fetch_one(&mut *c)
        .await?;
        sqlx::query_scalar(
            "INSERT INTO issues (project_id, short_number, title, culprit, type, value, level, platform, first_seen, \
             last_seen, first_release, last_release, grouping_config, times_seen) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, grouping_config, $13 FROM issues WHERE id = $14 \
             RETURNING id",
        )
        .bind(project)
        .bind(number)
        .bind(&facts.title)
        .bind(&facts.culprit)
        .bind(&facts.ty)
        .bind(&facts.value)
        .bind(&last.4)
        .bind(&last.5)
        .bind(first.1)
        .bind(last.1)
        .bind(&first.6)
        .bind(&last.6)
        .bind(count)
        .bind(issue_id)
        .fetch_one(&mut *c)
        .await?
    });
    // What the moved events counted, per hour, tag value and user.
    let mut hourly: std::collections::BTreeMap<i64, i64> = Default::default();
    let mut tags: std::collections::BTreeMap<(String, String), (i64, f64, f64)> = Default::default();
    let mut users: std::collections::BTreeSet<String> = Default::default();
    for (_, timestamp, tags_json, user_key, ..) in &moved {
        *hourly.entry((timestamp / 3600.0).floor() as i64).or_default() += 1;
        let pairs: Vec<(String, String)> = serde_json::from_str(tags_json).unwrap_or_default();
        for pair in pairs {
            let entry = tags.entry(pair).or_insert((0, *timestamp, *timestamp));
            entry.0 += 1;
            entry.1 = entry.1.min(*timestamp);
            entry.2 = entry.2.max(*timestamp);
        }
        users.extend(user_key.clone());
    }
    on!(conn, |c| {
        sqlx::query("UPDATE grouphashes SET issue_id = $1 WHERE project_id = $2 AND hash = $3")
            .bind(new_id)
            .bind(project)
            .bind(hash)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE events SET issue_id = $1 WHERE issue_id = $2 AND grouphash = $3")
            .bind(new_id)
            .bind(issue_id)
            .bind(hash)
            .execute(&mut *c)
            .await?;
        for (hour, n) in &hourly {
            sqlx::query("UPDATE issue_hourly SET count = count - $1 WHERE issue_id = $2 AND hour = $3")
                .bind(n)
                .bind(issue_id)
                .bind(hour)
                .execute(&mut *c)
                .await?;
            sqlx::query("INSERT INTO issue_hourly (issue_id, hour, count) VALUES ($1, $2, $3)")
                .bind(new_id)
                .bind(hour)
                .bind(n)
                .execute(&mut *c)
                .await?;
        }
        for ((key, value), (n, first_seen, last_seen)) in &tags {
            sqlx::query(
                "UPDATE issue_tag_values SET count = count - $1 WHERE issue_id = $2 AND key = $3 AND value = $4",
            )
            .bind(n)
            .bind(issue_id)
            .bind(key)
            .bind(value)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "INSERT INTO issue_tag_values (issue_id, key, value, count, first_seen, last_seen) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id)
            .bind(key)
            .bind(value)
            .bind(n)
            .bind(first_seen)
            .bind(last_seen)
            .execute(&mut *c)
            .await?;
        }
        sqlx::query("DELETE FROM issue_hourly WHERE issue_id = $1 AND count <= 0")
            .bind(issue_id)
            .execute(&mut *c)
            .await?;
        sqlx::query("DELETE FROM issue_tag_values WHERE issue_id = $1 AND count <= 0")
            .bind(issue_id)
            .execute(&mut *c)
            .await?;
        for user in &users {
            sqlx::query("INSERT INTO issue_users (issue_id, user_key) VALUES ($1, $2)")
                .bind(new_id)
                .bind(user)
                .execute(&mut *c)
                .await?;
        }
        // The issue keeps its users: one of them may have had other events of it, thinned by
        // retention since, which nothing could tell apart.
        sqlx::query("UPDATE issues SET users_seen = $1 WHERE id = $2")
            .bind(users.len() as i64)
            .bind(new_id)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE issues SET times_seen = CASE WHEN times_seen - $1 < 1 THEN 1 ELSE times_seen - $1 END WHERE id = $2")
            .bind(count)
            .bind(issue_id)
            .execute(&mut *c)
            .await?;
    });
    let (old_short, new_short) = (short_id(conn, issue_id).await?, short_id(conn, new_id).await?);
    for (on_issue, data) in [
        (
            issue_id,
            serde_json::json!({ "hash": hash, "into": new_short, "events": count }),
        ),
        (
            new_id,
            serde_json::json!({ "hash": hash, "from": old_short, "events": count }),
        ),
    ] {
        super::issue_commands::log(conn, on_issue, "unmerge", &data.to_string(), actor, now).await?;
    }
    Ok(Some(new_id))
}

/// One fingerprint of an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueHash {
    pub hash: String,
    /// The grouping config that computed it.
    pub config: String,
    /// Stored events whose primary hash it is (events stored before events recorded their
    /// hash count for none).
    pub events: i64,
}

/// The issue's hashes, most events first.
pub async fn hashes_of(pool: &super::Pool, issue_id: i64) -> Result<Vec<IssueHash>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query(
            "SELECT g.hash, g.config, (SELECT COUNT(*) FROM events e WHERE e.issue_id = g.issue_id AND e.grouphash = g.hash) \
             FROM grouphashes g WHERE g.issue_id = $1 ORDER BY 3 DESC, g.hash",
        )
        .bind(issue_id)
        .fetch_all(c)
        .await?;
        Ok(rows
            .iter()
            .map(|r| IssueHash {
                hash: r.get(0),
                config: r.get(1),
                events: r.get(2),
            })
            .collect())
    })
}
