//! Rate limits on logins and uploads, per client IP and (uploads) per
//! credential, answered with 429 and `Retry-After`. In memory, per API
//! process: a rough brake on guessing and flooding, not an accounting.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use mediaq_shared::config::Config;
use mediaq_shared::keys::hash_key;

use crate::auth::{key_from_headers, key_from_query};
use crate::error::{ApiError, Chevereto};

pub struct RateLimits {
    login_ip: DefaultKeyedRateLimiter<String>,
    upload_ip: DefaultKeyedRateLimiter<String>,
    upload_key: DefaultKeyedRateLimiter<String>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl RateLimits {
    pub fn new(config: &Config) -> Arc<Self> {
        Arc::new(Self {
            login_ip: RateLimiter::keyed(per_minute(config.login_rate_per_min)),
            upload_ip: RateLimiter::keyed(per_minute(config.upload_rate_per_min.saturating_mul(2))),
            upload_key: RateLimiter::keyed(per_minute(config.upload_rate_per_min)),
        })
    }
}

fn client_ip(request: &Request) -> String {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// Seconds until `limiter` lets `key` through again, if it refuses now.
fn refused(limiter: &DefaultKeyedRateLimiter<String>, key: &String) -> Option<u64> {
    limiter
        .check_key(key)
        .err()
        .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1))
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
    match refused(&limits.login_ip, &client_ip(&request)) {
        Some(wait) => too_many(&request, wait),
        None => next.run(request).await,
    }
}

/// Uploads per client IP and per credential (hashed; the secret is not kept).
pub async fn upload(State(limits): State<Arc<RateLimits>>, request: Request, next: Next) -> Response {
    let credential =
        key_from_headers(request.headers()).or_else(|| key_from_query(request.uri().query())).map(|k| hash_key(&k));
    let wait = refused(&limits.upload_ip, &client_ip(&request))
        .or_else(|| credential.and_then(|c| refused(&limits.upload_key, &c)));
    match wait {
        Some(wait) => too_many(&request, wait),
        None => next.run(request).await,
    }
}
