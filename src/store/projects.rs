//! Projects and their DSN keys.

use sqlx::Row;

use super::pool::{Dialect, on};
use super::{Pool, StoreError, changes};
use crate::event::scrub::ScrubConfig;
use crate::event::unix_now;
use crate::grouping::ProjectRules;
use crate::project::{Project, PublicKey, Slug};

/// A project with its (first active) DSN key.
#[derive(Debug, Clone)]
pub struct ProjectWithKey {
    pub project: Project,
    pub key: PublicKey,
}

/// What a public key unlocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub project_id: i64,
    pub is_active: bool,
    /// The project's rate limit in events per minute, if it has one.
    pub rate_limit_per_minute: Option<i64>,
    /// The project's data scrubbing settings.
    pub scrub: std::sync::Arc<ScrubConfig>,
    /// The project's own grouping rules, parsed.
    pub grouping: std::sync::Arc<ProjectRules>,
}

/// Creates a project with one key. Ids are assigned in order, so the first project is 1, and
/// a deleted project's id is never given again.
pub async fn create_project(
    pool: &Pool,
    slug: &Slug,
    name: &str,
    key: &PublicKey,
) -> Result<ProjectWithKey, StoreError> {
    on!(pool, |c, DB| {
        let mut tx = c.begin().await?;
        let now = unix_now();
        // The next id after the highest ever given (never a deleted project's).
        let next: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE counters SET value = {}(value, (SELECT COALESCE(MAX(id), 0) FROM projects)) + 1 \
             WHERE name = 'project_id' RETURNING value",
            DB::GREATEST
        )))
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        let inserted =
            sqlx::query("INSERT INTO projects (id, slug, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(next)
                .bind(slug.as_str())
                .bind(name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await;
        let id: i64 = match inserted {
            Ok(row) => row.get(0),
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "a project with slug {:?} already exists",
                    slug.as_str()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let key_insert =
            sqlx::query("INSERT INTO project_keys (public_key, project_id, created_at) VALUES ($1, $2, $3)")
                .bind(key.as_str())
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await;
        match key_insert {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "the key {key} already belongs to a project"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        changes::announce(pool, "project created").await;
        Ok(ProjectWithKey {
            project: Project {
                id,
                slug: slug.as_str().to_string(),
                name: name.to_string(),
            },
            key: key.clone(),
        })
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub async fn count_projects(pool: &Pool) -> Result<i64, StoreError> {
    on!(pool, |c| {
        Ok(sqlx::query("SELECT COUNT(*) FROM projects").fetch_one(c).await?.get(0))
    })
}

/// Every project with its oldest active key, by id.
pub async fn list_projects(pool: &Pool) -> Result<Vec<ProjectWithKey>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query(
            "SELECT p.id, p.slug, p.name,
                    (SELECT k.public_key FROM project_keys k
                      WHERE k.project_id = p.id AND k.is_active = 1
                      ORDER BY k.created_at, k.public_key LIMIT 1)
               FROM projects p ORDER BY p.id",
        )
        .fetch_all(c)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| ProjectWithKey {
                project: Project {
                    id: row.get(0),
                    slug: row.get(1),
                    name: row.get(2),
                },
                key: PublicKey::from_untrusted(row.get::<Option<String>, _>(3).as_deref().unwrap_or("")),
            })
            .collect())
    })
}

pub async fn project_by_slug(pool: &Pool, slug: &str) -> Result<Option<Project>, StoreError> {
    on!(pool, |c| {
        let row = sqlx::query("SELECT id, slug, name FROM projects WHERE slug = $1")
            .bind(slug)
            .fetch_optional(c)
            .await?;
        Ok(row.map(|row| Project {
            id: row.get(0),
            slug: row.get(1),
            name: row.get(2),
        }))
    })
}

/// The project a public key belongs to, if any.
pub async fn key_owner(pool: &Pool, key: &str) -> Result<Option<KeyOwner>, StoreError> {
    on!(pool, |c| {
        let row = sqlx::query(
            "SELECT k.project_id, k.is_active, p.rate_limit_per_minute, p.scrub_sensitive_fields, \
             p.scrub_safe_fields, p.scrub_ip_addresses, p.grouping_enhancements, p.fingerprinting_rules \
             FROM project_keys k JOIN projects p ON p.id = k.project_id WHERE k.public_key = $1",
        )
        .bind(key)
        .fetch_optional(c)
        .await?;
        Ok(row.map(|row| KeyOwner {
            project_id: row.get(0),
            is_active: row.get::<i64, _>(1) != 0,
            rate_limit_per_minute: row.get(2),
            scrub: std::sync::Arc::new(ScrubConfig {
                sensitive_fields: serde_json::from_str(row.get::<&str, _>(3)).unwrap_or_default(),
                safe_fields: serde_json::from_str(row.get::<&str, _>(4)).unwrap_or_default(),
                scrub_ip_addresses: row.get::<i64, _>(5) != 0,
            }),
            grouping: std::sync::Arc::new(stored_rules(row.get(0), row.get(6), row.get(7))),
        }))
    })
}

/// Rules as stored were checked when saved; should a stored text no longer parse (a rule this
/// version reads differently), the project groups with the built-in rules and the log says so.
fn stored_rules(project_id: i64, stack: &str, fingerprints: &str) -> ProjectRules {
    ProjectRules::parse(stack, fingerprints).unwrap_or_else(|err| {
        tracing::warn!(project_id, %err, "the project's grouping rules do not parse; using the built-in rules");
        ProjectRules::default()
    })
}

/// A project's own grouping rules (stack-trace rules, fingerprint rules), as written.
pub async fn grouping_rules_of(pool: &Pool, project_id: i64) -> Result<ProjectRules, StoreError> {
    on!(pool, |c| {
        let row = sqlx::query("SELECT grouping_enhancements, fingerprinting_rules FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(c)
            .await?;
        Ok(row
            .map(|r| stored_rules(project_id, r.get(0), r.get(1)))
            .unwrap_or_default())
    })
}

/// Saves rules already parsed (so known to be valid).
pub async fn set_grouping_rules(pool: &Pool, project_id: i64, rules: &ProjectRules) -> Result<(), StoreError> {
    on!(pool, |c| {
        sqlx::query("UPDATE projects SET grouping_enhancements = $1, fingerprinting_rules = $2 WHERE id = $3")
            .bind(&rules.stack_text)
            .bind(&rules.fingerprint_text)
            .bind(project_id)
            .execute(c)
            .await?;
        changes::announce(pool, "project grouping rules").await;
        Ok(())
    })
}

/// Unresolved issues per project id.
pub async fn unresolved_counts(pool: &Pool) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
    on!(pool, |c| {
        let rows =
            sqlx::query("SELECT project_id, COUNT(*) FROM issues WHERE status = 'unresolved' GROUP BY project_id")
                .fetch_all(c)
                .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    })
}

/// A project's own retention and rate limits; `None` means the server default (retention) or
/// no limit (rate).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProjectLimits {
    pub max_events: Option<i64>,
    pub max_age_days: Option<f64>,
    pub rate_limit_per_minute: Option<i64>,
}

pub async fn project_limits_of(pool: &Pool, project_id: i64) -> Result<ProjectLimits, StoreError> {
    on!(pool, |c| {
        let row = sqlx::query("SELECT max_events, max_age_days, rate_limit_per_minute FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(c)
            .await?;
        Ok(row
            .map(|r| ProjectLimits {
                max_events: r.get(0),
                max_age_days: r.get(1),
                rate_limit_per_minute: r.get(2),
            })
            .unwrap_or_default())
    })
}

pub async fn set_project_limits(pool: &Pool, project_id: i64, limits: &ProjectLimits) -> Result<(), StoreError> {
    on!(pool, |c| {
        sqlx::query("UPDATE projects SET max_events = $1, max_age_days = $2, rate_limit_per_minute = $3 WHERE id = $4")
            .bind(limits.max_events)
            .bind(limits.max_age_days)
            .bind(limits.rate_limit_per_minute)
            .bind(project_id)
            .execute(c)
            .await?;
        changes::announce(pool, "project limits").await;
        Ok(())
    })
}

/// Deletes the project with everything it owns (keys, issues, events, channels: the foreign
/// keys cascade). The retention pass then returns the freed pages to the file system.
pub async fn delete_project(pool: &Pool, project_id: i64) -> Result<bool, StoreError> {
    on!(pool, |c| {
        let done = sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(project_id)
            .execute(c)
            .await?;
        changes::announce(pool, "project deleted").await;
        Ok(done.rows_affected() > 0)
    })
}

/// Events stored for the project and for one issue: the "N stored of M" figures.
pub async fn stored_events_of_project(pool: &Pool, project_id: i64) -> Result<i64, StoreError> {
    on!(pool, |c| {
        Ok(sqlx::query("SELECT COUNT(*) FROM events WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(c)
            .await?
            .get(0))
    })
}

pub async fn stored_events_of_issue(pool: &Pool, issue_id: i64) -> Result<i64, StoreError> {
    on!(pool, |c| {
        Ok(sqlx::query("SELECT COUNT(*) FROM events WHERE issue_id = $1")
            .bind(issue_id)
            .fetch_one(c)
            .await?
            .get(0))
    })
}

pub async fn scrub_config_of(pool: &Pool, project_id: i64) -> Result<ScrubConfig, StoreError> {
    on!(pool, |c| {
        let row = sqlx::query(
            "SELECT scrub_sensitive_fields, scrub_safe_fields, scrub_ip_addresses FROM projects WHERE id = $1",
        )
        .bind(project_id)
        .fetch_optional(c)
        .await?;
        Ok(row
            .map(|r| ScrubConfig {
                sensitive_fields: serde_json::from_str(r.get::<&str, _>(0)).unwrap_or_default(),
                safe_fields: serde_json::from_str(r.get::<&str, _>(1)).unwrap_or_default(),
                scrub_ip_addresses: r.get::<i64, _>(2) != 0,
            })
            .unwrap_or_default())
    })
}

pub async fn set_scrub_config(pool: &Pool, project_id: i64, config: &ScrubConfig) -> Result<(), StoreError> {
    on!(pool, |c| {
        sqlx::query(
            "UPDATE projects SET scrub_sensitive_fields = $1, scrub_safe_fields = $2, scrub_ip_addresses = $3 WHERE id = $4",
        )
        .bind(serde_json::to_string(&config.sensitive_fields).unwrap_or_else(|_| "[]".into()))
        .bind(serde_json::to_string(&config.safe_fields).unwrap_or_else(|_| "[]".into()))
        .bind(i64::from(config.scrub_ip_addresses))
        .bind(project_id)
        .execute(c)
        .await?;
        changes::announce(pool, "project scrubbing").await;
        Ok(())
    })
}
