//! HMAC-signed, expiring URLs for routes the API serves itself: the
//! embedded storage's presigned PUT/GET and signed download links.
//!
//! A signature covers the HTTP method, the path, the expiry and, for an
//! upload, the exact size of the body, so a GET link cannot be replayed as
//! a PUT and a changed path, expiry or size fails. No signature is
//! accepted whose expiry lies further ahead than the configured lifetime
//! (`MEDIAQ_PRESIGN_TTL_SECS`), whoever made it.

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
    #[error("the link lives longer than this server allows")]
    TooLong,
}

/// A signed request as it arrived, to check with [`UrlSigner::verify`].
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Unix seconds.
    pub expires: i64,
    /// The body size signed into an upload URL.
    pub size: Option<u64>,
    pub signature: &'a str,
}

/// Seconds of clock rounding tolerated between signing and checking.
const SKEW_SECS: i64 = 2;

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

    fn mac(&self, method: &str, path: &str, expires: i64, size: Option<u64>) -> HmacSha256 {
        // Hmac accepts keys of any length, so this cannot fail.
        #[allow(clippy::expect_used)]
        let mut mac = HmacSha256::new_from_slice(self.key.expose().as_bytes()).expect("hmac takes any key length");
        mac.update(method.as_bytes());
        mac.update(b"\n");
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        if let Some(size) = size {
            mac.update(format!("\nsize={size}").as_bytes());
        }
        mac
    }

    /// The query string (`expires=…&signature=…`) that authorises `method`
    /// on `path` until `expires_at`.
    pub fn sign(&self, method: &str, path: &str, expires_at: DateTime<Utc>) -> String {
        let expires = expires_at.timestamp();
        let sig = hex::encode(self.mac(method, path, expires, None).finalize().into_bytes());
        format!("expires={expires}&signature={sig}")
    }

    /// Like [`sign`](Self::sign), also binding the exact body size
    /// (`expires=…&size=…&signature=…`).
    pub fn sign_sized(&self, method: &str, path: &str, expires_at: DateTime<Utc>, size: u64) -> String {
        let expires = expires_at.timestamp();
        let sig = hex::encode(self.mac(method, path, expires, Some(size)).finalize().into_bytes());
        format!("expires={expires}&size={size}&signature={sig}")
    }

    /// Checks a signature made by [`sign`](Self::sign) or
    /// [`sign_sized`](Self::sign_sized), in constant time, and refuses one
    /// that expired or whose expiry lies more than `max_ttl` ahead.
    pub fn verify(&self, req: &SignedRequest<'_>, max_ttl: std::time::Duration) -> Result<(), SignatureError> {
        let sig = hex::decode(req.signature).map_err(|_| SignatureError::Invalid)?;
        self.mac(req.method, req.path, req.expires, req.size)
            .verify_slice(&sig)
            .map_err(|_| SignatureError::Invalid)?;
        let now = Utc::now().timestamp();
        if now > req.expires {
            return Err(SignatureError::Expired);
        }
        let ttl = i64::try_from(max_ttl.as_secs()).unwrap_or(i64::MAX);
        if req.expires.saturating_sub(now) > ttl.saturating_add(SKEW_SECS) {
            return Err(SignatureError::TooLong);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: std::time::Duration = std::time::Duration::from_secs(600);

    fn parts(q: &str) -> (i64, String) {
        let mut it = q.split('&').map(|kv| kv.split_once('=').unwrap().1);
        (it.next().unwrap().parse().unwrap(), it.next_back().unwrap().to_owned())
    }

    fn req<'a>(method: &'a str, path: &'a str, expires: i64, sig: &'a str) -> SignedRequest<'a> {
        SignedRequest { method, path, expires, size: None, signature: sig }
    }

    #[test]
    fn signature_binds_method_path_and_expiry() {
        let s = UrlSigner::new(Secret::new("0123456789abcdef"));
        let later = Utc::now() + chrono::Duration::minutes(5);
        let (exp, sig) = parts(&s.sign("PUT", "/a/b", later));
        assert_eq!(s.verify(&req("PUT", "/a/b", exp, &sig), TTL), Ok(()));
        assert_eq!(s.verify(&req("GET", "/a/b", exp, &sig), TTL), Err(SignatureError::Invalid));
        assert_eq!(s.verify(&req("PUT", "/a/c", exp, &sig), TTL), Err(SignatureError::Invalid));
        assert_eq!(s.verify(&req("PUT", "/a/b", exp + 1, &sig), TTL), Err(SignatureError::Invalid));
        let other = UrlSigner::new(Secret::new("fedcba9876543210"));
        assert_eq!(other.verify(&req("PUT", "/a/b", exp, &sig), TTL), Err(SignatureError::Invalid));
    }

    #[test]
    fn sized_signatures_bind_the_size() {
        let s = UrlSigner::new(Secret::new("0123456789abcdef"));
        let later = Utc::now() + chrono::Duration::minutes(5);
        let (exp, sig) = parts(&s.sign_sized("PUT", "/u", later, 1234));
        let sized = |size| SignedRequest { method: "PUT", path: "/u", expires: exp, size, signature: &sig };
        assert_eq!(s.verify(&sized(Some(1234)), TTL), Ok(()));
        assert_eq!(s.verify(&sized(Some(1235)), TTL), Err(SignatureError::Invalid));
        assert_eq!(s.verify(&sized(None), TTL), Err(SignatureError::Invalid));
    }

    #[test]
    fn links_living_longer_than_the_ttl_are_refused() {
        let s = UrlSigner::new(Secret::new("0123456789abcdef"));
        let (exp, sig) = parts(&s.sign("GET", "/x", Utc::now() + chrono::Duration::days(365)));
        assert_eq!(s.verify(&req("GET", "/x", exp, &sig), TTL), Err(SignatureError::TooLong));
    }

    #[test]
    fn expired_links_are_refused() {
        let s = UrlSigner::new(Secret::new("0123456789abcdef"));
        let (exp, sig) = parts(&s.sign("GET", "/x", Utc::now() - chrono::Duration::seconds(1)));
        assert_eq!(s.verify(&req("GET", "/x", exp, &sig), TTL), Err(SignatureError::Expired));
    }
}
