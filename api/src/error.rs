//! One error type for the HTTP layer, shown two ways: as Chevereto JSON on
//! the Chevereto routes ([`Chevereto`]) and as RFC 9457 problem+json
//! everywhere else (the plain `IntoResponse` of [`ApiError`]).
//!
//! 5xx errors are logged here with their internal detail and answered with
//! a generic message; the detail never reaches the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use mediaq_shared::queue::QueueError;
use mediaq_shared::repo::RepoError;
use mediaq_shared::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Empty upload source")]
    EmptySource,
    #[error("Invalid base64 string")]
    InvalidBase64,
    #[error("{0}")]
    InvalidImage(String),
    #[error("Invalid API key")]
    InvalidKey,
    #[error("Missing API key: send it as 'Authorization: Bearer KEY', 'X-API-Key: KEY' or the 'key' parameter")]
    MissingKey,
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{} quota exceeded: {current} of {limit} {} used, {remaining} remaining", if *files { "file" } else { "storage" }, if *files { "files" } else { "bytes" })]
    QuotaExceeded { files: bool, current: u64, limit: u64, remaining: u64 },
    #[error("too many requests: try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("URL upload refused: {0}")]
    UrlRefused(String),
    #[error("not found")]
    NotFound,
    /// Existed, and is over for good (a revoked or expired upload link).
    #[error("{0}")]
    Gone(String),
    #[error("upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("unsupported file type{}: only JPEG, PNG, GIF, WebP, BMP images and MP4, WebM, MOV videos are accepted", detected.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    UnsupportedType { detected: Option<String> },
    #[error("{what} is unavailable")]
    Unavailable { what: String },
    #[error("the request body stalled: no byte arrived for {secs} s; nothing was stored")]
    BodyTimeout { secs: u64 },
    #[error("the server is holding too many request bodies in memory; retry in {retry_after} s")]
    Busy { retry_after: u64 },
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::EmptySource | Self::InvalidBase64 | Self::InvalidImage(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::InvalidKey | Self::MissingKey | Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden(_) | Self::UrlRefused(_) | Self::QuotaExceeded { .. } => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Gone(_) => StatusCode::GONE,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable { .. } | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Chevereto's internal error code, where it has one.
    pub fn chevereto_code(&self) -> u16 {
        match self {
            Self::InvalidKey | Self::MissingKey => 100,
            Self::InvalidBase64 => 120,
            Self::EmptySource => 130,
            Self::UrlRefused(_) => 403,
            Self::TooLarge { .. } | Self::InvalidImage(_) => 400,
            Self::UnsupportedType { .. } => 612,
            other => other.status().as_u16(),
        }
    }

    /// The message a client may see (generic for 5xx).
    pub fn public_message(&self) -> String {
        self.to_string()
    }

    /// `Retry-After` on a 429 or a 503 for lack of memory.
    fn add_headers(&self, res: &mut Response) {
        if let Self::RateLimited { retry_after } | Self::Busy { retry_after } = self {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
    }

    fn log(&self) {
        match self {
            Self::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            Self::Unavailable { what } => tracing::warn!(%what, "dependency unavailable"),
            _ => {}
        }
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound => Self::NotFound,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => Self::NotFound,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        tracing::error!(error = %e, "enqueue failed");
        Self::Unavailable { what: "the job queue".into() }
    }
}

/// problem+json (RFC 9457), for native routes.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let mut body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.public_message(),
        });
        // RFC 9457 extension members.
        if let Self::QuotaExceeded { current, limit, remaining, .. } = self {
            body["current"] = json!(current);
            body["limit"] = json!(limit);
            body["remaining"] = json!(remaining);
        }
        let mut res = (status, axum::Json(body)).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        self.add_headers(&mut res);
        res
    }
}

/// How a Chevereto route answers errors: JSON by default, plain text when
/// the client asked for `format=txt`.
#[derive(Debug)]
pub struct Chevereto {
    pub error: ApiError,
    pub text: bool,
}

impl From<ApiError> for Chevereto {
    fn from(error: ApiError) -> Self {
        Self { error, text: false }
    }
}

impl IntoResponse for Chevereto {
    fn into_response(self) -> Response {
        self.error.log();
        let status = self.error.status();
        if self.text {
            return (status, self.error.public_message()).into_response();
        }
        let mut body = json!({
            "status_code": status.as_u16(),
            "error": { "message": self.error.public_message(), "code": self.error.chevereto_code() },
            "status_txt": status.canonical_reason().unwrap_or("Error"),
        });
        if let ApiError::QuotaExceeded { current, limit, remaining, .. } = self.error {
            body["error"]["context"] = json!("quota");
            body["error"]["current"] = json!(current);
            body["error"]["limit"] = json!(limit);
            body["error"]["remaining"] = json!(remaining);
        }
        let mut res = (status, axum::Json(body)).into_response();
        self.error.add_headers(&mut res);
        res
    }
}
