//! A project's alert settings: channels, their own triggers, alert rules (listed and added in
//! `alert_rules`), and a test notification button.

use super::form::Form;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{page, see_other};
use super::rule_form::RuleForm;
use super::{Chrome, Viewer, WebError, WebState};
use crate::event::unix_now;
use crate::notify::channels;
use crate::project::Project;
use crate::store::{self, Channel, Triggers};

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    chrome: Chrome,
    project: Project,
    channels: Vec<Channel>,
    rules: Vec<super::alert_rules::RuleRow>,
    /// The form that adds a rule: blank, or what was typed when it was refused.
    form: RuleForm,
    /// The latest notifications: (when, rule, trigger, issue id, channel, outcome).
    history: Vec<(String, String, String, Option<i64>, String, String)>,
    notice: Option<String>,
    error: Option<String>,
}

/// Notifications the history lists.
const HISTORY: i64 = 50;

pub(super) async fn project(state: &WebState, slug: &str) -> Result<Project, WebError> {
    store::project_by_slug(&state.pool, slug)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("There is no project {slug:?}.")))
}

pub(super) async fn render(
    viewer: &Viewer,
    state: &WebState,
    project: Project,
    notice: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    render_with_form(viewer, state, project, notice, error, None).await
}

/// [`render`], with the rule form showing what was typed (`fields`) when a rule was refused.
pub(super) async fn render_with_form(
    viewer: &Viewer,
    state: &WebState,
    project: Project,
    notice: Option<String>,
    error: Option<String>,
    fields: Option<&[(String, String)]>,
) -> Result<HttpResponse, WebError> {
    let bad = error.is_some();
    let channels = store::list_channels(&state.pool, Some(project.id)).await?;
    let mut form = RuleForm::blank(&format!("/projects/{}/alerts/", project.slug), &channels);
    if let Some(fields) = fields {
        form = form.with_typed(fields);
    }
    let rules = super::alert_rules::rows(state, project.id, &channels).await?;
    let history = store::alert_history(&state.pool, project.id, HISTORY)
        .await?
        .into_iter()
        .map(|h| {
            let outcome = match h.last_error {
                Some(e) if h.state != "delivered" => format!("{}: {e}", h.state),
                _ => h.state,
            };
            (
                crate::event::format_rfc3339(h.created_at),
                h.rule.unwrap_or_else(|| "—".into()),
                h.trigger,
                h.issue_id,
                h.channel,
                outcome,
            )
        })
        .collect();
    let mut resp = page(&AlertsPage {
        chrome: Chrome::for_viewer(&format!("Alerts of {}", project.slug), viewer),
        channels,
        rules,
        form,
        history,
        project,
        notice,
        error,
    })?;
    if bad {
        *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

pub async fn show(
    viewer: Viewer,
    path: web::Path<String>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let project = project(&state, &path).await?;
    render(&viewer, &state, project, None, None).await
}

#[derive(Deserialize)]
pub struct AddForm {
    csrf: String,
    kind: String,
    target: String,
    secret: Option<String>,
    on_new: Option<String>,
    on_regression: Option<String>,
    on_unignored: Option<String>,
}

/// `POST /projects/{slug}/alerts`: add a channel.
pub async fn add(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<AddForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let project = project(&state, &path).await?;
    let triggers = Triggers {
        new: form.on_new.is_some(),
        regression: form.on_regression.is_some(),
        unignored: form.on_unignored.is_some(),
    };
    // The UI never shows a secret, so a webhook's signing key is typed in, not generated.
    if form.kind == "webhook" && form.secret.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return render(
            &viewer,
            &state,
            project,
            None,
            Some("Enter a signing secret for the webhook.".into()),
        )
        .await;
    }
    let spec = match channels::parse(&form.kind, &form.target, form.secret.clone()) {
        Ok(spec)
            if triggers
                != (Triggers {
                    new: false,
                    regression: false,
                    unignored: false,
                }) =>
        {
            spec
        }
        Ok(_) => {
            return render(
                &viewer,
                &state,
                project,
                None,
                Some("Tick at least one trigger.".into()),
            )
            .await;
        }
        Err(e) => return render(&viewer, &state, project, None, Some(e)).await,
    };
    store::add_channel(
        &state.admin,
        project.id,
        spec.kind,
        &spec.target,
        spec.secret.as_deref(),
        triggers,
        unix_now(),
    )
    .await?;
    Ok(see_other(&format!("/projects/{}/alerts/", project.slug)))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// `POST /projects/{slug}/alerts/{id}/delete`
pub async fn remove(
    viewer: Viewer,
    path: web::Path<(String, i64)>,
    form: Form<CsrfOnly>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let (slug, id) = path.into_inner();
    let project = project(&state, &slug).await?;
    if !store::delete_channel(&state.admin, project.id, id).await? {
        return Err(WebError::NotFound(format!("Project {slug:?} has no channel {id}.")));
    }
    Ok(see_other(&format!("/projects/{slug}/alerts/")))
}

/// `POST /projects/{slug}/alerts/test`: a test notification on every channel.
pub async fn test(
    viewer: Viewer,
    path: web::Path<String>,
    form: Form<CsrfOnly>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    let project = project(&state, &path).await?;
    let n = store::enqueue_test(&state.admin, project.id, None, unix_now()).await?;
    render(
        &viewer,
        &state,
        project,
        Some(format!("A test notification is on its way to {n} channel(s).")),
        None,
    )
    .await
}
