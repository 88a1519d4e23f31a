//! Who is calling: an API key or a login session token, from
//! `Authorization: Bearer`, `X-API-Key` or the `key` parameter (query
//! string here; form fields are read by the Chevereto upload handler
//! itself, as they arrive). Both kinds of credential are accepted by every
//! route the same way.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use mediaq_shared::domain::{Role, User, UserStatus};
use mediaq_shared::keys::{hash_key, looks_like_key, looks_like_session};
use mediaq_shared::repo::{RepoError, now};

use crate::error::ApiError;
use crate::state::AppState;

/// What the caller authenticated with (recorded, never the secret itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The id of an API key.
    Key(i64),
    /// The id of a login session.
    Session(i64),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub credential: Credential,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// Refuses callers who are not administrators.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() { Ok(()) } else { Err(ApiError::Forbidden("this route is for administrators only".into())) }
    }
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

/// Checks a raw key or session token and loads its owner.
#[tracing::instrument(skip_all)]
pub async fn authenticate(state: &AppState, raw: &str) -> Result<Caller, ApiError> {
    let found = if looks_like_key(raw) {
        state.repo.user_by_key_hash(&hash_key(raw)).await.map(|(user, key)| (user, Credential::Key(key.id)))
    } else if looks_like_session(raw) {
        state.repo.user_by_session_hash(&hash_key(raw), now()).await.map(|(user, id)| (user, Credential::Session(id)))
    } else {
        return Err(ApiError::InvalidKey);
    };
    let (user, credential) = match found {
        Ok(found) => found,
        Err(RepoError::NotFound) => return Err(ApiError::InvalidKey),
        Err(e) => return Err(e.into()),
    };
    check_status(user.status)?;
    Ok(Caller { user, credential })
}

/// Only active accounts may do anything.
pub fn check_status(status: UserStatus) -> Result<(), ApiError> {
    match status {
        UserStatus::Active => Ok(()),
        UserStatus::Pending => {
            Err(ApiError::Forbidden("this account is waiting for an administrator's approval".into()))
        }
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
