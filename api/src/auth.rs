//! Who is calling: API keys from `Authorization: Bearer`, `X-API-Key` or
//! the `key` parameter (query string here; form fields are read by the
//! Chevereto upload handler itself, as they arrive).

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use mediaq_shared::domain::{User, UserStatus};
use mediaq_shared::keys::{hash_key, looks_like_key};
use mediaq_shared::repo::RepoError;

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub key_id: i64,
}

/// The key from the headers, if any.
pub fn key_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_owned());
    }
    let auth = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// The `key` query parameter, if any.
pub fn key_from_query(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == "key").map(|(_, v)| v.into_owned())
}

/// Checks a raw key and loads its owner.
#[tracing::instrument(skip_all)]
pub async fn authenticate(state: &AppState, raw: &str) -> Result<Caller, ApiError> {
    if !looks_like_key(raw) {
        return Err(ApiError::InvalidKey);
    }
    let (user, key) = match state.repo.user_by_key_hash(&hash_key(raw)).await {
        Ok(found) => found,
        Err(RepoError::NotFound) => return Err(ApiError::InvalidKey),
        Err(e) => return Err(e.into()),
    };
    match user.status {
        UserStatus::Active => Ok(Caller { user, key_id: key.id }),
        UserStatus::Pending => Err(ApiError::Forbidden("this account is waiting for an administrator's approval".into())),
        UserStatus::Suspended => Err(ApiError::Forbidden("this account is suspended".into())),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let raw = key_from_headers(&parts.headers)
            .or_else(|| key_from_query(parts.uri.query()))
            .ok_or(ApiError::MissingKey)?;
        authenticate(state, &raw).await
    }
}
