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
        let data = serde_json::json!({ "merged": merged }).to_string();
        sqlx::query("INSERT INTO activity (issue_id, kind, data, actor, at) VALUES ($1, 'merge', $2, $3, $4)")
            .bind(target)
            .bind(data)
            .bind(actor)
            .bind(now)
            .execute(&mut *c)
            .await?;
    });
    Ok(CommandOutcome::Done)
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
