//! API keys: generated with 238 random bits, shown once, stored as a hash.
//!
//! Keys are high-entropy random strings, so a plain SHA-256 is enough to
//! store them safely (a slow password hash protects low-entropy secrets;
//! it would only slow every request here) and allows lookup by hash.

use sha2::{Digest, Sha256};

use crate::domain::{Role, random_token};
use crate::repo::{DynRepo, RepoError};

/// Every key starts with this, so leaked keys are easy to recognise.
pub const KEY_PREFIX: &str = "mq_";
const RANDOM_LEN: usize = 40;
/// Characters of a key kept in clear to tell keys apart in lists.
const SHOWN_LEN: usize = KEY_PREFIX.len() + 6;

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

/// Creates the user when missing and a new key for them; returns the raw
/// key, which exists nowhere else afterwards.
pub async fn create_key(repo: &DynRepo, username: &str, admin: bool, label: Option<&str>) -> Result<String, RepoError> {
    let role = if admin { Role::Admin } else { Role::User };
    let user = repo.ensure_user(username, role).await?;
    let raw = format!("{KEY_PREFIX}{}", random_token(RANDOM_LEN));
    repo.insert_api_key(user.id, label, &raw[..SHOWN_LEN], &hash_key(&raw)).await?;
    Ok(raw)
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
    }
}
