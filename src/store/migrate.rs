//! Migrations, embedded in the binary and run at start-up (and by `tocsin migrate`): the
//! SQLite ones in `migrations/`, the PostgreSQL ones in `migrations/postgres/`.
//!
//! We build the migrator from `include_str!` rather than `sqlx::migrate!` so the build needs no
//! proc-macro that links a second SQLite; sqlx still records applied versions and checksums.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// Every migration, in order. Never edit a released one: add the next.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../../migrations/0001_foundation.sql")),
    (2, "issues", include_str!("../../migrations/0002_issues.sql")),
    (3, "web", include_str!("../../migrations/0003_web.sql")),
    (4, "notify", include_str!("../../migrations/0004_notify.sql")),
    (5, "retention", include_str!("../../migrations/0005_retention.sql")),
    (
        6,
        "dictionaries",
        include_str!("../../migrations/0006_dictionaries.sql"),
    ),
    (7, "scrubbing", include_str!("../../migrations/0007_scrubbing.sql")),
    (
        8,
        "token scopes",
        include_str!("../../migrations/0008_token_scopes.sql"),
    ),
    (9, "project ids", include_str!("../../migrations/0009_project_ids.sql")),
    (
        10,
        "shared limits",
        include_str!("../../migrations/0010_shared_limits.sql"),
    ),
    (
        11,
        "ignore conditions",
        include_str!("../../migrations/0011_ignore_conditions.sql"),
    ),
    (
        12,
        "event hashes",
        include_str!("../../migrations/0012_event_hashes.sql"),
    ),
    (
        13,
        "issues by last seen",
        include_str!("../../migrations/0013_issues_by_last_seen.sql"),
    ),
    (14, "releases", include_str!("../../migrations/0014_releases.sql")),
    (15, "artifacts", include_str!("../../migrations/0015_artifacts.sql")),
    (
        16,
        "resolved in release",
        include_str!("../../migrations/0016_resolved_in_release.sql"),
    ),
    (
        17,
        "project grouping rules",
        include_str!("../../migrations/0017_project_grouping_rules.sql"),
    ),
    (18, "alert rules", include_str!("../../migrations/0018_alert_rules.sql")),
    (
        19,
        "chat channels",
        include_str!("../../migrations/0019_chat_channels.sql"),
    ),
    (
        20,
        "frequency alerts",
        include_str!("../../migrations/0020_frequency_alerts.sql"),
    ),
    (
        21,
        "rule release and assignee",
        include_str!("../../migrations/0021_rule_release_assignee.sql"),
    ),
    (
        22,
        "rule latest release",
        include_str!("../../migrations/0022_rule_latest_release.sql"),
    ),
];

/// PostgreSQL came when SQLite was at version 9, so its first migration is the whole schema
/// of that version, numbered 9: from here on both backends take each new version together.
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        9,
        "schema of version 9",
        include_str!("../../migrations/postgres/0009_schema.sql"),
    ),
    (
        10,
        "shared limits",
        include_str!("../../migrations/postgres/0010_shared_limits.sql"),
    ),
    (
        11,
        "ignore conditions",
        include_str!("../../migrations/postgres/0011_ignore_conditions.sql"),
    ),
    (
        12,
        "event hashes",
        include_str!("../../migrations/postgres/0012_event_hashes.sql"),
    ),
    (
        13,
        "issues by last seen",
        include_str!("../../migrations/postgres/0013_issues_by_last_seen.sql"),
    ),
    (
        14,
        "releases",
        include_str!("../../migrations/postgres/0014_releases.sql"),
    ),
    (
        15,
        "artifacts",
        include_str!("../../migrations/postgres/0015_artifacts.sql"),
    ),
    (
        16,
        "resolved in release",
        include_str!("../../migrations/postgres/0016_resolved_in_release.sql"),
    ),
    (
        17,
        "project grouping rules",
        include_str!("../../migrations/postgres/0017_project_grouping_rules.sql"),
    ),
    (
        18,
        "alert rules",
        include_str!("../../migrations/postgres/0018_alert_rules.sql"),
    ),
    (
        19,
        "chat channels",
        include_str!("../../migrations/postgres/0019_chat_channels.sql"),
    ),
    (
        20,
        "frequency alerts",
        include_str!("../../migrations/postgres/0020_frequency_alerts.sql"),
    ),
    (
        21,
        "rule release and assignee",
        include_str!("../../migrations/postgres/0021_rule_release_assignee.sql"),
    ),
    (
        22,
        "rule latest release",
        include_str!("../../migrations/postgres/0022_rule_latest_release.sql"),
    ),
    (
        23,
        "hot counters",
        include_str!("../../migrations/postgres/0023_hot_counters.sql"),
    ),
];

pub fn sqlite() -> Migrator {
    migrator(MIGRATIONS)
}

/// sqlx runs these under a PostgreSQL advisory lock, so nodes starting together take turns and
/// the second finds the work done.
pub fn postgres() -> Migrator {
    migrator(POSTGRES_MIGRATIONS)
}

fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = list
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                // A migration that manages its own transaction says so on its first line
                // (SQLite turns foreign keys off only outside one).
                sql.starts_with("-- no-transaction"),
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    /// Issue 17: alert channels made before alert rules keep alerting as they did. Each channel
    /// with triggers gets a rule of its own (its triggers, no filter, every time) sending to it
    /// alone; a channel without triggers gets none, and new rules take ids after them.
    #[tokio::test]
    async fn channels_made_before_alert_rules_become_a_rule_each() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let before: Vec<_> = super::MIGRATIONS.iter().copied().filter(|m| m.0 < 18).collect();
        super::migrator(&before).run(&pool).await.unwrap();
        sqlx::query("INSERT INTO projects (id, slug, name, created_at) VALUES (1, 'p', 'P', 0)")
            .execute(&pool)
            .await
            .unwrap();
        for (id, new, regression, unignored) in [(4, 1, 1, 1), (5, 0, 1, 0), (6, 0, 0, 0)] {
            sqlx::query(
                "INSERT INTO alert_channels (id, project_id, kind, target, on_new, on_regression, on_unignored, created_at) \
                 VALUES ($1, 1, 'slack', 'https://hooks.example/x', $2, $3, $4, 0)",
            )
            .bind(id)
            .bind(new)
            .bind(regression)
            .bind(unignored)
            .execute(&pool)
            .await
            .unwrap();
        }
        super::sqlite().run(&pool).await.unwrap();
        let rules: Vec<(i64, i64, i64, i64, i64)> = sqlx::query(
            "SELECT r.id, r.on_new, r.on_regression, r.on_unignored, r.interval_minutes FROM alert_rules r ORDER BY r.id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
        assert_eq!(rules, [(4, 1, 1, 1, 0), (5, 0, 1, 0, 0)]);
        let links: Vec<(i64, i64)> =
            sqlx::query("SELECT rule_id, channel_id FROM alert_rule_channels ORDER BY rule_id")
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
        assert_eq!(links, [(4, 4), (5, 5)]);
        let next: i64 =
            sqlx::query("INSERT INTO alert_rules (project_id, name, created_at) VALUES (1, 'later', 0) RETURNING id")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get(0);
        assert!(next > 5, "{next}");
        // Migration 19 rebuilt the channels table for its new kinds, and kept what refers to it.
        sqlx::query(
            "INSERT INTO alert_channels (project_id, kind, target, created_at) VALUES (1, 'discord', 'https://d/x', 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        let broken = sqlx::query("PRAGMA foreign_key_check").fetch_all(&pool).await.unwrap();
        assert!(broken.is_empty(), "{} rows refer to nothing", broken.len());
        // What each trigger queues is what the channels' own triggers sent before: per trigger,
        // the channels that had it ticked, and again at the next one (no interval).
        let mut c = pool.acquire().await.unwrap();
        sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *c).await.unwrap();
        let facts = crate::notify::rules::AlertFacts {
            environment: None,
            level: "error",
            tags: &[],
            release: None,
            assigned: None,
            release_is_latest: None,
        };
        let guard = super::super::FloodGuard {
            limit: 1000,
            window_secs: 3600.0,
        };
        use super::super::Trigger;
        for (trigger, name, channels) in [
            (Trigger::New, "new", vec![4, 4]),
            (Trigger::Regression, "regression", vec![4, 4, 5, 5]),
            (Trigger::Unignored, "unignored", vec![4, 4]),
        ] {
            for _ in 0..2 {
                let mut conn = super::super::pool::Conn::from(&mut *c);
                super::super::outbox::enqueue(&mut conn, 1, 9, trigger, &facts, "{}", 0.0, guard)
                    .await
                    .unwrap();
            }
            let got: Vec<i64> = sqlx::query("SELECT channel_id FROM outbox WHERE trigger = $1 ORDER BY channel_id")
                .bind(name)
                .fetch_all(&mut *c)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(got, channels, "{name}");
        }
    }

    /// A migration file left out of its list would never run (and nothing else would notice:
    /// the tables it makes would just be missing).
    #[test]
    fn every_migration_file_is_registered_on_its_backend() {
        for (dir, list) in [
            ("migrations", super::MIGRATIONS),
            ("migrations/postgres", super::POSTGRES_MIGRATIONS),
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            let mut files: Vec<i64> = std::fs::read_dir(&path)
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name.ends_with(".sql"))
                .filter_map(|name| name.split('_').next()?.parse().ok())
                .collect();
            files.sort_unstable();
            let registered: Vec<i64> = list.iter().map(|m| m.0).collect();
            assert_eq!(files, registered, "{dir}");
        }
    }
}
