//! Opening a public link by its token, for every route that serves
//! through one (view, downloads, zip, thumbnails): the token's shape, the
//! link usable ([`policy::link_usable`]), its password checked (each
//! attempt counted against the rate limits before any hashing) and one
//! view spent. Upload links check their passwords the same way
//! ([`check_password`]).

use axum::http::HeaderMap;

use mediaq_shared::keys::hash_key;
use mediaq_shared::repo::{PublicLink, RepoError, now};

use crate::error::ApiError;
use crate::passwords;
use crate::policy;
use crate::ratelimit::Attempts;
use crate::state::AppState;

/// Characters of a link token: 32 base62, ~190 bits.
pub const TOKEN_LEN: usize = 32;

/// Whether `token` can be one of ours at all (checked before any lookup).
pub fn token_shape_ok(token: &str) -> bool {
    token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The password sent with a request: `X-Link-Password`, else `?password=`.
pub fn sent_password(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    headers.get("x-link-password").and_then(|v| v.to_str().ok()).map(str::to_owned).or_else(|| query.map(str::to_owned))
}

/// Checks `sent` against a link's stored password hash: missing → 401,
/// wrong → 403; every attempt is counted per IP and per link first.
pub async fn check_password(
    attempts: &Attempts,
    link_id: &str,
    stored: &str,
    sent: Option<String>,
) -> Result<(), ApiError> {
    let Some(sent) = sent else {
        return Err(ApiError::Unauthorized(
            "this link is password-protected: send the password as 'X-Link-Password' or '?password='".into(),
        ));
    };
    attempts.limits.link_password(&attempts.ip, link_id)?;
    if !passwords::verify(sent, Some(stored.to_owned())).await? {
        return Err(ApiError::Forbidden("wrong password for this link".into()));
    }
    Ok(())
}

/// A usable public link for `token`, its password checked and one view
/// spent; a wrong, expired, used-up or revoked token is a 404.
pub async fn open(
    state: &AppState,
    attempts: &Attempts,
    token: &str,
    headers: &HeaderMap,
    password: Option<&str>,
) -> Result<PublicLink, ApiError> {
    if !token_shape_ok(token) {
        return Err(ApiError::NotFound);
    }
    let link = match state.repo.link_by_token(&hash_key(token)).await {
        Ok(link) => link,
        Err(RepoError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if !policy::link_usable(state, &link).await? {
        return Err(ApiError::NotFound);
    }
    if let Some(stored) = &link.password_hash {
        check_password(attempts, &link.id, stored, sent_password(headers, password)).await?;
    }
    if !state.repo.spend_link_view(&link.id, now()).await? {
        return Err(ApiError::NotFound);
    }
    Ok(link)
}
