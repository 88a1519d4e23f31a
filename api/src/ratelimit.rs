//! Rate limits, answered with 429 and `Retry-After`: logins and
//! registrations per client IP, uploads per client IP and per credential,
//! link-password attempts per client IP and per link. In memory, per API
//! process: a rough brake on guessing and flooding, not an accounting.
//!
//! Each limiter keeps one entry per key it has seen; entries that have
//! refilled completely are pruned every [`PRUNE_EVERY`], so memory follows
//! the recent callers, not every address ever seen.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use mediaq_shared::config::Config;
use mediaq_shared::keys::hash_key;

use crate::auth::{key_from_headers, key_from_query};
use crate::error::{ApiError, Chevereto};

/// How often fully refilled entries are dropped from the limiters.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Link-password attempts allowed per link, as a multiple of the per-IP
/// allowance (many visitors may share one link).
const LINK_ATTEMPTS_PER_IP_FACTOR: u32 = 5;

type Limiter = DefaultKeyedRateLimiter<String>;

pub struct RateLimits {
    login_ip: Limiter,
    register_ip: Limiter,
    upload_ip: Limiter,
    upload_key: Limiter,
    link_password_ip: Limiter,
    link_password_link: Limiter,
    started: Instant,
    /// Seconds after `started` of the last pruning.
    pruned_at: AtomicU64,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl RateLimits {
    pub fn new(config: &Config) -> Arc<Self> {
        let link = config.link_password_rate_per_min;
        Arc::new(Self {
            login_ip: RateLimiter::keyed(per_minute(config.login_rate_per_min)),
            register_ip: RateLimiter::keyed(per_minute(config.register_rate_per_min)),
            upload_ip: RateLimiter::keyed(per_minute(config.upload_rate_per_min.saturating_mul(2))),
            upload_key: RateLimiter::keyed(per_minute(config.upload_rate_per_min)),
            link_password_ip: RateLimiter::keyed(per_minute(link)),
            link_password_link: RateLimiter::keyed(per_minute(link.saturating_mul(LINK_ATTEMPTS_PER_IP_FACTOR))),
            started: Instant::now(),
            pruned_at: AtomicU64::new(0),
        })
    }

    fn limiters(&self) -> [&Limiter; 6] {
        [
            &self.login_ip,
            &self.register_ip,
            &self.upload_ip,
            &self.upload_key,
            &self.link_password_ip,
            &self.link_password_link,
        ]
    }

    /// Seconds until `limiter` lets `key` through again, if it refuses now.
    fn refused(&self, limiter: &Limiter, key: &String) -> Option<u64> {
        self.prune_if_due();
        limiter
            .check_key(key)
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1))
    }

    /// Prunes every limiter when [`PRUNE_EVERY`] has passed; only one
    /// caller does it, the others go on.
    fn prune_if_due(&self) {
        let now = self.started.elapsed().as_secs();
        let last = self.pruned_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) < PRUNE_EVERY.as_secs()
            || self.pruned_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return;
        }
        self.prune();
    }

    /// Drops the entries of keys that have refilled completely (a fresh
    /// entry would behave the same).
    pub fn prune(&self) {
        for limiter in self.limiters() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Keys held by every limiter together.
    pub fn len(&self) -> usize {
        self.limiters().iter().map(|l| l.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One attempt at the password of link `link` from `ip`: counted
    /// before the password is hashed, so guessing costs no more than the
    /// limit allows.
    pub fn link_password(&self, ip: &str, link: &str) -> Result<(), ApiError> {
        let wait = self
            .refused(&self.link_password_ip, &ip.to_owned())
            .or_else(|| self.refused(&self.link_password_link, &link.to_owned()));
        match wait {
            Some(retry_after) => Err(ApiError::RateLimited { retry_after }),
            None => Ok(()),
        }
    }
}

/// The limits and the caller's address, for handlers that count attempts
/// themselves (link passwords).
pub struct Attempts {
    pub limits: Arc<RateLimits>,
    pub ip: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Attempts {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let limits = parts
            .extensions
            .get::<Arc<RateLimits>>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("rate limits are not installed on the router".into()))?;
        Ok(Self { limits, ip: ip_of(parts.extensions.get::<ConnectInfo<SocketAddr>>()) })
    }
}

fn ip_of(info: Option<&ConnectInfo<SocketAddr>>) -> String {
    info.map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

fn client_ip(request: &Request) -> String {
    ip_of(request.extensions().get::<ConnectInfo<SocketAddr>>())
}

fn too_many(request: &Request, retry_after: u64) -> Response {
    let error = ApiError::RateLimited { retry_after };
    if request.uri().path().starts_with("/api/1") {
        Chevereto::from(error).into_response()
    } else {
        error.into_response()
    }
}

/// Login attempts per client IP.
pub async fn login(State(limits): State<Arc<RateLimits>>, request: Request, next: Next) -> Response {
    match limits.refused(&limits.login_ip, &client_ip(&request)) {
        Some(wait) => too_many(&request, wait),
        None => next.run(request).await,
    }
}

/// Registrations per client IP.
pub async fn register(State(limits): State<Arc<RateLimits>>, request: Request, next: Next) -> Response {
    match limits.refused(&limits.register_ip, &client_ip(&request)) {
        Some(wait) => too_many(&request, wait),
        None => next.run(request).await,
    }
}

/// Uploads per client IP and per credential (hashed; the secret is not kept).
pub async fn upload(State(limits): State<Arc<RateLimits>>, request: Request, next: Next) -> Response {
    let credential =
        key_from_headers(request.headers()).or_else(|| key_from_query(request.uri().query())).map(|k| hash_key(&k));
    let wait = limits
        .refused(&limits.upload_ip, &client_ip(&request))
        .or_else(|| credential.and_then(|c| limits.refused(&limits.upload_key, &c)));
    match wait {
        Some(wait) => too_many(&request, wait),
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_min: u32) -> Arc<RateLimits> {
        let mut config = Config::from_map(&std::collections::BTreeMap::new()).unwrap();
        config.link_password_rate_per_min = per_min;
        RateLimits::new(&config)
    }

    #[test]
    fn link_passwords_are_limited_per_ip_and_per_link() {
        let limits = limits(2);
        assert!(limits.link_password("1.1.1.1", "a").is_ok());
        assert!(limits.link_password("1.1.1.1", "b").is_ok());
        assert!(matches!(limits.link_password("1.1.1.1", "c"), Err(ApiError::RateLimited { .. })));
        // Other addresses share the link's (larger) budget.
        for i in 0..(2 * LINK_ATTEMPTS_PER_IP_FACTOR - 1) {
            assert!(limits.link_password(&format!("10.0.0.{i}"), "a").is_ok());
        }
        assert!(matches!(limits.link_password("10.0.1.1", "a"), Err(ApiError::RateLimited { .. })));
    }

    #[test]
    fn pruning_drops_refilled_entries_only() {
        let limits = limits(1_000_000);
        for i in 0..1000 {
            limits.link_password(&format!("10.0.{}.{}", i / 256, i % 256), &format!("link{i}")).unwrap();
        }
        assert_eq!(limits.len(), 2000);
        // At a million per minute a used cell refills in 60 µs: wait for
        // that (a bounded spin on the clock, not a guessed sleep).
        let until = Instant::now() + Duration::from_millis(1);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        // A key that is still refilling is kept.
        limits.register_ip.check_key_n(&"busy".to_owned(), NonZeroU32::new(3).unwrap()).unwrap().unwrap();
        limits.prune();
        assert_eq!(limits.len(), 1, "only the refilling key is left");
    }
}
