//! Fetching a remote source URL without becoming an SSRF proxy.
//!
//! The API calls [`check_url`] to refuse an obviously bad URL at once (no
//! DNS); the fetch job calls [`fetch`], which resolves every host itself,
//! refuses any blocked address, connects only to the addresses it checked,
//! follows redirects by hand (re-checking each hop) and hands back a body
//! stream capped in bytes and time.
//!
//! - `addr`: which destinations are allowed (URL rules, address ranges, DNS).
//! - `client`: the request loop over redirects.
//! - `body`: the capped body stream.
//! - `filename`: the name a download would be saved under.

mod addr;
mod body;
mod client;
mod filename;
#[cfg(test)]
mod test_server;

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

pub use addr::{check_url, is_blocked};
pub use client::{fetch, post};

use crate::storage::BodyStream;

/// Limits for one fetch, redirects and body included.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Lifts the address rules (private, loopback, metadata…) so tests can
    /// fetch from local servers. The scheme and credential rules still hold.
    pub allow_private: bool,
    /// Bytes of body accepted; one more and the fetch fails with `TooLarge`.
    pub max_bytes: u64,
    /// Per hop: DNS lookup plus TCP (and TLS) connect.
    pub connect_timeout: Duration,
    /// The whole fetch: every hop and the body, to its last byte.
    pub total_timeout: Duration,
    /// Redirects followed before giving up with `TooManyRedirects`.
    pub max_redirects: usize,
}

impl Default for FetchPolicy {
    /// 10 s connect, 120 s total, 5 redirects, private addresses refused.
    /// `max_bytes` is a placeholder (64 MiB): callers set their own limit.
    fn default() -> Self {
        Self {
            allow_private: false,
            max_bytes: 64 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(120),
            max_redirects: 5,
        }
    }
}

/// A response that passed every check, its body not yet read.
pub struct Fetched {
    /// The body, as sent on the wire (no decompression). Yields an error as
    /// soon as more than `max_bytes` arrive or `total_timeout` passes; use
    /// [`FetchError::from_body_error`] to recover the reason.
    pub stream: BodyStream<'static>,
    pub content_length: Option<u64>,
    pub content_type: Option<String>,
    /// The URL after redirects.
    pub final_url: url::Url,
    /// From `Content-Disposition`, else the last path segment of
    /// `final_url`; percent-decoded and sanitized (no path separators,
    /// control characters or leading dots), `None` when nothing usable.
    pub filename: Option<String>,
}

impl fmt::Debug for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetched")
            .field("content_length", &self.content_length)
            .field("content_type", &self.content_type)
            .field("final_url", &self.final_url.as_str())
            .field("filename", &self.filename)
            .finish_non_exhaustive()
    }
}

/// Why a fetch failed. The texts are written for the person who submitted
/// the URL: they never include an address a host name resolved to.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The URL's scheme, credentials or destination is not allowed.
    #[error("URL refused: {0}")]
    Refused(String),
    #[error("remote file is larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("remote server took too long")]
    Timeout,
    #[error("remote server answered HTTP {0}")]
    Status(u16),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("network error: {0}")]
    Network(String),
}

impl FetchError {
    /// Whether retrying the same URL later is pointless. Network trouble,
    /// timeouts, 5xx, 429 and 408 are worth a retry; the rest is not.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Network(_) | Self::Timeout => false,
            Self::Status(code) => !(*code >= 500 || *code == 429 || *code == 408),
            Self::InvalidUrl(_) | Self::Refused(_) | Self::TooLarge { .. } | Self::TooManyRedirects(_) => true,
        }
    }

    /// The fetch error behind an error read from [`Fetched::stream`] (the
    /// cap, the deadline, a network failure); any other I/O error becomes
    /// `Network`.
    pub fn from_body_error(err: io::Error) -> Self {
        let text = err.to_string();
        match err.into_inner().map(|inner| inner.downcast::<FetchError>()) {
            Some(Ok(fetch)) => *fetch,
            _ => Self::Network(text),
        }
    }
}

/// Body errors travel as `io::Error` (the storage layer's stream type) with
/// the `FetchError` inside, so [`FetchError::from_body_error`] gets it back.
impl From<FetchError> for io::Error {
    fn from(err: FetchError) -> Self {
        let kind = match err {
            FetchError::TooLarge { .. } => io::ErrorKind::FileTooLarge,
            FetchError::Timeout => io::ErrorKind::TimedOut,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, err)
    }
}

/// An error and its sources on one line: reqwest's own text ("error sending
/// request") says little; the cause is further down the chain.
fn describe(err: &dyn StdError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanence_follows_the_contract() {
        assert!(FetchError::Status(404).is_permanent());
        assert!(FetchError::Status(403).is_permanent());
        assert!(!FetchError::Status(503).is_permanent());
        assert!(!FetchError::Status(500).is_permanent());
        assert!(!FetchError::Status(429).is_permanent());
        assert!(!FetchError::Timeout.is_permanent());
        assert!(!FetchError::Network("reset".into()).is_permanent());
        assert!(FetchError::Refused("x".into()).is_permanent());
        assert!(FetchError::TooLarge { limit: 1 }.is_permanent());
        assert!(FetchError::TooManyRedirects(5).is_permanent());
        assert!(FetchError::InvalidUrl("x".into()).is_permanent());
    }

    #[test]
    fn body_errors_round_trip_through_io() {
        let io_err = io::Error::from(FetchError::TooLarge { limit: 7 });
        assert_eq!(io_err.kind(), io::ErrorKind::FileTooLarge);
        assert!(matches!(FetchError::from_body_error(io_err), FetchError::TooLarge { limit: 7 }));

        let io_err = io::Error::from(FetchError::Timeout);
        assert_eq!(io_err.kind(), io::ErrorKind::TimedOut);
        assert!(matches!(FetchError::from_body_error(io_err), FetchError::Timeout));

        let other = io::Error::new(io::ErrorKind::BrokenPipe, "pipe");
        assert!(matches!(FetchError::from_body_error(other), FetchError::Network(t) if t == "pipe"));
    }
}
