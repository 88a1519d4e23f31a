//! `Cache-Control` for everything the API sends as bytes, decided in one
//! place so no route picks its own.
//!
//! - Public media that never expire: `public, max-age=31536000, immutable`
//!   (an object never changes under its URL).
//! - Public media that expire: `public, max-age=<seconds left>`, never
//!   `immutable`, so no cache keeps them past their expiry.
//! - Anything reached with a secret (a signed URL, a public-file token, a
//!   link, a password) or for one caller: `private, no-store`, so no shared
//!   cache keeps a copy that outlives a revocation, an expiry or a
//!   suspension.
//! - A private media's thumbnail or original reached with a signed
//!   `/images/…` URL (the owner's own pages): `private, max-age=<seconds
//!   the signature has left>`, so the owner's browser keeps it while the
//!   URL is valid and no shared cache keeps it at all.

use axum::http::HeaderValue;
use chrono::{DateTime, Utc};

use mediaq_shared::domain::Media;

/// A year, the longest `max-age` worth sending.
const YEAR_SECS: i64 = 31_536_000;

/// How a response may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// Shared caches may keep it for `max_age` seconds; `immutable` when it
    /// can never change or go away by expiry.
    Public { max_age: i64, immutable: bool },
    /// Only the caller's own browser keeps it, for `max_age` seconds.
    Private { max_age: i64 },
    /// Nobody keeps it: `private, no-store`.
    NoStore,
}

impl Cache {
    /// For a public media served by URL: a year and immutable unless it
    /// expires, else at most the seconds it has left.
    pub fn public_media(media: &Media, now: DateTime<Utc>) -> Self {
        Self::public_media_until(media.expires_at, now)
    }

    fn public_media_until(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match expires_at {
            None => Self::Public { max_age: YEAR_SECS, immutable: true },
            Some(at) => Self::Public { max_age: (at - now).num_seconds().clamp(0, YEAR_SECS), immutable: false },
        }
    }

    pub fn header(self) -> HeaderValue {
        match self {
            Self::NoStore => HeaderValue::from_static("private, no-store"),
            Self::Public { max_age, immutable: true } => {
                HeaderValue::from_str(&format!("public, max-age={max_age}, immutable"))
                    .unwrap_or_else(|_| HeaderValue::from_static("private, no-store"))
            }
            Self::Public { max_age, immutable: false } => HeaderValue::from_str(&format!("public, max-age={max_age}"))
                .unwrap_or_else(|_| HeaderValue::from_static("private, no-store")),
            Self::Private { max_age } => HeaderValue::from_str(&format!("private, max-age={}", max_age.max(0)))
                .unwrap_or_else(|_| HeaderValue::from_static("private, no-store")),
        }
    }
}

/// `Cache-Control: private, no-store`, for secret-bearing responses.
pub fn no_store() -> HeaderValue {
    Cache::NoStore.header()
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn headers() {
        assert_eq!(Cache::NoStore.header(), "private, no-store");
        assert_eq!(
            Cache::Public { max_age: YEAR_SECS, immutable: true }.header(),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(Cache::Public { max_age: 300, immutable: false }.header(), "public, max-age=300");
        assert_eq!(Cache::Private { max_age: 60 }.header(), "private, max-age=60");
    }

    #[test]
    fn expiry_bounds_max_age() {
        let now = Utc::now();
        let at = now + TimeDelta::seconds(300);
        let expiring = Cache::public_media_until(Some(at), now);
        assert_eq!(expiring, Cache::Public { max_age: 300, immutable: false });
        let past = Cache::public_media_until(Some(now - TimeDelta::seconds(5)), now);
        assert_eq!(past, Cache::Public { max_age: 0, immutable: false });
        assert_eq!(Cache::public_media_until(None, now), Cache::Public { max_age: YEAR_SECS, immutable: true });
    }
}
