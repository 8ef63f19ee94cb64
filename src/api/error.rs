//! Errors of the JSON API, mapped once to a status and `{"detail": …}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::store::StoreError;
use crate::store::writer::{SubmitError, WriteError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication credentials were not provided or are invalid: send Authorization: Bearer <token>")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with what is stored (a release that events name, deleted).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// A request body refused as ingest refuses one (too large, badly encoded, too slow, or no
    /// memory for it now), with ingest's status.
    #[error("{detail}")]
    Body { status: StatusCode, detail: String },
}

impl From<crate::ingest::IngestError> for ApiError {
    fn from(e: crate::ingest::IngestError) -> Self {
        ApiError::Body {
            status: e.status_code(),
            detail: e.to_string(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(detail) => ApiError::Conflict(detail),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Submit(SubmitError::Full) => {
                ApiError::Unavailable("the write queue is full; retry shortly".into())
            }
            WriteError::Submit(SubmitError::Closed) => ApiError::Unavailable("the server is shutting down".into()),
            WriteError::Store(err) => ApiError::Internal(err.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Body { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "API request failed");
        }
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            resp.insert_header(("Retry-After", "1"));
        }
        resp.json(serde_json::json!({ "detail": self.to_string() }))
    }
}
