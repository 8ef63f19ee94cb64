//! Muting from an alert (issue 17): an email's "ignore for 1 h / 24 h" links lead here. A GET
//! changes nothing (mail scanners and link previews follow links); it needs sign-in and shows
//! the one button that posts the ignore, with the session's CSRF token, to the issue's usual
//! status form.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::page;
use super::issue_head::issue;
use super::{Chrome, Viewer, WebError, WebState};

/// The longest mute a link may offer: a week.
const MAX_MINUTES: i64 = 7 * 24 * 60;

#[derive(Template)]
#[template(path = "mute.html")]
struct MutePage {
    chrome: Chrome,
    issue_id: i64,
    short_id: String,
    title: String,
    project: String,
    minutes: i64,
    duration: String,
}

#[derive(Deserialize)]
pub struct MuteQuery {
    minutes: Option<String>,
}

fn duration(minutes: i64) -> String {
    match minutes {
        60 => "1 hour".into(),
        m if m % 60 == 0 => format!("{} hours", m / 60),
        m => format!("{m} minutes"),
    }
}

/// `GET /issues/{id}/mute?minutes=60`
pub async fn confirm(
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<MuteQuery>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    let issue = issue(&state, &path).await?;
    let raw = query.minutes.as_deref().unwrap_or("60");
    let minutes: i64 = raw
        .parse()
        .ok()
        .filter(|m| (1..=MAX_MINUTES).contains(m))
        .ok_or_else(|| WebError::BadRequest(format!("{raw:?} is not a number of minutes from 1 to {MAX_MINUTES}.")))?;
    page(&MutePage {
        chrome: Chrome::for_viewer("Ignore an issue", &viewer),
        issue_id: issue.id,
        short_id: format!("{}-{}", issue.project_slug.to_ascii_uppercase(), issue.short_number),
        title: issue.title,
        project: issue.project_name,
        minutes,
        duration: duration(minutes),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(super::duration(60), "1 hour");
        assert_eq!(super::duration(1440), "24 hours");
        assert_eq!(super::duration(120), "2 hours");
        assert_eq!(super::duration(45), "45 minutes");
    }
}
