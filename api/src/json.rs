//! A JSON body extractor whose rejections are problem+json like every
//! other native error, with a message that says what was wrong.

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest JSON body accepted outside uploads.
const MAX_JSON_BYTES: usize = 64 * 1024;

pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        parse(req, MAX_JSON_BYTES).await.map(Body)
    }
}

/// Reads and parses a JSON body of at most `limit` bytes.
pub async fn parse<T: DeserializeOwned>(req: Request, limit: usize) -> Result<T, ApiError> {
    let is_json = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
    if !is_json {
        return Err(ApiError::BadRequest("expected a JSON body with 'Content-Type: application/json'".into()));
    }
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| ApiError::BadRequest(format!("the JSON body is larger than {limit} bytes")))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}
