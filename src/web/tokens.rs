//! `/settings/tokens`: admins list, create and revoke API tokens. A new token is shown once.

use super::form::Form;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use actix_web::http::StatusCode;

use super::error::{page_with_status, see_other};
use super::{Chrome, Viewer, WebError, WebState};
use crate::store::{self, TokenScope};

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope: &'static str,
    pub created: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    /// The token just created: shown this once.
    created: Option<String>,
    error: Option<String>,
}

async fn render(
    viewer: &Viewer,
    state: &WebState,
    created: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let now = crate::event::unix_now();
    let tokens = store::list_tokens(&state.pool)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            scope: t.scope.as_str(),
            created: super::time::html(t.created_at, now),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page_with_status(
        &TokensPage {
            chrome: Chrome::for_viewer("API tokens", viewer),
            tokens,
            created,
            error,
        },
        status,
    )
}

pub async fn show(viewer: Viewer, state: web::Data<WebState>) -> Result<HttpResponse, WebError> {
    viewer.require_admin("manage API tokens")?;
    render(&viewer, &state, None, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: String,
    name: String,
    scope: String,
}

/// `POST /settings/tokens`: answers with the page showing the new token (once), not a
/// redirect, so the token never sits in a URL or the server's memory afterwards.
pub async fn create(
    viewer: Viewer,
    form: Form<CreateForm>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin("manage API tokens")?;
    let name = form.name.trim();
    if name.is_empty() || name.len() > 100 {
        return render(
            &viewer,
            &state,
            None,
            Some("Give the token a name (up to 100 characters).".into()),
        )
        .await;
    }
    let scope = match TokenScope::parse(&form.scope) {
        Ok(scope) => scope,
        Err(e) => return render(&viewer, &state, None, Some(e)).await,
    };
    let token = crate::project::random_hex(32);
    store::create_token(&state.admin, name, &crate::api::auth::token_hash(&token), scope).await?;
    render(&viewer, &state, Some(token), None).await
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn revoke(
    viewer: Viewer,
    path: web::Path<i64>,
    form: Form<CsrfOnly>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, WebError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin("manage API tokens")?;
    if !store::revoke_token(&state.admin, *path).await? {
        return Err(WebError::NotFound(format!("There is no token {}.", *path)));
    }
    Ok(see_other("/settings/tokens/"))
}
