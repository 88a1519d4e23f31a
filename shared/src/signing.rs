//! HMAC-signed, expiring URLs for routes the API serves itself: the
//! embedded storage's presigned PUT/GET and signed download links.
//!
//! A signature covers the HTTP method, the path and the expiry, so a GET
//! link cannot be replayed as a PUT and a changed path or expiry fails.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the link has expired")]
    Expired,
    #[error("the link's signature is not valid")]
    Invalid,
}

#[derive(Clone)]
pub struct UrlSigner {
    key: Secret,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner")
    }
}

impl UrlSigner {
    pub fn new(key: Secret) -> Self {
        Self { key }
    }

    fn mac(&self, method: &str, path: &str, expires: i64) -> HmacSha256 {
        // Hmac accepts keys of any length, so this cannot fail.
        #[allow(clippy::expect_used)]
        let mut mac = HmacSha256::new_from_slice(self.key.expose().as_bytes()).expect("hmac takes any key length");
        mac.update(method.as_bytes());
        mac.update(b"\n");
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// The query string (`expires=…&signature=…`) that authorises `method`
    /// on `path` until `expires_at`.
    pub fn sign(&self, method: &str, path: &str, expires_at: DateTime<Utc>) -> String {
        let expires = expires_at.timestamp();
        let sig = hex::encode(self.mac(method, path, expires).finalize().into_bytes());
        format!("expires={expires}&signature={sig}")
    }

    /// Checks a signature made by [`sign`](Self::sign), in constant time.
    pub fn verify(&self, method: &str, path: &str, expires: i64, signature: &str) -> Result<(), SignatureError> {
        let sig = hex::decode(signature).map_err(|_| SignatureError::Invalid)?;
        self.mac(method, path, expires).verify_slice(&sig).map_err(|_| SignatureError::Invalid)?;
        if Utc::now().timestamp() > expires {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(q: &str) -> (i64, String) {
        let mut it = q.split('&').map(|kv| kv.split_once('=').unwrap().1);
        (it.next().unwrap().parse().unwrap(), it.next().unwrap().to_owned())
    }

    #[test]
    fn signature_binds_method_path_and_expiry() {
        let s = UrlSigner::new(Secret::new("0123456789abcdef"));
        let later = Utc::now() + chrono::Duration::minutes(5);
        let (exp, sig) = parts(&s.sign("PUT", "/a/b", later));
        assert_eq!(s.verify("PUT", "/a/b", exp, &sig), Ok(()));
        assert_eq!(s.verify("GET", "/a/b", exp, &sig), Err(SignatureError::Invalid));
        assert_eq!(s.verify("PUT", "/a/c", exp, &sig), Err(SignatureError::Invalid));
        assert_eq!(s.verify("PUT", "/a/b", exp + 1, &sig), Err(SignatureError::Invalid));
        let other = UrlSigner::new(Secret::new("fedcba9876543210"));
        assert_eq!(other.verify("PUT", "/a/b", exp, &sig), Err(SignatureError::Invalid));
    }

    #[test]
    fn expired_links_are_refused() {
        let s = UrlSigner::new(Secret::new("0123456789abcdef"));
        let (exp, sig) = parts(&s.sign("GET", "/x", Utc::now() - chrono::Duration::seconds(1)));
        assert_eq!(s.verify("GET", "/x", exp, &sig), Err(SignatureError::Expired));
    }
}
