//! Issue lists: per project and across projects, with status tabs, the search language, pickers,
//! sort, pagination, sparklines, and bulk resolve/ignore.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{page, see_other};
use super::{Chrome, Viewer, WebError, WebState, charts, time};
use crate::api::parse_search;
use crate::event::unix_now;
use crate::store::{self, IssueFilter, IssueSort};

const PAGE_SIZE: i64 = 50;
/// An issue is marked New for a day after its first event, and Regressed for a week after it came back.
const NEW_WITHIN: f64 = 86_400.0;
const REGRESSED_WITHIN: f64 = 7.0 * 86_400.0;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    status: Option<String>,
    query: Option<String>,
    sort: Option<String>,
    environment: Option<String>,
    release: Option<String>,
    page: Option<i64>,
    /// What a bulk action just did (`resolve`, …), and to how many issues.
    done: Option<String>,
    count: Option<i64>,
}

pub struct Row {
    pub id: i64,
    pub short_id: String,
    pub title: String,
    pub culprit: String,
    pub level: String,
    pub status: String,
    pub events: i64,
    pub users: i64,
    /// `<time>` elements.
    pub first_seen: String,
    pub last_seen: String,
    pub sparkline: String,
    pub assignee: String,
    /// First seen in the last day.
    pub new: bool,
    /// A resolved issue that came back in the last week.
    pub regressed: bool,
}

#[derive(Template)]
#[template(path = "issues.html")]
struct IssuesPage {
    chrome: Chrome,
    heading: String,
    base: String,
    status: String,
    query: String,
    sort: String,
    environment: String,
    release: String,
    environments: Vec<String>,
    releases: Vec<String>,
    rows: Vec<Row>,
    error: Option<String>,
    /// What the last bulk action did.
    notice: Option<String>,
    /// Everyone issues can be assigned to: (user id, email).
    users: Vec<(i64, String)>,
    page: i64,
    more: bool,
}

impl IssuesPage {
    /// The list's URL with one parameter changed, for tabs, sort links and pages.
    fn link(&self, key: &str, value: &str) -> String {
        // A tab replaces the status the query may name.
        let query = if key == "status" {
            without_status(&self.query)
        } else {
            self.query.clone()
        };
        let mut params = vec![
            ("status", self.status.clone()),
            ("query", query),
            ("sort", self.sort.clone()),
            ("environment", self.environment.clone()),
            ("release", self.release.clone()),
        ];
        params.retain(|(k, v)| *k != key && !v.is_empty());
        if !value.is_empty() {
            params.push((key_static(key), value.to_string()));
        }
        let qs = serde_urlencoded::to_string(&params).unwrap_or_default();
        format!("{}?{qs}", self.base)
    }
}

/// The query without its `is:unresolved|resolved|ignored|archived|for_review` tokens.
fn without_status(query: &str) -> String {
    const STATUSES: [&str; 5] = ["unresolved", "resolved", "ignored", "archived", "for_review"];
    let is_status = |t: &str| t.strip_prefix("is:").is_some_and(|v| STATUSES.contains(&v));
    if !query.split_whitespace().any(is_status) {
        return query.to_string();
    }
    query
        .split_whitespace()
        .filter(|t| !is_status(t))
        .collect::<Vec<_>>()
        .join(" ")
}

impl IssuesPage {
    /// The list's own parameters, for the bulk form to come back to (and to search again).
    fn list_params(&self) -> String {
        let mut params = vec![
            ("status", self.status.clone()),
            ("query", self.query.clone()),
            ("sort", self.sort.clone()),
            ("environment", self.environment.clone()),
            ("release", self.release.clone()),
        ];
        params.retain(|(_, v)| !v.is_empty());
        if self.page > 1 {
            params.push(("page", self.page.to_string()));
        }
        serde_urlencoded::to_string(&params).unwrap_or_default()
    }
}

fn key_static(key: &str) -> &'static str {
    match key {
        "status" => "status",
        "query" => "query",
        "sort" => "sort",
        "environment" => "environment",
        "release" => "release",
        _ => "page",
    }
}

/// `/`: the issue list across projects.
pub async fn home(viewer: Viewer, state: web::Data<WebState>) -> Result<HttpResponse, WebError> {
    render(viewer, state, None, ListQuery::default()).await
}

pub async fn all_list(
    viewer: Viewer,
    query: web::Query<ListQuery>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    render(viewer, state, None, query.into_inner()).await
}

pub async fn project_list(
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let project = store::project_by_slug(&state.pool, &path)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("no project {:?}", path.as_str())))?;
    render(viewer, state, Some((project.id, project.slug)), query.into_inner()).await
}

/// The list's search as the store's filter: the query (with a status in it overriding the tab),
/// the pickers, and the signed-in person for `assigned:me`. Also the tab to show, and what is
/// wrong with the search, if anything.
pub struct ListFilter {
    pub filter: IssueFilter,
    pub tab: String,
    pub tags: Vec<store::TagFilter>,
    pub error: Option<String>,
}

pub async fn list_filter(
    state: &WebState,
    viewer: &Viewer,
    project_id: Option<i64>,
    q: &ListQuery,
    now: f64,
) -> Result<ListFilter, WebError> {
    let tab = q.status.clone().unwrap_or_else(|| "unresolved".into());
    let query = q.query.clone().unwrap_or_default();
    let sort = match q.sort.as_deref().unwrap_or("date") {
        "new" => IssueSort::New,
        "freq" => IssueSort::Freq,
        "user" => IssueSort::User,
        _ => IssueSort::Date,
    };
    let mut error = None;
    let mut search = parse_search(&query, now).unwrap_or_else(|e| {
        error = Some(e);
        Default::default()
    });
    // A status in the query wins over the tab, and the tab shows it.
    let tab = match (&search.status, search.for_review_since) {
        (_, Some(_)) => "unresolved".to_string(),
        (Some(s), None) => s.clone(),
        (None, None) => tab,
    };
    if search.status.is_none() && tab != "all" {
        search.status = Some(tab.clone());
    }
    for (key, value) in [("environment", &q.environment), ("release", &q.release)] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            search.tags.push(store::TagFilter::equals(key, v));
        }
    }
    let assignee = match crate::api::assignee_filter(&state.pool, search.assigned.as_ref(), Some(viewer.user_id)).await
    {
        Ok(a) => a,
        Err(e) => {
            error.get_or_insert(e);
            None
        }
    };
    let page_no = q.page.unwrap_or(1).max(1);
    let tags = search.tags.clone();
    let filter = search.into_filter(project_id, assignee, sort, ((page_no - 1) * PAGE_SIZE, PAGE_SIZE), now);
    Ok(ListFilter {
        filter,
        tab,
        tags,
        error,
    })
}

async fn render(
    viewer: Viewer,
    state: web::Data<WebState>,
    project: Option<(i64, String)>,
    q: ListQuery,
) -> Result<HttpResponse, WebError> {
    let query = q.query.clone().unwrap_or_default();
    let sort_name = q.sort.clone().unwrap_or_else(|| "date".into());
    let page_no = q.page.unwrap_or(1).max(1);
    if let Some(target) = jump_target(&state, query.trim()).await? {
        return Ok(see_other(&target));
    }
    let now = unix_now();
    let project_id = project.as_ref().map(|(id, _)| *id);
    let ListFilter {
        filter,
        tab: status,
        tags,
        mut error,
    } = list_filter(&state, &viewer, project_id, &q, now).await?;
    let (issues, more) = if error.is_none() {
        store::list_issues(&state.pool, &filter).await?
    } else {
        (Vec::new(), false)
    };
    if issues.is_empty() && error.is_none() {
        error = unknown_tag_key(&state, project_id, &tags).await?;
    }
    let now_hour = (now / 3600.0).floor() as i64;
    let ids: Vec<i64> = issues.iter().map(|i| i.id).collect();
    let hourly = store::hourly_counts(&state.pool, &ids, now_hour - 23).await?;
    let regressed = store::regressed_since(&state.pool, &ids, now - REGRESSED_WITHIN).await?;
    let empty = Vec::new();
    let rows = issues
        .iter()
        .map(|i| Row {
            id: i.id,
            short_id: crate::api::short_id(i),
            title: i.title.clone(),
            culprit: i.culprit.clone().unwrap_or_default(),
            level: i.level.clone(),
            status: i.effective_status(now).to_string(),
            events: i.times_seen,
            users: i.users_seen,
            assignee: i.assignee_email.clone().unwrap_or_default(),
            new: i.first_seen >= now - NEW_WITHIN,
            regressed: regressed.contains(&i.id) && i.effective_status(now) == "unresolved",
            first_seen: time::html(i.first_seen, now),
            last_seen: time::html(i.last_seen, now),
            sparkline: charts::bars(
                &charts::hourly(hourly.get(&i.id).unwrap_or(&empty), now_hour, 24),
                96,
                24,
                "events per hour, last 24 hours",
                false,
            ),
        })
        .collect();
    let (heading, base) = match &project {
        Some((_, slug)) => (format!("Issues of {slug}"), format!("/projects/{slug}/issues/")),
        None => ("All issues".to_string(), "/issues/".to_string()),
    };
    let listing = IssuesPage {
        chrome: Chrome::for_viewer(&heading, &viewer),
        heading,
        base,
        status,
        query,
        sort: sort_name,
        environment: q.environment.unwrap_or_default(),
        release: q.release.unwrap_or_default(),
        environments: store::project_tag_values(&state.pool, project_id, "environment", 50).await?,
        releases: store::project_tag_values(&state.pool, project_id, "release", 50).await?,
        rows,
        error,
        notice: super::bulk::notice(q.done.as_deref(), q.count),
        users: store::all_users(&state.pool).await?,
        page: page_no,
        more,
    };
    let mut resp = page(&listing)?;
    if listing.error.is_some() {
        *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

/// Where a search that is only a short id (`DEFAULT-12`) or an event id leads, when it names
/// something stored.
async fn jump_target(state: &WebState, query: &str) -> Result<Option<String>, WebError> {
    if query.is_empty() || query.contains([' ', ':', '"']) {
        return Ok(None);
    }
    if let Some(issue) = issue_by_reference(state, query).await? {
        return Ok(Some(format!("/issues/{}/", issue.id)));
    }
    let hex: String = query
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() == 32
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && let Some(issue_id) = store::issue_of_event(&state.pool, &hex).await?
    {
        return Ok(Some(format!("/issues/{issue_id}/events/{hex}/")));
    }
    Ok(None)
}

/// An issue by its short id (`DEFAULT-12`, any case).
pub async fn issue_by_reference(state: &WebState, reference: &str) -> Result<Option<store::IssueRecord>, WebError> {
    let Some((slug, number)) = reference.rsplit_once('-') else {
        return Ok(None);
    };
    let Ok(number) = number.parse::<i64>() else {
        return Ok(None);
    };
    if slug.is_empty() {
        return Ok(None);
    }
    Ok(store::issue_by_short_id(&state.pool, slug, number).await?)
}

/// When a search found nothing: the first tag key it filters on that no issue in view has,
/// named as the error (a typo, not an empty result).
async fn unknown_tag_key(
    state: &WebState,
    project_id: Option<i64>,
    tags: &[store::TagFilter],
) -> Result<Option<String>, WebError> {
    for tag in tags.iter().filter(|t| !t.negate) {
        let values = tag
            .alternatives
            .iter()
            .filter(|a| !matches!(a.matches, store::TagMatch::Any))
            .map(|a| a.key.as_str());
        let mut keys: Vec<&str> = values.collect();
        keys.dedup();
        if keys.is_empty() {
            continue;
        }
        let mut known = false;
        for key in &keys {
            known |= store::tag_key_exists(&state.pool, project_id, key).await?;
        }
        if !known {
            return Ok(Some(format!(
                "unknown key {:?}: no issue here has this tag. Keys besides tags: is, has, assigned, \
                 firstSeen, lastSeen, times_seen, users_seen, browser.name, os.name, user.id, user.email",
                keys[keys.len() - 1]
            )));
        }
    }
    Ok(None)
}
