//! Issues resolved in a release, as Sentry has them: "resolved in next release" stays resolved
//! for events of the project's latest release at the time and older ones, and regresses on the
//! first event of a newer release; "resolved in release X" regresses on events of X or newer.
//! Which release is newer is [`compare_releases`]'s to say.
//!
//! Resolved issues that get events are rare (each is a regression, or one of these), so the
//! writer reads what these need only then, on its general path: the resolution, and — only
//! for versions semver cannot order — when each release was first seen.

use std::collections::{BTreeSet, HashMap};

use sqlx::QueryBuilder;

use super::digest::Assigned;
use super::events::EventRow;
use super::issue_writes::IssueState;
use super::pool::{Conn, on};
use super::releases::{compare_releases, needs_first_seen, order_releases, project_releases};
use super::{Pool, StoreError};

/// How a resolved issue was resolved in a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedIn {
    /// Until an event of a release newer than `after`, the project's latest release when it
    /// was resolved; `None`: the project had no release then, so any release is the next.
    NextRelease { after: Option<String> },
    /// Until an event of this release or a newer one.
    Release(String),
}

impl ResolvedIn {
    /// From the issue's `resolved_in` and `resolved_in_release` columns.
    pub(super) fn from_columns(kind: Option<&str>, version: Option<String>) -> Option<ResolvedIn> {
        match (kind?, version) {
            ("next_release", after) => Some(ResolvedIn::NextRelease { after }),
            ("release", Some(version)) => Some(ResolvedIn::Release(version)),
            _ => None,
        }
    }

    /// The `resolved_in` and `resolved_in_release` columns.
    pub(super) fn columns(&self) -> (&'static str, Option<&str>) {
        match self {
            ResolvedIn::NextRelease { after } => ("next_release", after.as_deref()),
            ResolvedIn::Release(version) => ("release", Some(version)),
        }
    }

    /// The release events are compared with.
    pub fn version(&self) -> Option<&str> {
        self.columns().1
    }

    /// Whether an event of `release`, given the first-seen times of the versions involved
    /// (`seen`; a version missing there is new in this batch), reopens the issue.
    pub fn reopened_by(&self, release: Option<&str>, seen: &HashMap<String, f64>) -> bool {
        // Sentry's `has_resolution` is false for an event without a release, so such an event
        // regresses the issue; we follow it rather than guess which release it came from.
        let Some(release) = release else {
            return true;
        };
        let Some(version) = self.version() else {
            return true;
        };
        let order = compare_releases(release, seen.get(release).copied(), version, seen.get(version).copied());
        match self {
            ResolvedIn::NextRelease { .. } => order.is_gt(),
            ResolvedIn::Release(_) => order.is_ge(),
        }
    }
}

/// A resolved-in-release issue as a batch sees it: how it was resolved, and the first-seen
/// times of the versions [`ResolvedIn::reopened_by`] compares by them.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub resolved_in: ResolvedIn,
    pub seen: HashMap<String, f64>,
}

/// The release to resolve in, as someone asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseRequest {
    NextRelease,
    /// The project's latest release (Sentry's `"inRelease": "latest"`).
    Latest,
    Version(String),
}

/// What `request` means for the project now; `None` when it names no release of the project.
/// The latest release is the last in [`order_releases`]'s order, dated as the releases page
/// dates them, so the writer's comparisons agree with it.
pub async fn resolution_for(
    pool: &Pool,
    project_id: i64,
    request: &ReleaseRequest,
) -> Result<Option<ResolvedIn>, StoreError> {
    let mut releases = project_releases(pool, project_id).await?;
    order_releases(&mut releases, |r| r.version.as_str(), |r| r.date_created);
    let latest = releases.last().map(|r| r.version.clone());
    Ok(match request {
        ReleaseRequest::NextRelease => Some(ResolvedIn::NextRelease { after: latest }),
        ReleaseRequest::Latest => latest.map(ResolvedIn::Release),
        ReleaseRequest::Version(v) => releases
            .iter()
            .any(|r| r.version == *v)
            .then(|| ResolvedIn::Release(v.clone())),
    })
}

/// For the batch's resolved issues: how each was resolved, when in a release, with the
/// first-seen times its events' releases are compared by.
pub(super) async fn load_resolutions(
    conn: &mut Conn<'_>,
    rows: &[&EventRow],
    assigned: &[Assigned],
    states: &mut HashMap<i64, IssueState>,
) -> Result<(), StoreError> {
    let mut resolved: Vec<(i64, i64)> = assigned
        .iter()
        .filter(|a| states.get(&a.issue_id).is_some_and(|s| s.status == "resolved"))
        .map(|a| (a.issue_id, rows[a.index].project_id))
        .collect();
    resolved.sort_unstable();
    resolved.dedup();
    for (issue_id, project_id) in resolved {
        let (kind, version): (Option<String>, Option<String>) = on!(conn, |c| sqlx::query_as(
            "SELECT resolved_in, resolved_in_release FROM issues WHERE id = $1"
        )
        .bind(issue_id)
        .fetch_one(&mut *c)
        .await?);
        let Some(resolved_in) = ResolvedIn::from_columns(kind.as_deref(), version) else {
            continue;
        };
        let mut seen = HashMap::new();
        if let Some(version) = resolved_in.version() {
            let mut wanted: BTreeSet<&str> = assigned
                .iter()
                .filter(|a| a.issue_id == issue_id)
                .filter_map(|a| rows[a.index].release.as_deref())
                .filter(|r| needs_first_seen(r, version))
                .collect();
            if !wanted.is_empty() {
                wanted.insert(version);
                seen = first_seen(conn, project_id, &wanted).await?;
            }
        }
        if let Some(state) = states.get_mut(&issue_id) {
            state.resolution = Some(Resolution { resolved_in, seen });
        }
    }
    Ok(())
}

/// When each of `versions` was first seen in the project, as the releases page dates them:
/// made through the API, when made; else its first event. Versions never seen are left out.
async fn first_seen(
    conn: &mut Conn<'_>,
    project_id: i64,
    versions: &BTreeSet<&str>,
) -> Result<HashMap<String, f64>, StoreError> {
    // Issue by issue through the (issue_id, key, value) key of the tag values, as the releases
    // page reads them (no index on the value alone is kept, for ingest's sake); then the API's
    // rows, whose dates win.
    const READS: [(&str, &str); 2] = [
        (
            "SELECT t.value, MIN(t.first_seen) FROM issues i JOIN issue_tag_values t ON t.issue_id = i.id \
             AND t.key = 'release' WHERE i.project_id = ",
            " AND t.value IN (",
        ),
        (
            "SELECT version, MIN(date_created) FROM releases WHERE project_id = ",
            " AND version IN (",
        ),
    ];
    let mut seen = HashMap::new();
    for (select, matching) in READS {
        on!(conn, |c, DB| {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new(select);
            qb.push_bind(project_id);
            qb.push(matching);
            let mut list = qb.separated(", ");
            for v in versions {
                list.push_bind(*v);
            }
            qb.push(") GROUP BY 1");
            let found: Vec<(String, f64)> = qb.build_query_as().fetch_all(&mut *c).await?;
            seen.extend(found);
        });
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::ResolvedIn;

    fn seen(list: &[(&str, f64)]) -> HashMap<String, f64> {
        list.iter().map(|(v, t)| (v.to_string(), *t)).collect()
    }

    #[test]
    fn resolved_in_next_release_reopens_only_on_a_newer_release_or_none() {
        let r = ResolvedIn::NextRelease {
            after: Some("app@1.9.0".into()),
        };
        let none = HashMap::new();
        assert!(!r.reopened_by(Some("app@1.9.0"), &none));
        assert!(!r.reopened_by(Some("app@1.8.0"), &none));
        assert!(r.reopened_by(Some("app@1.10.0"), &none));
        assert!(
            r.reopened_by(None, &none),
            "an event without a release regresses, as in Sentry"
        );
        let no_release_then = ResolvedIn::NextRelease { after: None };
        assert!(no_release_then.reopened_by(Some("anything"), &none));
    }

    #[test]
    fn resolved_in_release_reopens_on_that_release_and_newer_ones_by_first_seen() {
        let r = ResolvedIn::Release("beta".into());
        let times = seen(&[("alpha", 1.0), ("beta", 2.0), ("gamma", 3.0)]);
        assert!(!r.reopened_by(Some("alpha"), &times));
        assert!(r.reopened_by(Some("beta"), &times));
        assert!(r.reopened_by(Some("gamma"), &times));
        assert!(r.reopened_by(Some("first-seen-now"), &times));
    }
}
