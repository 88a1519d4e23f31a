//! A JSON body extractor whose rejections are problem+json like every
//! other native error, with a message that says what was wrong.

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::body::{Lease, read_whole};
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
    parse_held(req, limit).await.map(|(value, _)| value)
}

/// [`parse`], also returning the memory lease of the body (see
/// [`crate::body`]): keep it while the parsed value is held.
pub async fn parse_held<T: DeserializeOwned>(req: Request, limit: usize) -> Result<(T, Lease), ApiError> {
    let is_json = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
    if !is_json {
        return Err(ApiError::BadRequest("expected a JSON body with 'Content-Type: application/json'".into()));
    }
    let mut lease = Lease::for_request(&req);
    let bytes = read_whole(req.into_body(), limit, &mut lease, || {
        ApiError::BadRequest(format!("the JSON body is larger than {limit} bytes"))
    })
    .await?;
    let value = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    Ok((value, lease))
}
