//! `Idempotency-Key` on ingest routes: a retried request with the same key
//! from the same caller gets the first request's media instead of a second
//! one. Keys are claimed with a unique insert, so of two concurrent
//! requests exactly one records a media; the other answers with it.

use axum::http::HeaderMap;

use mediaq_shared::domain::{MediaId, User, UserId};
use mediaq_shared::repo::RepoError;

use crate::error::ApiError;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";

/// The outcome of claiming a key for a new media.
pub enum Claim {
    Won,
    /// An earlier request owns the key; this is its media.
    Lost(MediaId),
}

/// The request's key: 1 to 255 visible ASCII characters.
pub fn key_from(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(HEADER) else { return Ok(None) };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(|k| Some(k.to_owned()))
        .ok_or_else(|| ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into()))
}

pub async fn claim(state: &AppState, owner: &User, key: &str, media: &MediaId) -> Result<Claim, ApiError> {
    match state.repo.claim_idempotency_key(owner.id, key, media).await {
        Ok(()) => Ok(Claim::Won),
        Err(RepoError::Conflict(_)) => match state.repo.idempotent_result(owner.id, key).await? {
            Some((first, _)) => Ok(Claim::Lost(first)),
            None => Err(ApiError::Internal("idempotency key vanished while claimed".into())),
        },
        Err(e) => Err(e.into()),
    }
}

/// Frees a key whose request failed, so a retry can succeed.
pub async fn release_key(state: &AppState, owner: UserId, key: &str) {
    if let Err(e) = state.repo.release_idempotency_key(owner, key).await {
        tracing::warn!(error = %e, "could not release an idempotency key");
    }
}
