//! Upload quotas from the handlers' side: reserve room before any byte is
//! stored, cap the stream at what was granted, release once the media is
//! recorded. The atomic check lives in the repo
//! ([`QuotaRepo`](mediaq_shared::repo::QuotaRepo)).

use std::time::Duration;

use axum::http::{HeaderMap, header};

use mediaq_shared::domain::{User, random_token};
use mediaq_shared::repo::{QuotaAnswer, QuotaRequest, now};

use crate::error::ApiError;
use crate::state::AppState;

/// Room in a request body for everything but the file (multipart
/// boundaries and part headers, small form fields).
const BODY_SLACK: u64 = 1024;
/// How long a streamed upload's reservation holds if the request dies.
const STREAM_TTL: Duration = Duration::from_secs(3600);

/// Room held for one upload.
#[derive(Debug)]
pub struct Reserved {
    pub id: String,
    pub bytes: u64,
    limit: Option<u64>,
    current: u64,
}

impl Reserved {
    /// A reservation made earlier under `id` (a resumable upload's, made
    /// at its creation), for the upload that records its media.
    pub fn existing(id: String, bytes: u64) -> Self {
        Self { id, bytes, limit: None, current: 0 }
    }

    /// The most bytes the upload may stream, when a quota applies.
    pub fn cap(&self) -> Option<u64> {
        self.limit.map(|_| self.bytes)
    }

    /// The refusal for a stream that went past [`Self::cap`].
    pub fn exceeded(&self) -> ApiError {
        let limit = self.limit.unwrap_or(u64::MAX);
        ApiError::QuotaExceeded {
            files: false,
            current: self.current,
            limit,
            remaining: limit.saturating_sub(self.current),
        }
    }
}

/// Reserves `want` bytes (at least `min`) and one file for `user`.
#[tracing::instrument(skip_all, fields(user = %user.id, want, min))]
pub async fn reserve(
    state: &AppState,
    user: &User,
    id: Option<&str>,
    want: u64,
    min: u64,
    ttl: Duration,
) -> Result<Reserved, ApiError> {
    let id = id.map_or_else(|| format!("r_{}", random_token(20)), str::to_owned);
    let expires_at = now() + chrono::TimeDelta::from_std(ttl).unwrap_or(chrono::TimeDelta::hours(1));
    let req = QuotaRequest {
        id: &id,
        user: user.id,
        want_bytes: want,
        min_bytes: min,
        files: 1,
        expires_at,
        default_quota: state.config.default_quota_bytes,
    };
    match state.repo.reserve_quota(&req).await? {
        QuotaAnswer::Granted { bytes, limit, current } => Ok(Reserved { id, bytes, limit, current }),
        QuotaAnswer::Refused(r) => {
            Err(ApiError::QuotaExceeded { files: r.files, current: r.current, limit: r.limit, remaining: r.remaining })
        }
    }
}

/// Reserves room for a request body about to be streamed: its declared
/// length when known (a body clearly larger than what is left is refused
/// at once), else whatever is left, capped at the upload limit.
pub async fn reserve_for_body(state: &AppState, user: &User, headers: &HeaderMap) -> Result<Reserved, ApiError> {
    let max = state.config.max_upload_bytes;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/"));
    let (want, min) = match declared {
        // The file is at least the body less the slack (3/4 of it for base64).
        Some(n) if multipart => (n.min(max), n.saturating_sub(BODY_SLACK).min(max)),
        Some(n) => (n.min(max), (n / 4 * 3).saturating_sub(BODY_SLACK).min(max)),
        None => (max, 1),
    };
    reserve(state, user, None, want, min.max(1), STREAM_TTL).await
}

/// Reads (and drops) up to 64 MiB of a refused request's body for at
/// most 5 s, so the client, still sending, gets the answer on a
/// connection it can go on using instead of a reset.
pub async fn drain_refused(body: axum::body::Body) {
    const LIMIT: u64 = 64 * 1024 * 1024;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drain(body, LIMIT)).await;
}

/// Reads and drops what is left of a refused request's body (at most
/// `max` bytes), so the client, still sending, gets the refusal instead
/// of a reset connection. Nothing is stored.
pub async fn drain(body: axum::body::Body, max: u64) {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut seen = 0u64;
    while seen <= max
        && let Some(Ok(chunk)) = stream.next().await
    {
        seen = seen.saturating_add(chunk.len() as u64);
    }
}

/// Forgets a reservation once its media is recorded (or it failed).
pub async fn release(state: &AppState, id: &str) {
    if let Err(e) = state.repo.release_quota(id).await {
        tracing::warn!(error = %e, "quota reservation not released; it expires by itself");
    }
}
