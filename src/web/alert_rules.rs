//! The alert rules on a project's Alerts page (issue 17): what each says, when it last fired, a
//! form to add one and a button to remove one. The API (`api::rules`) takes the same rules.

use actix_web::{HttpResponse, web};

use super::alerts::{project, render};
use super::error::see_other;
use super::form::Form;
use super::{Viewer, WebError, WebState};
use crate::event::{Level, unix_now};
use crate::notify::rules::{RuleSpec, TagFilter, Threshold};
use crate::store::{self, AlertRule, Channel, Triggers};

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

/// `customer=acme, canary!=yes`: tag filters as typed.
fn tag_filters(text: &str) -> Result<Vec<TagFilter>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let (key, value, equals) = match t.split_once("!=") {
                Some((k, v)) => (k, v, false),
                None => match t.split_once('=') {
                    Some((k, v)) => (k, v, true),
                    None => return Err(format!("tag filter {t:?}: write key=value or key!=value")),
                },
            };
            Ok(TagFilter {
                key: key.trim().to_string(),
                equals,
                value: value.trim().to_string(),
            })
        })
        .collect()
}

/// A form field's value (the first of that name), empty when absent.
fn field<'f>(fields: &'f [(String, String)], name: &str) -> &'f str {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// The rule the form describes; repeated `channel` fields are its channels.
fn spec_of(fields: &[(String, String)], channels: &[Channel]) -> Result<RuleSpec, String> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let level = match get("min_level").unwrap_or("").trim() {
        "" => None,
        l => Some(Level::parse(&serde_json::Value::String(l.to_string())).ok_or(format!("{l:?} is not a level"))?),
    };
    let interval = get("interval").unwrap_or("30").trim();
    // "More than [count] in [minutes] minutes", both blank when unused.
    let threshold = |count: &str, minutes: &str| -> Result<Option<Threshold>, String> {
        let (c, m) = (get(count).unwrap_or("").trim(), get(minutes).unwrap_or("").trim());
        if c.is_empty() && m.is_empty() {
            return Ok(None);
        }
        match (c.parse(), m.parse()) {
            (Ok(count), Ok(minutes)) => Ok(Some(Threshold { count, minutes })),
            _ => Err(format!(
                "a frequency condition needs two whole numbers, got {c:?} and {m:?}"
            )),
        }
    };
    let spec = RuleSpec {
        name: get("name").unwrap_or("").trim().to_string(),
        triggers: Triggers {
            new: get("when_new").is_some(),
            regression: get("when_regression").is_some(),
            unignored: get("when_unignored").is_some(),
        },
        frequency: threshold("frequency_count", "frequency_minutes")?,
        users: threshold("users_count", "users_minutes")?,
        environments: get("environments")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect(),
        min_level: level,
        tags: tag_filters(get("tags").unwrap_or(""))?,
        release: Some(get("release").unwrap_or("").trim().to_string()).filter(|r| !r.is_empty()),
        assigned: match get("assigned").unwrap_or("") {
            "assigned" => Some(true),
            "unassigned" => Some(false),
            _ => None,
        },
        interval_minutes: interval
            .parse()
            .map_err(|_| format!("the interval {interval:?} is not a whole number of minutes"))?,
        channels: fields
            .iter()
            .filter(|(n, _)| n == "channel")
            .filter_map(|(_, v)| v.parse::<i64>().ok())
            .filter(|id| channels.iter().any(|c| c.id == *id))
            .collect(),
    };
    spec.validate()?;
    Ok(spec)
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
        Err(problem) => render(&viewer, &state, project, None, Some(problem)).await,
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
    let project = project(&state, &slug).await?;
    let rule = store::rule_by_id(&state.pool, project.id, id)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("Project {slug:?} has no rule {id}.")))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_filters_are_typed_as_equals_or_not_equals_pairs() {
        let got = tag_filters(" customer=acme, canary != yes ,").unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].equals && got[0].key == "customer" && got[0].value == "acme");
        assert!(!got[1].equals && got[1].key == "canary" && got[1].value == "yes");
        assert!(tag_filters("customer").is_err());
    }
}
