//! Releases of a project: those events name (seen in the `release` tag values of its issues)
//! and those made through the API (rows of `releases`, which add start, release date, ref and
//! URL), with their deploys.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use sqlx::Row;

use super::pool::on;
use super::{Pool, StoreError};

/// A release as the API shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Release {
    pub version: String,
    /// When the API made it, else its first event.
    pub date_created: f64,
    pub date_started: Option<f64>,
    pub date_released: Option<f64>,
    pub reference: Option<String>,
    pub url: Option<String>,
    pub first_event: Option<f64>,
    pub last_event: Option<f64>,
    /// Events that named it (as counted by the issues' tag values).
    pub events: i64,
    /// Issues first seen in it.
    pub new_issues: i64,
    pub deploys: i64,
    /// The newest deploy: (environment, finished).
    pub last_deploy: Option<(String, f64)>,
    /// Deploys per environment: (environment, count), by environment.
    pub environments: Vec<(String, i64)>,
}

/// What the API says of a release when making or changing it; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ReleaseChange {
    pub date_started: Option<f64>,
    pub date_released: Option<f64>,
    pub reference: Option<String>,
    pub url: Option<String>,
}

/// Every release of the project, newest first ([`order_releases`]).
pub async fn project_releases(pool: &Pool, project_id: i64) -> Result<Vec<Release>, StoreError> {
    let mut all: BTreeMap<String, Release> = BTreeMap::new();
    on!(pool, |c| {
        // Issue by issue through the (issue_id, key) prefix of the tag values' key.
        let seen = sqlx::query(
            "SELECT t.value, CAST(SUM(t.count) AS BIGINT), MIN(t.first_seen), MAX(t.last_seen) FROM issues i \
             JOIN issue_tag_values t ON t.issue_id = i.id AND t.key = 'release' WHERE i.project_id = $1 GROUP BY t.value",
        )
        .bind(project_id)
        .fetch_all(&mut *c.acquire().await?)
        .await?;
        for r in &seen {
            let version: String = r.get(0);
            let first: f64 = r.get(2);
            all.insert(
                version.clone(),
                Release {
                    version,
                    date_created: first,
                    first_event: Some(first),
                    last_event: Some(r.get(3)),
                    events: r.get(1),
                    ..Release::default()
                },
            );
        }
        let new_issues = sqlx::query(
            "SELECT first_release, COUNT(*) FROM issues WHERE project_id = $1 AND first_release IS NOT NULL GROUP BY first_release",
        )
        .bind(project_id)
        .fetch_all(&mut *c.acquire().await?)
        .await?;
        for r in &new_issues {
            if let Some(release) = all.get_mut(&r.get::<String, _>(0)) {
                release.new_issues = r.get(1);
            }
        }
        let made = sqlx::query(
            "SELECT r.version, r.date_created, r.date_started, r.date_released, r.ref, r.url, \
             (SELECT COUNT(*) FROM deploys d WHERE d.release_id = r.id), \
             (SELECT d.environment FROM deploys d WHERE d.release_id = r.id ORDER BY d.date_finished DESC LIMIT 1), \
             (SELECT MAX(d.date_finished) FROM deploys d WHERE d.release_id = r.id) \
             FROM releases r WHERE r.project_id = $1",
        )
        .bind(project_id)
        .fetch_all(&mut *c.acquire().await?)
        .await?;
        for r in &made {
            let version: String = r.get(0);
            let release = all.entry(version.clone()).or_insert_with(|| Release {
                version,
                ..Release::default()
            });
            release.date_created = r.get(1);
            release.date_started = r.get(2);
            release.date_released = r.get(3);
            release.reference = r.get(4);
            release.url = r.get(5);
            release.deploys = r.get(6);
            release.last_deploy = r.get::<Option<String>, _>(7).zip(r.get::<Option<f64>, _>(8));
        }
        let per_environment = sqlx::query(
            "SELECT r.version, d.environment, COUNT(*) FROM deploys d JOIN releases r ON r.id = d.release_id \
             WHERE r.project_id = $1 GROUP BY r.version, d.environment ORDER BY d.environment",
        )
        .bind(project_id)
        .fetch_all(&mut *c.acquire().await?)
        .await?;
        for r in &per_environment {
            if let Some(release) = all.get_mut(&r.get::<String, _>(0)) {
                release.environments.push((r.get(1), r.get(2)));
            }
        }
        Ok::<(), StoreError>(())
    })?;
    let mut list: Vec<Release> = all.into_values().collect();
    // Sentry's order (semver, else first seen), newest first.
    order_releases(&mut list, |r| r.version.as_str(), |r| r.date_created);
    list.reverse();
    Ok(list)
}

/// The project's latest release in the releases page's order, as the writer sees it inside its
/// transaction. `event_release` (of the event at hand) counts as first seen at `now` when the
/// store has not seen it yet: the first event of a new release is of the latest release.
pub(super) async fn latest_release_on(
    conn: &mut super::pool::Conn<'_>,
    project_id: i64,
    event_release: Option<&str>,
    now: f64,
) -> Result<Option<String>, StoreError> {
    let mut seen: BTreeMap<String, f64> = BTreeMap::new();
    on!(conn, |c| {
        // Issue by issue through the (issue_id, key) prefix of the tag values' key.
        let named = sqlx::query(
            "SELECT t.value, MIN(t.first_seen) FROM issues i \
             JOIN issue_tag_values t ON t.issue_id = i.id AND t.key = 'release' WHERE i.project_id = $1 GROUP BY t.value",
        )
        .bind(project_id)
        .fetch_all(&mut *c)
        .await?;
        for r in &named {
            seen.insert(r.get(0), r.get(1));
        }
        // A release made through the API is dated by its making, as on the releases page.
        let made = sqlx::query("SELECT version, date_created FROM releases WHERE project_id = $1")
            .bind(project_id)
            .fetch_all(&mut *c)
            .await?;
        for r in &made {
            seen.insert(r.get(0), r.get(1));
        }
        Ok::<(), StoreError>(())
    })?;
    if let Some(release) = event_release {
        seen.entry(release.to_string()).or_insert(now);
    }
    let mut list: Vec<(String, f64)> = seen.into_iter().collect();
    order_releases(&mut list, |r| r.0.as_str(), |r| r.1);
    Ok(list.pop().map(|(version, _)| version))
}

/// Makes the release (or keeps it, when it exists), then applies `change`; `true` when it was
/// new.
pub async fn upsert_release(
    pool: &Pool,
    project_id: i64,
    version: &str,
    change: &ReleaseChange,
    now: f64,
) -> Result<bool, StoreError> {
    on!(pool, |c| {
        let made = sqlx::query(
            "INSERT INTO releases (project_id, version, date_created) VALUES ($1, $2, $3) \
             ON CONFLICT (project_id, version) DO NOTHING",
        )
        .bind(project_id)
        .bind(version)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
            > 0;
        sqlx::query(
            "UPDATE releases SET date_started = COALESCE($1, date_started), date_released = COALESCE($2, date_released), \
             ref = COALESCE($3, ref), url = COALESCE($4, url) WHERE project_id = $5 AND version = $6",
        )
        .bind(change.date_started)
        .bind(change.date_released)
        .bind(&change.reference)
        .bind(&change.url)
        .bind(project_id)
        .bind(version)
        .execute(c)
        .await?;
        Ok(made)
    })
}

/// Deletes the release's row and deploys; `Err(Conflict)` when events name it (they stay, and
/// so does the release).
pub async fn delete_release(pool: &Pool, project_id: i64, version: &str) -> Result<bool, StoreError> {
    if project_releases(pool, project_id)
        .await?
        .iter()
        .any(|r| r.version == version && r.events > 0)
    {
        return Err(StoreError::Conflict(format!(
            "release {version:?} has events; a release is deleted only before any event names it"
        )));
    }
    on!(pool, |c| {
        Ok(
            sqlx::query("DELETE FROM releases WHERE project_id = $1 AND version = $2")
                .bind(project_id)
                .bind(version)
                .execute(c)
                .await?
                .rows_affected()
                > 0,
        )
    })
}

/// A deploy as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deploy {
    pub id: i64,
    pub environment: String,
    pub name: Option<String>,
    pub url: Option<String>,
    pub date_started: Option<f64>,
    pub date_finished: f64,
}

/// Records a deploy of the release (made first if only events named it).
pub async fn add_deploy(
    pool: &Pool,
    project_id: i64,
    version: &str,
    deploy: &Deploy,
    now: f64,
) -> Result<i64, StoreError> {
    upsert_release(pool, project_id, version, &ReleaseChange::default(), now).await?;
    on!(pool, |c| {
        Ok(sqlx::query_scalar(
            "INSERT INTO deploys (release_id, environment, name, url, date_started, date_finished) \
             SELECT id, $1, $2, $3, $4, $5 FROM releases WHERE project_id = $6 AND version = $7 RETURNING id",
        )
        .bind(&deploy.environment)
        .bind(&deploy.name)
        .bind(&deploy.url)
        .bind(deploy.date_started)
        .bind(deploy.date_finished)
        .bind(project_id)
        .bind(version)
        .fetch_one(c)
        .await?)
    })
}

/// The release's deploys, newest first.
pub async fn deploys_of(pool: &Pool, project_id: i64, version: &str) -> Result<Vec<Deploy>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query(
            "SELECT d.id, d.environment, d.name, d.url, d.date_started, d.date_finished FROM deploys d \
             JOIN releases r ON r.id = d.release_id WHERE r.project_id = $1 AND r.version = $2 \
             ORDER BY d.date_finished DESC, d.id DESC",
        )
        .bind(project_id)
        .bind(version)
        .fetch_all(c)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Deploy {
                id: r.get(0),
                environment: r.get(1),
                name: r.get(2),
                url: r.get(3),
                date_started: r.get(4),
                date_finished: r.get(5),
            })
            .collect())
    })
}

/// Issues of the project that a release brought: first seen in it (`reopened: false`), or
/// reopened by one of its events (`true`); newest first, at most `limit`.
pub async fn issues_of_release(
    pool: &Pool,
    project_id: i64,
    version: &str,
    reopened: bool,
    limit: i64,
) -> Result<Vec<(i64, String, String)>, StoreError> {
    on!(pool, |c| {
        let sql = if reopened {
            "SELECT i.id, i.title, i.status FROM issues i WHERE i.id IN \
             (SELECT e.issue_id FROM events e WHERE e.project_id = $1 AND e.release = $2 AND e.reopened = 1) \
             ORDER BY i.last_seen DESC LIMIT $3"
        } else {
            "SELECT i.id, i.title, i.status FROM issues i WHERE i.project_id = $1 AND i.first_release = $2 \
             ORDER BY i.first_seen DESC LIMIT $3"
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(project_id)
            .bind(version)
            .bind(limit)
            .fetch_all(c)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    })
}

/// A version's package and semver, as Sentry reads release versions: `package@1.2.3` (package
/// `package`) or `1.2.3` (package `""`), with pre-release and build parts; `None` for anything
/// else.
fn semver_of(version: &str) -> Option<(&str, semver::Version)> {
    let (package, bare) = version.rsplit_once('@').unwrap_or(("", version));
    let parsed = semver::Version::parse(bare.strip_prefix('v').unwrap_or(bare)).ok()?;
    Some((package, parsed))
}

/// Sentry's release order: by semver when every version parses as one of the same package,
/// else by when each was first seen. `releases` are (version, first seen); the newest comes
/// last.
pub fn order_releases<T>(releases: &mut [T], version: impl Fn(&T) -> &str, seen: impl Fn(&T) -> f64) {
    let parsed: Option<Vec<(&str, semver::Version)>> = releases.iter().map(|r| semver_of(version(r))).collect();
    // Versions of two packages (`web@2.0.0`, `api@1.0.0`) say nothing of which came later.
    let one_package = parsed.is_some_and(|p| p.windows(2).all(|w| w[0].0 == w[1].0));
    if one_package {
        releases.sort_by(|a, b| {
            let (x, y) = (semver_of(version(a)), semver_of(version(b)));
            x.cmp(&y).then_with(|| seen(a).total_cmp(&seen(b)))
        });
    } else {
        releases.sort_by(|a, b| seen(a).total_cmp(&seen(b)).then_with(|| version(a).cmp(version(b))));
    }
}

/// Whether release `a` is older, the same or newer than `b`, as resolving in a release asks
/// it of two versions (the one an event names, the one the issue was resolved in): by semver
/// when both parse and are of the same package, else by when each was first seen. `None` for
/// a first seen means not seen before the batch at hand, which makes it newer than any seen.
/// Ties are broken as [`order_releases`] breaks them.
pub fn compare_releases(a: &str, a_seen: Option<f64>, b: &str, b_seen: Option<f64>) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let seen = a_seen
        .unwrap_or(f64::INFINITY)
        .total_cmp(&b_seen.unwrap_or(f64::INFINITY));
    match (semver_of(a), semver_of(b)) {
        (Some((pa, x)), Some((pb, y))) if pa == pb => x.cmp(&y).then(seen),
        _ => seen.then_with(|| a.cmp(b)),
    }
}

/// Whether [`compare_releases`] needs the first-seen times of `a` and `b`: unless both are
/// versions of one package that semver orders.
pub fn needs_first_seen(a: &str, b: &str) -> bool {
    a != b && !matches!((semver_of(a), semver_of(b)), (Some((pa, x)), Some((pb, y))) if pa == pb && x != y)
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering::{Equal, Greater, Less};

    use super::{compare_releases, needs_first_seen, order_releases};

    fn ordered(list: &[(&'static str, f64)]) -> Vec<&'static str> {
        let mut list = list.to_vec();
        order_releases(&mut list, |r| r.0, |r| r.1);
        list.iter().map(|r| r.0).collect()
    }

    #[test]
    fn releases_order_by_semver_when_all_parse_else_by_first_seen() {
        // 1.10.0 is newer than 1.9.0 although seen first; a pre-release comes before its release.
        assert_eq!(
            ordered(&[("shop@1.10.0", 1.0), ("shop@1.9.0", 2.0), ("shop@1.10.0-rc.1", 3.0)]),
            ["shop@1.9.0", "shop@1.10.0-rc.1", "shop@1.10.0"]
        );
        assert_eq!(ordered(&[("2.0.0", 1.0), ("v1.0.0", 2.0)]), ["v1.0.0", "2.0.0"]);
        // One version that is not semver: first seen decides for all.
        assert_eq!(ordered(&[("b", 2.0), ("1.0.0", 3.0), ("a", 1.0)]), ["a", "b", "1.0.0"]);
    }

    #[test]
    fn versions_of_one_package_compare_by_semver_whatever_their_first_seen() {
        // As text, "1.10.0" < "1.9.0"; by semver it is newer, though seen first.
        assert_eq!(
            compare_releases("app@1.10.0", Some(1.0), "app@1.9.0", Some(2.0)),
            Greater
        );
        assert_eq!(compare_releases("app@1.9.0", Some(2.0), "app@1.10.0", Some(1.0)), Less);
        assert_eq!(compare_releases("1.10.0", None, "v1.9.0", Some(1.0)), Greater);
        assert_eq!(
            compare_releases("app@2.0.0-rc.1", Some(9.0), "app@2.0.0", Some(1.0)),
            Less
        );
        assert_eq!(compare_releases("app@1.9.0", Some(1.0), "app@1.9.0", Some(5.0)), Equal);
        assert!(!needs_first_seen("app@1.10.0", "app@1.9.0"));
    }

    #[test]
    fn other_versions_compare_by_first_seen_and_one_not_seen_yet_is_the_newest() {
        assert_eq!(compare_releases("b", Some(1.0), "a", Some(2.0)), Less);
        assert_eq!(compare_releases("a", Some(2.0), "b", Some(1.0)), Greater);
        // Seen for the first time in the batch at hand: newer than every release seen before.
        assert_eq!(compare_releases("a", None, "z", Some(1e12)), Greater);
        assert_eq!(compare_releases("z", Some(1e12), "a", None), Less);
        // One of them not semver, or two packages: first seen decides.
        assert_eq!(compare_releases("app@2.0.0", Some(5.0), "nightly", Some(6.0)), Less);
        assert_eq!(compare_releases("web@2.0.0", Some(5.0), "api@1.0.0", Some(6.0)), Less);
        assert!(needs_first_seen("web@2.0.0", "api@1.0.0"));
        assert!(needs_first_seen("1.0.0", "v1.0.0"));
        assert!(needs_first_seen("a", "b"));
        assert!(!needs_first_seen("a", "a"));
    }

    #[test]
    fn releases_of_two_packages_order_by_first_seen() {
        assert_eq!(
            ordered(&[("web@2.0.0", 1.0), ("api@1.0.0", 2.0)]),
            ["web@2.0.0", "api@1.0.0"]
        );
    }
}
