//! `Form<T>`: a urlencoded form body read like every other body (capped, decoded as it arrives,
//! charged to the memory budget) instead of actix's extractor, which buffers before anything is
//! checked.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::WebError;
use crate::ingest::body::read_small;

/// Longest form body; the longest field anyone types is a comment.
pub const MAX_FORM: usize = 64 * 1024;

/// A form's fields, parsed into `T`.
pub struct Form<T>(pub T);

impl<T> std::ops::Deref for Form<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let body = read_small(&req, payload, MAX_FORM).await?;
            serde_urlencoded::from_bytes(&body)
                .map(Form)
                .map_err(|e| WebError::BadRequest(format!("the form is incomplete or malformed: {e}")))
        })
    }
}
