//! The HTTP side of tus answers: its errors (problem+json with tus's own
//! statuses: 409, 410, 412 with `Tus-Version`, 415, 460; a quota refusal
//! as 413) and the headers it reads and writes.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use mediaq_shared::repo::RepoError;

use crate::error::ApiError;

pub const VERSION: &str = "1.0.0";

/// A tus answer that failed.
#[derive(Debug)]
pub enum TusError {
    Api(ApiError),
    Status(StatusCode, &'static str, String),
}

impl From<ApiError> for TusError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<RepoError> for TusError {
    fn from(e: RepoError) -> Self {
        Self::Api(e.into())
    }
}

pub fn status(code: u16, title: &'static str, detail: impl Into<String>) -> TusError {
    TusError::Status(StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST), title, detail.into())
}

impl IntoResponse for TusError {
    fn into_response(self) -> Response {
        match self {
            // tus clients know 413 for "too large for you".
            Self::Api(e @ ApiError::QuotaExceeded { .. }) => {
                let mut res = e.into_response();
                *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                res
            }
            Self::Api(e) => e.into_response(),
            Self::Status(code, title, detail) => {
                let body = serde_json::json!({"type": "about:blank", "title": title, "status": code.as_u16(), "detail": detail});
                let mut res = (code, axum::Json(body)).into_response();
                res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
                if code == StatusCode::PRECONDITION_FAILED {
                    res.headers_mut().insert("tus-version", HeaderValue::from_static(VERSION));
                }
                res
            }
        }
    }
}

pub fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn check_version(headers: &HeaderMap) -> Result<(), TusError> {
    match text(headers, "tus-resumable") {
        Some(VERSION) => Ok(()),
        _ => Err(status(412, "Precondition Failed", "send Tus-Resumable: 1.0.0 (the only version served)")),
    }
}

pub fn number(headers: &HeaderMap, name: &str) -> Result<Option<u64>, TusError> {
    match text(headers, name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| status(400, "Bad Request", format!("{name} must be a non-negative integer"))),
    }
}

/// HTTP-date, as `Upload-Expires` wants it.
pub fn http_date(at: DateTime<Utc>) -> HeaderValue {
    HeaderValue::from_str(&at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()).unwrap_or(HeaderValue::from_static(""))
}
