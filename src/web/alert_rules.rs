//! The alert rules on a project's Alerts page (issue 17): what each says, when it last fired, a
//! form to add one and a button to remove one. The API (`api::rules`) takes the same rules.

use actix_web::{HttpResponse, web};

use actix_web::http::StatusCode;
use askama::Template;

use super::alerts::{project, render, render_with_form};
use super::error::{page_with_status, see_other};
use super::form::Form;
use super::rule_form::{RuleForm, spec_of};
use super::{Chrome, Viewer, WebError, WebState};
use crate::event::unix_now;
use crate::project::Project;
use crate::store::{self, AlertRule, Channel};

/// A rule as the page lists it.
pub struct RuleRow {
    pub id: i64,
    pub name: String,
    pub when: String,
    pub filters: String,
    pub then: String,
    pub interval: String,
    pub last_fired: String,
}

fn row(rule: &AlertRule, channels: &[Channel], last_fired: Option<f64>) -> RuleRow {
    let s = &rule.spec;
    let mut when: Vec<String> = [
        (s.triggers.new, "a new issue"),
        (s.triggers.regression, "a regression"),
        (s.triggers.unignored, "an ignored issue coming back"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, text)| text.to_string())
    .collect();
    if let Some(t) = s.frequency {
        when.push(format!("seen more than {} times in {} min", t.count, t.minutes));
    }
    if let Some(t) = s.users {
        when.push(format!("more than {} users in {} min", t.count, t.minutes));
    }
    let mut filters = Vec::new();
    if !s.environments.is_empty() {
        filters.push(format!("environment is {}", s.environments.join(" or ")));
    }
    if let Some(level) = s.min_level {
        filters.push(format!("level is at least {}", level.as_str()));
    }
    for t in &s.tags {
        filters.push(format!("{} {} {}", t.key, if t.equals { "=" } else { "≠" }, t.value));
    }
    if let Some(pattern) = &s.release {
        filters.push(format!("release matches {pattern}"));
    }
    if s.latest_release {
        filters.push("the release is the latest".to_string());
    }
    if let Some(assigned) = s.assigned {
        filters.push(
            if assigned {
                "the issue is assigned"
            } else {
                "the issue is unassigned"
            }
            .to_string(),
        );
    }
    let then: Vec<String> = s
        .channels
        .iter()
        .map(|id| match channels.iter().find(|c| c.id == *id) {
            Some(c) => format!("{} {}", c.kind, c.target),
            None => format!("channel {id}"),
        })
        .collect();
    RuleRow {
        id: rule.id,
        name: s.name.clone(),
        when: when.join(", "),
        filters: if filters.is_empty() {
            "any event".into()
        } else {
            filters.join("; ")
        },
        then: then.join(", "),
        interval: match s.interval_minutes {
            0 => "every time".into(),
            n => format!("at most once per issue every {n} min"),
        },
        last_fired: last_fired
            .map(crate::event::format_rfc3339)
            .unwrap_or_else(|| "never".into()),
    }
}

/// The project's rules as the page lists them.
pub async fn rows(state: &WebState, project_id: i64, channels: &[Channel]) -> Result<Vec<RuleRow>, WebError> {
    let fired = store::last_fired(&state.pool, project_id).await?;
    Ok(store::list_rules(&state.pool, project_id)
        .await?
        .iter()
        .map(|r| row(r, channels, fired.get(&r.id).copied()))
        .collect())
}

/// A form field's value (the first of that name), empty when absent.
fn field<'f>(fields: &'f [(String, String)], name: &str) -> &'f str {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// `POST /projects/{slug}/alerts/rules`: add a rule.
pub async fn add(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<Vec<(String, String)>>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(field(&form, "csrf"))?;
    let project = project(&state, &path).await?;
    let channels = store::list_channels(&state.pool, Some(project.id)).await?;
    match spec_of(&form, &channels) {
        Ok(spec) => {
            store::create_rule(&state.admin, project.id, &spec, unix_now()).await?;
            Ok(see_other(&format!("/projects/{}/alerts/#rules", project.slug)))
        }
        Err(problem) => render_with_form(&viewer, &state, project, None, Some(problem), Some(&form)).await,
    }
}

#[derive(Template)]
#[template(path = "rule_edit.html")]
struct EditPage {
    chrome: Chrome,
    project: Project,
    form: RuleForm,
    error: Option<String>,
}

/// The project, its channels and its rule `id` (a 404 when it has no such rule).
async fn rule_of(state: &WebState, slug: &str, id: i64) -> Result<(Project, Vec<Channel>, AlertRule), WebError> {
    let project = project(state, slug).await?;
    let channels = store::list_channels(&state.pool, Some(project.id)).await?;
    let rule = store::rule_by_id(&state.pool, project.id, id)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("Project {slug:?} has no rule {id}.")))?;
    Ok((project, channels, rule))
}

fn edit_page(
    viewer: &Viewer,
    project: Project,
    form: RuleForm,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page_with_status(
        &EditPage {
            chrome: Chrome::for_viewer(&format!("Edit rule of {}", project.slug), viewer),
            project,
            form,
            error,
        },
        status,
    )
}

/// `GET /projects/{slug}/alerts/rules/{id}/edit`: the rule in the form that adds one, filled in.
pub async fn edit(
    viewer: Viewer,
    path: web::Path<(String, i64)>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let (slug, id) = path.into_inner();
    let (project, channels, rule) = rule_of(&state, &slug, id).await?;
    let form = RuleForm::editing(&format!("/projects/{slug}/alerts/"), id, &rule.spec, &channels);
    edit_page(&viewer, project, form, None)
}

/// `POST /projects/{slug}/alerts/rules/{id}`: replace the rule with what the form says. When it
/// last fired for each issue is kept, so saving it does not make it fire again at once.
pub async fn update(
    viewer: Viewer,
    path: web::Path<(String, i64)>,
    form: Form<Vec<(String, String)>>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(field(&form, "csrf"))?;
    let (slug, id) = path.into_inner();
    let (project, channels, rule) = rule_of(&state, &slug, id).await?;
    match spec_of(&form, &channels) {
        Ok(spec) => {
            store::update_rule(&state.admin, project.id, id, &spec).await?;
            Ok(see_other(&format!("/projects/{slug}/alerts/#rules")))
        }
        Err(problem) => {
            let form =
                RuleForm::editing(&format!("/projects/{slug}/alerts/"), id, &rule.spec, &channels).with_typed(&form);
            edit_page(&viewer, project, form, Some(problem))
        }
    }
}

/// `POST /projects/{slug}/alerts/rules/{id}/test`: a test notification on the rule's channels.
pub async fn test(
    viewer: Viewer,
    path: web::Path<(String, i64)>,
    form: Form<Vec<(String, String)>>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(field(&form, "csrf"))?;
    let (slug, id) = path.into_inner();
    let (project, _, rule) = rule_of(&state, &slug, id).await?;
    let n = store::enqueue_test(&state.admin, project.id, Some(rule.id), unix_now()).await?;
    let notice = format!(
        "A test notification of rule “{}” is on its way to {n} channel(s).",
        rule.spec.name
    );
    render(&viewer, &state, project, Some(notice), None).await
}

/// `POST /projects/{slug}/alerts/rules/{id}/delete`
pub async fn remove(
    viewer: Viewer,
    path: web::Path<(String, i64)>,
    form: Form<Vec<(String, String)>>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(field(&form, "csrf"))?;
    let (slug, id) = path.into_inner();
    let project = project(&state, &slug).await?;
    if !store::delete_rule(&state.admin, project.id, id).await? {
        return Err(WebError::NotFound(format!("Project {slug:?} has no rule {id}.")));
    }
    Ok(see_other(&format!("/projects/{slug}/alerts/#rules")))
}
