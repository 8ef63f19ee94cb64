//! Sign-in, sign-out, and the one-time setup link that creates the first admin.

use super::form::Form;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::{page, see_other};
use super::session::{self, FORM_COOKIE, Viewer, constant_time_eq, safe_next};
use super::{Chrome, WebError, WebState, password};
use crate::project::random_hex;
use crate::store;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    form_token: String,
    next: String,
    email: String,
    error: Option<String>,
    no_users: bool,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    chrome: Chrome,
    form_token: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    form_token: String,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupForm {
    email: String,
    password: String,
    password_again: String,
    form_token: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// `GET /login`
pub async fn login_form(query: web::Query<NextQuery>, state: web::Data<WebState>) -> Result<HttpResponse, WebError> {
    let no_users = store::count_users(&state.pool).await? == 0;
    let token = random_hex(16);
    let login = LoginPage {
        chrome: Chrome::anonymous("Sign in"),
        form_token: token.clone(),
        next: safe_next(query.next.as_deref()),
        email: String::new(),
        error: None,
        no_users,
    };
    with_form_cookie(page(&login)?, token, &state)
}

/// `POST /login`
pub async fn login(
    req: HttpRequest,
    form: Form<LoginForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    check_form_cookie(&req, &form.form_token)?;
    let form = form.0;
    let address = client_address(&req, state.trust_forwarded_for);
    if let Err(wait) = state.login_throttle.check_attempt(&address, &form.email).await {
        let minutes = wait.div_ceil(60);
        tracing::warn!(%address, "sign-in refused: too many failed attempts");
        let error = format!(
            "Too many failed sign-ins from here or for this account. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        );
        let mut resp = login_again(form, error, StatusCode::TOO_MANY_REQUESTS, &state)?;
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(wait),
        );
        return Ok(resp);
    }
    let user = store::user_by_email(&state.pool, form.email.trim()).await?;
    let verified = match &user {
        Some(user) => {
            let (pw, phc) = (form.password.clone(), user.password_hash.clone());
            web::block(move || password::verify(&pw, &phc))
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?
        }
        None => false,
    };
    let Some(user) = user.filter(|_| verified) else {
        state.login_throttle.attempt_failed(&address, &form.email).await;
        return login_again(
            form,
            "Wrong email or password.".into(),
            StatusCode::UNAUTHORIZED,
            &state,
        );
    };
    state.login_throttle.attempt_succeeded(&form.email).await;
    start_session(user.id, &safe_next(form.next.as_deref()), &state).await
}

/// The sign-in form again, with the email kept, a fresh form token and why it failed.
fn login_again(form: LoginForm, error: String, status: StatusCode, state: &WebState) -> Result<HttpResponse, WebError> {
    let token = random_hex(16);
    let again = LoginPage {
        chrome: Chrome::anonymous("Sign in"),
        form_token: token.clone(),
        next: safe_next(form.next.as_deref()),
        email: form.email,
        error: Some(error),
        no_users: false,
    };
    let mut resp = with_form_cookie(page(&again)?, token, state)?;
    *resp.status_mut() = status;
    Ok(resp)
}

fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    crate::http::client_ip(req, trust_forwarded_for).map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

/// `POST /logout`
pub async fn logout(
    req: HttpRequest,
    viewer: Viewer,
    form: Form<CsrfForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    if let Some(cookie) = req.cookie(session::SESSION_COOKIE) {
        store::delete_session(&state.admin, &session::hash(cookie.value())).await?;
    }
    let mut resp = see_other("/login");
    let _ = resp.add_cookie(&session::expired(session::SESSION_COOKIE, state.secure_cookies));
    Ok(resp)
}

/// `GET /setup/{token}`: the first-admin form, while no user exists.
pub async fn setup_form(path: web::Path<String>, state: web::Data<WebState>) -> Result<HttpResponse, WebError> {
    require_setup_token(&path, &state).await?;
    let token = random_hex(16);
    let setup = SetupPage {
        chrome: Chrome::anonymous("Set up Tocsin"),
        form_token: token.clone(),
        email: String::new(),
        error: None,
    };
    with_form_cookie(page(&setup)?, token, &state)
}

/// `POST /setup/{token}`: creates the first admin, burns the link, signs in.
pub async fn setup(
    req: HttpRequest,
    path: web::Path<String>,
    form: Form<SetupForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    check_form_cookie(&req, &form.form_token)?;
    require_setup_token(&path, &state).await?;
    let form = form.0;
    let email = form.email.trim().to_string();
    let problem = if !email.contains('@') {
        Some("Enter an email address.".to_string())
    } else if form.password != form.password_again {
        Some("The two passwords differ.".to_string())
    } else {
        None
    };
    let hashed = match problem {
        Some(p) => Err(p),
        None => {
            let pw = form.password.clone();
            web::block(move || password::hash(&pw))
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?
        }
    };
    let phc = match hashed {
        Ok(phc) => phc,
        Err(problem) => {
            let token = random_hex(16);
            let retry = SetupPage {
                chrome: Chrome::anonymous("Set up Tocsin"),
                form_token: token.clone(),
                email,
                error: Some(problem),
            };
            let mut resp = with_form_cookie(page(&retry)?, token, &state)?;
            *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
            return Ok(resp);
        }
    };
    let user_id = store::complete_setup(&state.admin, &session::hash(&path), &email, &phc)
        .await?
        .ok_or_else(|| WebError::NotFound("This setup link is no longer valid.".into()))?;
    start_session(user_id, "/", &state).await
}

async fn require_setup_token(token: &str, state: &WebState) -> Result<(), WebError> {
    let valid = store::count_users(&state.pool).await? == 0
        && store::setup_token_is_valid(&state.pool, &session::hash(token)).await?;
    if valid {
        Ok(())
    } else {
        Err(WebError::NotFound(
            "This setup link is no longer valid: an account exists already, or the server printed a newer link.".into(),
        ))
    }
}

async fn start_session(user_id: i64, next: &str, state: &WebState) -> Result<HttpResponse, WebError> {
    let token = random_hex(32);
    let days = session::SESSION_DAYS as f64;
    store::create_session(
        &state.admin,
        &session::hash(&token),
        user_id,
        &random_hex(16),
        days * 86400.0,
    )
    .await?;
    let mut resp = see_other(next);
    let _ = resp.add_cookie(&session::session_cookie(token, state.secure_cookies));
    let _ = resp.add_cookie(&session::expired(FORM_COOKIE, state.secure_cookies));
    Ok(resp)
}

fn with_form_cookie(mut resp: HttpResponse, token: String, state: &WebState) -> Result<HttpResponse, WebError> {
    resp.add_cookie(&session::form_cookie(token, state.secure_cookies))
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(resp)
}

fn check_form_cookie(req: &HttpRequest, form_token: &str) -> Result<(), WebError> {
    let cookie = req.cookie(FORM_COOKIE);
    match cookie {
        Some(c) if !form_token.is_empty() && constant_time_eq(c.value().as_bytes(), form_token.as_bytes()) => Ok(()),
        _ => Err(WebError::Forbidden(
            "the form's security token is missing or stale; reload the page and try again".into(),
        )),
    }
}
