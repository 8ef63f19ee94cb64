//! Reading issues: filtered and sorted lists, one issue, its tags and its events.

use sqlx::{QueryBuilder, Row};

use super::events::{EVENT_COLUMNS, StoredEvent, stored_event};
use super::pool::on;
use super::{Pool, StoreError};

/// An issue as the API and UI show it.
#[derive(Debug, Clone)]
pub struct IssueRecord {
    pub id: i64,
    pub project_id: i64,
    pub project_slug: String,
    pub project_name: String,
    pub short_number: i64,
    pub title: String,
    pub culprit: Option<String>,
    pub ty: Option<String>,
    pub value: Option<String>,
    pub level: String,
    pub platform: String,
    /// The stored status; see [`IssueRecord::effective_status`].
    pub status: String,
    pub first_seen: f64,
    pub last_seen: f64,
    pub times_seen: i64,
    pub users_seen: i64,
    pub first_release: Option<String>,
    pub last_release: Option<String>,
    pub resolved_at: Option<f64>,
    pub ignore_until: Option<f64>,
    pub ignore_count: Option<i64>,
    pub ignore_baseline: Option<i64>,
    /// More distinct users that end the ignore, and `users_seen` when it began.
    pub ignore_users: Option<i64>,
    pub ignore_users_baseline: Option<i64>,
    /// `(events, seconds)`: that many events within that long end the ignore.
    pub ignore_window: Option<(i64, f64)>,
    pub assignee_id: Option<i64>,
    pub assignee_email: Option<String>,
    /// A resolved issue resolved in a release: which.
    pub resolved_in: Option<super::ResolvedIn>,
}

impl IssueRecord {
    /// An ignore whose time has passed is over even before the next event arrives.
    pub fn effective_status(&self, now: f64) -> &str {
        match (self.status.as_str(), self.ignore_until) {
            ("ignored", Some(until)) if until <= now => "unresolved",
            (status, _) => status,
        }
    }
}

/// `value` as a `LIKE … ESCAPE '\\'` pattern that matches only itself.
pub fn like_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// How a tag row's value must look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagMatch {
    /// Exactly this value.
    Is(String),
    /// A `LIKE … ESCAPE '\\'` pattern.
    Like(String),
    /// Any value: the tag is there.
    Any,
    /// The project's latest release, in Sentry's release order (semver, else first seen).
    LatestRelease,
}

/// One way a tag condition can hold: a row of tag `key` whose value matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagAlternative {
    pub key: String,
    pub matches: TagMatch,
}

impl TagAlternative {
    pub fn new(key: &str, matches: TagMatch) -> TagAlternative {
        TagAlternative {
            key: key.to_string(),
            matches,
        }
    }
}

/// A tag condition: some tag row of the issue matches one of the alternatives (none does, when
/// negated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    pub alternatives: Vec<TagAlternative>,
    pub negate: bool,
}

impl TagFilter {
    /// `key:value`, exactly.
    pub fn equals(key: &str, value: &str) -> TagFilter {
        TagFilter {
            alternatives: vec![TagAlternative::new(key, TagMatch::Is(value.to_string()))],
            negate: false,
        }
    }
}

/// A comparison in a field filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

/// The issue columns a search can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueField {
    FirstSeen,
    LastSeen,
    TimesSeen,
    UsersSeen,
}

/// `times_seen:>5`, `lastSeen:-24h` (as `last_seen >= now - 86400`), …
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldFilter {
    pub field: IssueField,
    pub op: Compare,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueSort {
    /// Last seen, newest first.
    Date,
    /// First seen, newest first.
    New,
    /// Most events first.
    Freq,
    /// Most users first.
    User,
}

/// Whose issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Nobody,
    Anybody,
    User(i64),
}

/// What an issue list asks for.
#[derive(Debug, Clone)]
pub struct IssueFilter {
    /// `None` lists the issues of every project.
    pub project_id: Option<i64>,
    pub status: Option<String>,
    pub tags: Vec<TagFilter>,
    pub fields: Vec<FieldFilter>,
    /// Only issues first seen or regressed since this time (`is:for_review`).
    pub for_review_since: Option<f64>,
    /// Every word must appear in the title or the culprit.
    pub text: Vec<String>,
    pub assignee: Option<AssigneeFilter>,
    pub sort: IssueSort,
    pub offset: i64,
    pub limit: i64,
    /// The clock, for ignores that ran out.
    pub now: f64,
}

const ISSUE_COLUMNS: &str = "i.id, i.project_id, p.slug, p.name, i.short_number, i.title, i.culprit, i.type, i.value, \
     i.level, i.platform, i.status, i.first_seen, i.last_seen, i.times_seen, i.users_seen, i.first_release, \
     i.last_release, i.resolved_at, i.ignore_until, i.ignore_count, i.ignore_baseline, i.assignee_id, u.email, \
     i.ignore_users, i.ignore_users_baseline, i.ignore_window_count, i.ignore_window, i.resolved_in, \
     i.resolved_in_release";

/// Issues with their project and assignee.
const ISSUE_FROM: &str =
    "FROM issues i JOIN projects p ON p.id = i.project_id LEFT JOIN users u ON u.id = i.assignee_id";

/// An [`IssueRecord`] from a row of [`ISSUE_COLUMNS`], of either backend's row type.
macro_rules! issue_from_row {
    ($r:expr) => {{
        let r = $r;
        IssueRecord {
            id: r.get(0),
            project_id: r.get(1),
            project_slug: r.get(2),
            project_name: r.get(3),
            short_number: r.get(4),
            title: r.get(5),
            culprit: r.get(6),
            ty: r.get(7),
            value: r.get(8),
            level: r.get(9),
            platform: r.get(10),
            status: r.get(11),
            first_seen: r.get(12),
            last_seen: r.get(13),
            times_seen: r.get(14),
            users_seen: r.get(15),
            first_release: r.get(16),
            last_release: r.get(17),
            resolved_at: r.get(18),
            ignore_until: r.get(19),
            ignore_count: r.get(20),
            ignore_baseline: r.get(21),
            assignee_id: r.get(22),
            assignee_email: r.get(23),
            ignore_users: r.get(24),
            ignore_users_baseline: r.get(25),
            ignore_window: r.get::<Option<i64>, _>(26).zip(r.get::<Option<f64>, _>(27)),
            resolved_in: super::resolutions::ResolvedIn::from_columns(r.get::<Option<&str>, _>(28), r.get(29)),
        }
    }};
}

/// One page of issues (`limit + 1` rows are read to tell whether another page follows).
pub async fn list_issues(pool: &Pool, f: &IssueFilter) -> Result<(Vec<IssueRecord>, bool), StoreError> {
    let wants_latest = f
        .tags
        .iter()
        .flat_map(|t| &t.alternatives)
        .any(|a| a.matches == TagMatch::LatestRelease);
    let latest = if wants_latest {
        latest_releases(pool, f.project_id).await?
    } else {
        Vec::new()
    };
    on!(pool, |c, DB| {
        let mut qb: QueryBuilder<DB> = QueryBuilder::new(format!("SELECT {ISSUE_COLUMNS} {ISSUE_FROM} WHERE 1 = 1"));
        if let Some(project_id) = f.project_id {
            qb.push(" AND i.project_id = ");
            qb.push_bind(project_id);
        }
        match f.status.as_deref() {
            Some("unresolved") => {
                qb.push(" AND (i.status = 'unresolved' OR (i.status = 'ignored' AND i.ignore_until <= ");
                qb.push_bind(f.now);
                qb.push("))");
            }
            Some("ignored") => {
                qb.push(" AND i.status = 'ignored' AND (i.ignore_until IS NULL OR i.ignore_until > ");
                qb.push_bind(f.now);
                qb.push(")");
            }
            Some(status) => {
                qb.push(" AND i.status = ");
                qb.push_bind(status.to_string());
            }
            None => {}
        }
        // One EXISTS per alternative, each probing the (issue_id, key, value) key with plain
        // equalities: an OR inside one subquery would leave SQLite only issue_id to seek by, and
        // every tag row of every issue to read.
        for tag in &f.tags {
            qb.push(if tag.negate { " AND NOT (" } else { " AND (" });
            for (n, alt) in tag.alternatives.iter().enumerate() {
                if n > 0 {
                    qb.push(" OR ");
                }
                qb.push("EXISTS (SELECT 1 FROM issue_tag_values t WHERE t.issue_id = i.id AND t.key = ");
                qb.push_bind(alt.key.clone());
                match &alt.matches {
                    TagMatch::Is(value) => {
                        qb.push(" AND t.value = ");
                        qb.push_bind(value.clone());
                    }
                    TagMatch::Like(pattern) => {
                        qb.push(" AND t.value LIKE ");
                        qb.push_bind(pattern.clone());
                        qb.push(" ESCAPE '\\'");
                    }
                    TagMatch::Any => {}
                    TagMatch::LatestRelease => {
                        qb.push(" AND (0 = 1");
                        for (project_id, release) in &latest {
                            qb.push(" OR (i.project_id = ");
                            qb.push_bind(*project_id);
                            qb.push(" AND t.value = ");
                            qb.push_bind(release.clone());
                            qb.push(")");
                        }
                        qb.push(")");
                    }
                }
                qb.push(")");
            }
            if tag.alternatives.is_empty() {
                qb.push("0 = 1");
            }
            qb.push(")");
        }
        for field in &f.fields {
            qb.push(match field.field {
                IssueField::FirstSeen => " AND i.first_seen ",
                IssueField::LastSeen => " AND i.last_seen ",
                IssueField::TimesSeen => " AND i.times_seen ",
                IssueField::UsersSeen => " AND i.users_seen ",
            });
            qb.push(match field.op {
                Compare::Lt => "< ",
                Compare::Le => "<= ",
                Compare::Eq => "= ",
                Compare::Ge => ">= ",
                Compare::Gt => "> ",
            });
            match field.field {
                IssueField::FirstSeen | IssueField::LastSeen => qb.push_bind(field.value),
                IssueField::TimesSeen | IssueField::UsersSeen => qb.push_bind(field.value as i64),
            };
        }
        if let Some(since) = f.for_review_since {
            qb.push(" AND (i.first_seen >= ");
            qb.push_bind(since);
            qb.push(" OR EXISTS (SELECT 1 FROM activity a WHERE a.issue_id = i.id AND a.kind = 'set_regression' AND a.at >= ");
            qb.push_bind(since);
            qb.push("))");
        }
        match f.assignee {
            Some(AssigneeFilter::Nobody) => {
                qb.push(" AND i.assignee_id IS NULL");
            }
            Some(AssigneeFilter::Anybody) => {
                qb.push(" AND i.assignee_id IS NOT NULL");
            }
            Some(AssigneeFilter::User(id)) => {
                qb.push(" AND i.assignee_id = ");
                qb.push_bind(id);
            }
            None => {}
        }
        for word in &f.text {
            let pattern = format!("%{}%", like_escape(word));
            // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
            qb.push(" AND (lower(i.title) LIKE lower(");
            qb.push_bind(pattern.clone());
            qb.push(") ESCAPE '\\' OR lower(COALESCE(i.culprit, '')) LIKE lower(");
            qb.push_bind(pattern);
            qb.push(")");
            qb.push(" ESCAPE '\\')");
        }
        qb.push(match f.sort {
            IssueSort::Date => " ORDER BY i.last_seen DESC, i.id DESC",
            IssueSort::New => " ORDER BY i.first_seen DESC, i.id DESC",
            IssueSort::Freq => " ORDER BY i.times_seen DESC, i.id DESC",
            IssueSort::User => " ORDER BY i.users_seen DESC, i.id DESC",
        });
        qb.push(" LIMIT ");
        qb.push_bind(f.limit + 1);
        qb.push(" OFFSET ");
        qb.push_bind(f.offset);
        let rows = qb.build().fetch_all(c).await?;
        let more = rows.len() as i64 > f.limit;
        Ok((
            rows.iter().take(f.limit as usize).map(|r| issue_from_row!(r)).collect(),
            more,
        ))
    })
}

/// Each project's latest release (of `project_id`, or of every project), in Sentry's release
/// order: by semver when every version parses, else the one whose first event came last.
pub async fn latest_releases(pool: &Pool, project_id: Option<i64>) -> Result<Vec<(i64, String)>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query(
            "SELECT i.project_id, t.value, MIN(t.first_seen) AS since FROM issues i \
             JOIN issue_tag_values t ON t.issue_id = i.id AND t.key = 'release' \
             WHERE ($1 IS NULL OR i.project_id = $2) GROUP BY i.project_id, t.value",
        )
        .bind(project_id)
        .bind(project_id)
        .fetch_all(c)
        .await?;
        let mut by_project: std::collections::BTreeMap<i64, Vec<(String, f64)>> = Default::default();
        for r in &rows {
            let (project, value, since): (i64, String, f64) = (r.get(0), r.get(1), r.get(2));
            by_project.entry(project).or_default().push((value, since));
        }
        // Sentry's order: semver when every version parses, else the release first seen last.
        Ok(by_project
            .into_iter()
            .filter_map(|(project, mut versions)| {
                super::releases::order_releases(&mut versions, |v| v.0.as_str(), |v| v.1);
                versions.pop().map(|(v, _)| (project, v))
            })
            .collect())
    })
}

/// Whether any issue (of `project_id`, or of any project) has tag `key`.
pub async fn tag_key_exists(pool: &Pool, project_id: Option<i64>, key: &str) -> Result<bool, StoreError> {
    on!(pool, |c| {
        // Issue by issue through the (issue_id, key, value) key: no index on key alone is kept,
        // as ingest would pay for it on every tag row.
        let row = sqlx::query(
            "SELECT 1 FROM issues i JOIN issue_tag_values t ON t.issue_id = i.id AND t.key = $1 \
             WHERE ($2 IS NULL OR i.project_id = $3) LIMIT 1",
        )
        .bind(key)
        .bind(project_id)
        .bind(project_id)
        .fetch_optional(c)
        .await?;
        Ok(row.is_some())
    })
}

pub async fn issue_by_id(pool: &Pool, id: i64) -> Result<Option<IssueRecord>, StoreError> {
    on!(pool, |c| {
        let sql = format!("SELECT {ISSUE_COLUMNS} {ISSUE_FROM} WHERE i.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?;
        Ok(row.as_ref().map(|r| issue_from_row!(r)))
    })
}

/// `DEFAULT-3`: the project slug (any case) and the issue's number in it.
pub async fn issue_by_short_id(pool: &Pool, slug: &str, number: i64) -> Result<Option<IssueRecord>, StoreError> {
    on!(pool, |c| {
        let sql = format!("SELECT {ISSUE_COLUMNS} {ISSUE_FROM} WHERE p.slug = $1 AND i.short_number = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(slug.to_ascii_lowercase())
            .bind(number)
            .fetch_optional(c)
            .await?;
        Ok(row.as_ref().map(|r| issue_from_row!(r)))
    })
}

/// A value of a tag with its count.
#[derive(Debug, Clone)]
pub struct TagValue {
    pub key: String,
    pub value: String,
    pub count: i64,
    pub first_seen: f64,
    pub last_seen: f64,
}

/// A tag key of an issue: how many events carry it, how many distinct values, the top values.
#[derive(Debug, Clone)]
pub struct TagSummary {
    pub key: String,
    pub total: i64,
    pub distinct: i64,
    pub top: Vec<TagValue>,
}

/// Every tag key of the issue (or just `key`), with up to `top` most frequent values each.
pub async fn issue_tags(
    pool: &Pool,
    issue_id: i64,
    key: Option<&str>,
    top: i64,
) -> Result<Vec<TagSummary>, StoreError> {
    on!(pool, |c| {
        let keys = sqlx::query(
            "SELECT key, CAST(SUM(count) AS BIGINT), COUNT(*) FROM issue_tag_values WHERE issue_id = $1 AND ($2 IS NULL OR key = $3) \
             GROUP BY key ORDER BY key",
        )
        .bind(issue_id)
        .bind(key)
        .bind(key)
        .fetch_all(c)
        .await?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let key: String = k.get(0);
            let values = sqlx::query(
                "SELECT value, count, first_seen, last_seen FROM issue_tag_values WHERE issue_id = $1 AND key = $2 \
                 ORDER BY count DESC, last_seen DESC LIMIT $3",
            )
            .bind(issue_id)
            .bind(&key)
            .bind(top)
            .fetch_all(c)
            .await?;
            out.push(TagSummary {
                top: values
                    .iter()
                    .map(|v| TagValue {
                        key: key.clone(),
                        value: v.get(0),
                        count: v.get(1),
                        first_seen: v.get(2),
                        last_seen: v.get(3),
                    })
                    .collect(),
                key,
                total: k.get(1),
                distinct: k.get(2),
            });
        }
        Ok(out)
    })
}

/// Which end of an issue's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOrder {
    NewestFirst,
    OldestFirst,
}

/// A page of the issue's events in `order` (`limit + 1` are read to tell whether more follow).
pub async fn issue_events(
    pool: &Pool,
    issue_id: i64,
    order: EventOrder,
    offset: i64,
    limit: i64,
) -> Result<(Vec<StoredEvent>, bool), StoreError> {
    events_page(pool, issue_id, order, None, offset, limit).await
}

/// A page of the issue's events, newest first, carrying tag `key` = `value`.
pub async fn issue_events_tagged(
    pool: &Pool,
    issue_id: i64,
    key: &str,
    value: &str,
    offset: i64,
    limit: i64,
) -> Result<(Vec<StoredEvent>, bool), StoreError> {
    // The tags column is a JSON list of pairs, so the pair's own JSON text is a substring of
    // it exactly when the event has the tag.
    let pair = serde_json::to_string(&(key, value)).unwrap_or_default();
    let pattern = format!("%{}%", like_escape(&pair));
    events_page(pool, issue_id, EventOrder::NewestFirst, Some(pattern), offset, limit).await
}

async fn events_page(
    pool: &Pool,
    issue_id: i64,
    order: EventOrder,
    tags_like: Option<String>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<StoredEvent>, bool), StoreError> {
    on!(pool, |c| {
        let direction = match order {
            EventOrder::NewestFirst => "DESC",
            EventOrder::OldestFirst => "ASC",
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1 AND ($2 IS NULL OR tags LIKE $3 ESCAPE '\\') \
             ORDER BY timestamp {direction}, id {direction} LIMIT $4 OFFSET $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(issue_id)
            .bind(tags_like.as_deref())
            .bind(tags_like.as_deref())
            .bind(limit + 1)
            .bind(offset)
            .fetch_all(c)
            .await?;
        let more = rows.len() as i64 > limit;
        Ok((
            rows.iter().take(limit as usize).map(|r| stored_event!(r)).collect(),
            more,
        ))
    })
}

/// A page of one tag key's values in an issue, most frequent first.
pub async fn issue_tag_values(
    pool: &Pool,
    issue_id: i64,
    key: &str,
    offset: i64,
    limit: i64,
) -> Result<(Vec<TagValue>, bool), StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query(
            "SELECT value, count, first_seen, last_seen FROM issue_tag_values WHERE issue_id = $1 AND key = $2 \
             ORDER BY count DESC, last_seen DESC, value LIMIT $3 OFFSET $4",
        )
        .bind(issue_id)
        .bind(key)
        .bind(limit + 1)
        .bind(offset)
        .fetch_all(c)
        .await?;
        let more = rows.len() as i64 > limit;
        Ok((
            rows.iter()
                .take(limit as usize)
                .map(|v| TagValue {
                    key: key.to_string(),
                    value: v.get(0),
                    count: v.get(1),
                    first_seen: v.get(2),
                    last_seen: v.get(3),
                })
                .collect(),
            more,
        ))
    })
}

/// The ids of the events just before and just after `event` in its issue (by time).
pub async fn event_neighbours(
    pool: &Pool,
    event: &StoredEvent,
) -> Result<(Option<String>, Option<String>), StoreError> {
    on!(pool, |c| {
        let Some(issue_id) = event.issue_id else {
            return Ok((None, None));
        };
        let older: Option<String> = sqlx::query_scalar(
            "SELECT event_id FROM events WHERE issue_id = $1 AND (timestamp, id) < ($2, $3) \
             ORDER BY timestamp DESC, id DESC LIMIT 1",
        )
        .bind(issue_id)
        .bind(event.timestamp)
        .bind(event.row_id)
        .fetch_optional(c)
        .await?;
        let newer: Option<String> = sqlx::query_scalar(
            "SELECT event_id FROM events WHERE issue_id = $1 AND (timestamp, id) > ($2, $3) \
             ORDER BY timestamp ASC, id ASC LIMIT 1",
        )
        .bind(issue_id)
        .bind(event.timestamp)
        .bind(event.row_id)
        .fetch_optional(c)
        .await?;
        Ok((older, newer))
    })
}

/// Events per hour for each issue since `since_hour` (epoch hours), for sparklines and charts.
/// ` AND issue_id IN (…)` with the ids bound.
fn push_ids<DB: sqlx::Database>(qb: &mut QueryBuilder<DB>, ids: &[i64])
where
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    qb.push(" AND issue_id IN ");
    super::push_list(qb, ids.iter().copied());
}

/// Which of `issue_ids` regressed (a resolved issue seen again) since `since`.
pub async fn regressed_since(
    pool: &Pool,
    issue_ids: &[i64],
    since: f64,
) -> Result<std::collections::HashSet<i64>, StoreError> {
    on!(pool, |c, DB| {
        let mut out = std::collections::HashSet::new();
        if issue_ids.is_empty() {
            return Ok(out);
        }
        let mut qb: QueryBuilder<DB> =
            QueryBuilder::new("SELECT DISTINCT issue_id FROM activity WHERE kind = 'set_regression' AND at >= ");
        qb.push_bind(since);
        push_ids(&mut qb, issue_ids);
        for r in qb.build().fetch_all(c).await? {
            out.insert(r.get::<i64, _>(0));
        }
        Ok(out)
    })
}

pub async fn hourly_counts(
    pool: &Pool,
    issue_ids: &[i64],
    since_hour: i64,
) -> Result<std::collections::HashMap<i64, Vec<(i64, i64)>>, StoreError> {
    on!(pool, |c, DB| {
        let mut out: std::collections::HashMap<i64, Vec<(i64, i64)>> = std::collections::HashMap::new();
        if issue_ids.is_empty() {
            return Ok(out);
        }
        let mut qb: QueryBuilder<DB> =
            QueryBuilder::new("SELECT issue_id, hour, count FROM issue_hourly WHERE hour >= ");
        qb.push_bind(since_hour);
        push_ids(&mut qb, issue_ids);
        qb.push(" ORDER BY issue_id, hour");
        for r in qb.build().fetch_all(c).await? {
            out.entry(r.get(0)).or_default().push((r.get(1), r.get(2)));
        }
        Ok(out)
    })
}

/// Distinct values of a tag across the 1,000 most recently seen issues of a project (or of all
/// projects), for pickers: most frequent first.
pub async fn project_tag_values(
    pool: &Pool,
    project_id: Option<i64>,
    key: &str,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    on!(pool, |c| {
        // From the most recently seen issues only: a bounded read however many issues there
        // are (a full scan of the tag values took 60 ms per picker at a million events), and
        // the values people filter by now.
        let rows = sqlx::query(
            "SELECT t.value FROM (SELECT id FROM issues WHERE ($2 IS NULL OR project_id = $3) \
             ORDER BY last_seen DESC LIMIT 1000) i JOIN issue_tag_values t ON t.issue_id = i.id AND t.key = $1 \
             GROUP BY t.value ORDER BY SUM(t.count) DESC, t.value LIMIT $4",
        )
        .bind(key)
        .bind(project_id)
        .bind(project_id)
        .bind(limit)
        .fetch_all(c)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    })
}

/// An external tracker link on an issue.
#[derive(Debug, Clone)]
pub struct IssueLink {
    pub url: String,
    pub label: String,
    pub created_by: Option<String>,
}

pub async fn issue_links(pool: &Pool, issue_id: i64) -> Result<Vec<IssueLink>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query("SELECT url, label, created_by FROM issue_links WHERE issue_id = $1 ORDER BY id")
            .bind(issue_id)
            .fetch_all(c)
            .await?;
        Ok(rows
            .iter()
            .map(|r| IssueLink {
                url: r.get(0),
                label: r.get(1),
                created_by: r.get(2),
            })
            .collect())
    })
}

/// What a user wrote about one of the issue's events.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub event_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub comments: String,
    pub received: f64,
}

/// Feedback linked (by event id) to the issue's events, newest first.
pub async fn issue_feedback(pool: &Pool, issue_id: i64) -> Result<Vec<Feedback>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query(
            "SELECT f.event_id, f.name, f.email, f.comments, f.received FROM user_feedback f \
             JOIN events e ON e.project_id = f.project_id AND e.event_id = f.event_id \
             WHERE e.issue_id = $1 ORDER BY f.received DESC, f.id DESC",
        )
        .bind(issue_id)
        .fetch_all(c)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Feedback {
                event_id: r.get(0),
                name: r.get(1),
                email: r.get(2),
                comments: r.get(3),
                received: r.get(4),
            })
            .collect())
    })
}

/// Everyone who can be assigned: `(id, email)`.
pub async fn all_users(pool: &Pool) -> Result<Vec<(i64, String)>, StoreError> {
    on!(pool, |c| {
        let rows = sqlx::query("SELECT id, email FROM users ORDER BY email")
            .fetch_all(c)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    })
}
