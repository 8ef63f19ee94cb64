//! Errors of the web UI: a redirect to sign in, or the 404/400/403/500 page in Tocsin's style.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("sign in to see this page")]
    LoginRequired { next: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Internal(String),
    /// A form body refused as ingest refuses a body (too large, badly encoded, too slow, or no
    /// memory for it now), with ingest's status.
    #[error("{detail}")]
    Body { status: StatusCode, detail: String },
}

impl From<crate::ingest::IngestError> for WebError {
    fn from(e: crate::ingest::IngestError) -> Self {
        WebError::Body {
            status: e.status_code(),
            detail: e.to_string(),
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("rendering failed: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    heading: &'a str,
    detail: &'a str,
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Body { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let WebError::LoginRequired { next } = self {
            let location = format!(
                "/login?next={}",
                serde_urlencoded::to_string([("", next)])
                    .unwrap_or_default()
                    .trim_start_matches('=')
            );
            return HttpResponse::SeeOther().insert_header(("Location", location)).finish();
        }
        let status = self.status_code();
        let heading = match self {
            WebError::NotFound(_) => "Not found",
            WebError::BadRequest(_) => "Bad request",
            WebError::Forbidden(_) => "Forbidden",
            WebError::Body { .. } => "Request refused",
            _ => "Something went wrong",
        };
        let detail = match self {
            WebError::Internal(cause) => {
                tracing::error!(%cause, "page failed");
                "Tocsin hit an internal error; the server log has the details.".to_string()
            }
            other => other.to_string(),
        };
        let page = ErrorPage {
            status: status.as_u16(),
            heading,
            detail: &detail,
        };
        let body = page.render().unwrap_or_else(|_| detail.clone());
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

/// Renders a template into a 200 page.
pub fn page(template: &impl Template) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(template.render()?))
}

/// A page answered with another status than 200 (a form sent back with what was wrong: 400).
pub fn page_with_status(template: &impl Template, status: StatusCode) -> Result<HttpResponse, WebError> {
    let mut resp = page(template)?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// A 303 redirect, the answer to every successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location.to_string()))
        .finish()
}
