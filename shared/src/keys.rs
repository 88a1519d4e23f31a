//! API keys and login session tokens: generated with 238 / 256 random
//! bits, shown once, stored as a hash.
//!
//! Keys are high-entropy random strings, so a plain SHA-256 is enough to
//! store them safely (a slow password hash protects low-entropy secrets;
//! it would only slow every request here) and allows lookup by hash.

use sha2::{Digest, Sha256};

use crate::domain::{ApiKey, Role, UserId, random_token};
use crate::repo::{DynRepo, RepoError};

/// Every key starts with this, so leaked keys are easy to recognise.
pub const KEY_PREFIX: &str = "mq_";
const RANDOM_LEN: usize = 40;
/// Characters of a key kept in clear to tell keys apart in lists.
const SHOWN_LEN: usize = KEY_PREFIX.len() + 6;

/// Every session token starts with this (and never looks like a key).
pub const SESSION_PREFIX: &str = "mqs_";
const SESSION_RANDOM_LEN: usize = 43;

/// SHA-256 of a raw key, hex-encoded: what the database holds.
pub fn hash_key(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// True when `raw` has the shape of one of our keys (cheap pre-check
/// before a database lookup).
pub fn looks_like_key(raw: &str) -> bool {
    raw.len() == KEY_PREFIX.len() + RANDOM_LEN
        && raw.starts_with(KEY_PREFIX)
        && raw[KEY_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// True when `raw` has the shape of a session token.
pub fn looks_like_session(raw: &str) -> bool {
    raw.len() == SESSION_PREFIX.len() + SESSION_RANDOM_LEN
        && raw.starts_with(SESSION_PREFIX)
        && raw[SESSION_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A new raw session token (stored only as [`hash_key`] of it).
pub fn new_session_token() -> String {
    format!("{SESSION_PREFIX}{}", random_token(SESSION_RANDOM_LEN))
}

/// Creates the user when missing and a new key for them; returns the raw
/// key, which exists nowhere else afterwards.
pub async fn create_key(repo: &DynRepo, username: &str, admin: bool, label: Option<&str>) -> Result<String, RepoError> {
    let role = if admin { Role::Admin } else { Role::User };
    let user = repo.ensure_user(username, role).await?;
    Ok(issue_key(repo, user.id, label).await?.0)
}

/// A new key for an existing user: the raw key (shown once) and its
/// stored facts. `mediaq key create` and `POST /api/v1/keys` both use it.
pub async fn issue_key(repo: &DynRepo, user: UserId, label: Option<&str>) -> Result<(String, ApiKey), RepoError> {
    let raw = format!("{KEY_PREFIX}{}", random_token(RANDOM_LEN));
    let key = repo.insert_api_key(user, label, &raw[..SHOWN_LEN], &hash_key(&raw)).await?;
    Ok((raw, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shape_is_checked() {
        let raw = format!("{KEY_PREFIX}{}", random_token(RANDOM_LEN));
        assert!(looks_like_key(&raw));
        assert!(!looks_like_key("mq_short"));
        assert!(!looks_like_key(&raw.replace("mq_", "xx_")));
        assert_eq!(hash_key(&raw).len(), 64);
        assert_ne!(hash_key(&raw), hash_key(&format!("{raw}x")));
        let session = new_session_token();
        assert!(looks_like_session(&session) && !looks_like_key(&session));
        assert!(!looks_like_session(&raw));
    }
}
