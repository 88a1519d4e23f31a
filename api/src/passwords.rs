//! Password hashing (argon2id, default parameters) and the rules a
//! username and a password must follow. Hashing is CPU-heavy, so it runs
//! on the blocking pool.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::ApiError;

const MIN_PASSWORD: usize = 8;
/// Longer inputs only cost hashing time.
const MAX_PASSWORD: usize = 256;

/// Usernames: 3–32 ASCII letters, digits, `_`, `-` or `.`.
pub fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = (3..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest("invalid 'username': expected 3 to 32 letters, digits, '_', '-' or '.'".into()))
    }
}

pub fn check_password(field: &str, password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(ApiError::BadRequest(format!(
            "invalid '{field}': expected {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// The PHC string of an argon2id hash of `password` with a random salt.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| ApiError::Internal(format!("salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("password hash: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password hash task: {e}")))?
}

/// Whether `password` matches `stored`. Without a stored hash, a hash is
/// computed anyway and false returned, so the answer takes as long as for
/// an existing account (no user enumeration by timing).
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    let Some(stored) = stored else {
        hash(password).await?;
        return Ok(false);
    };
    tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&stored).map_err(|e| ApiError::Internal(format!("stored password hash: {e}")))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password check task: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_rules_hold() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
        assert!(check_username("alice_1").is_ok());
        assert!(check_username("a").is_err() && check_username("al ice").is_err());
        assert!(check_password("password", "short").is_err());
        assert!(check_password("password", "long enough").is_ok());
    }
}
