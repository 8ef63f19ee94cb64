//! Who is signed in: the `tocsin_session` cookie (HttpOnly, SameSite=Lax, Secure over https)
//! names a session row by the SHA-256 of its value; the row holds the CSRF token every form of
//! that session must echo.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use sha2::{Digest, Sha256};

use super::{WebError, WebState};
use crate::store;

pub const SESSION_COOKIE: &str = "tocsin_session";
/// Pre-session CSRF (login and setup forms): the same random value in a cookie and the form.
pub const FORM_COOKIE: &str = "tocsin_form";
pub const SESSION_DAYS: i64 = 30;

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The signed-in person, for any page that requires one.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: i64,
    pub email: String,
    pub is_admin: bool,
    pub csrf: String,
}

impl Viewer {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if constant_time_eq(self.csrf.as_bytes(), token.as_bytes()) {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "the form's security token is missing or stale; reload the page and try again".into(),
            ))
        }
    }

    /// Refuses a non-admin: `what` says what only admins may do ("delete projects").
    pub fn require_admin(&self, what: &str) -> Result<(), WebError> {
        if self.is_admin {
            Ok(())
        } else {
            Err(WebError::Forbidden(format!("only admins {what}")))
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequest for Viewer {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Viewer, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let next = match req.query_string() {
                "" => req.path().to_string(),
                q => format!("{}?{q}", req.path()),
            };
            let login = || WebError::LoginRequired { next: next.clone() };
            let state = req
                .app_data::<web::Data<WebState>>()
                .ok_or_else(|| WebError::Internal("web state missing".into()))?;
            let cookie = req.cookie(SESSION_COOKIE).ok_or_else(login)?;
            let session = store::session(&state.pool, &hash(cookie.value()))
                .await?
                .ok_or_else(login)?;
            Ok(Viewer {
                user_id: session.user_id,
                email: session.email,
                is_admin: session.is_admin,
                csrf: session.csrf_token,
            })
        })
    }
}

/// The session cookie for a new session.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(CookieDuration::days(SESSION_DAYS))
        .finish()
}

/// A cookie that removes `name`.
pub fn expired(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut c = Cookie::build(name, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish();
    c.make_removal();
    c
}

/// The pre-session form token cookie.
pub fn form_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(FORM_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

/// Only local paths are followed after sign-in, so a link cannot bounce the user elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}
