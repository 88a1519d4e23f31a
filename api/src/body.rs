//! Guards on request bodies, applied to every request by [`guard`]:
//!
//! - a read timeout: a body that sends no byte for `MEDIAQ_BODY_TIMEOUT_SECS`
//!   fails, and the request is answered 408 (Chevereto JSON on the
//!   Chevereto routes, problem+json elsewhere) whatever the handler made of
//!   the failed read; ingest stores nothing from a failed body;
//! - a memory budget (`MEDIAQ_REQUEST_MEMORY_BYTES`) shared by every
//!   request: bodies that must be held whole (urlencoded forms, JSON,
//!   base64 sources) take a [`Lease`] on it as they grow, and a request
//!   that finds it spent gets 503 with `Retry-After` instead of the bytes;
//! - an answer given before its request body was read to the end (a 404
//!   for a new version of a deleted file, a refused key…) says
//!   `Connection: close`. hyper closes such a connection once the answer is
//!   written; without the header a client puts it back in its pool and its
//!   next request on it fails with "connection closed before message
//!   completed".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, Chevereto};

/// Budget unit: permits are KiB, so a `u32` acquire covers 4 TiB.
const UNIT: u64 = 1024;
/// What a refused request is told to wait before retrying.
const RETRY_AFTER_SECS: u64 = 2;

/// The shared budget of bytes requests may hold in memory.
#[derive(Clone, Debug)]
pub struct MemoryBudget(Arc<Semaphore>);

impl MemoryBudget {
    pub fn new(bytes: u64) -> Self {
        let units = usize::try_from(bytes / UNIT).unwrap_or(usize::MAX).clamp(1, Semaphore::MAX_PERMITS);
        Self(Arc::new(Semaphore::new(units)))
    }

    /// An empty lease, grown as bytes are held.
    pub fn lease(&self) -> Lease {
        Lease { budget: Some(self.0.clone()), permit: None, units: 0 }
    }
}

/// Bytes one request holds; given back when dropped.
#[derive(Debug, Default)]
pub struct Lease {
    /// `None` outside the router (no budget applies).
    budget: Option<Arc<Semaphore>>,
    permit: Option<OwnedSemaphorePermit>,
    units: u64,
}

impl Lease {
    /// The lease of `request`'s budget (see [`guard`]); unlimited when the
    /// request did not come through it.
    pub fn for_request(request: &Request) -> Self {
        request.extensions().get::<MemoryBudget>().map(MemoryBudget::lease).unwrap_or_default()
    }

    /// Grows the lease by `more` bytes.
    pub fn add(&mut self, more: u64) -> Result<(), ApiError> {
        self.hold(self.units.saturating_mul(UNIT).saturating_add(more))
    }

    /// Grows the lease to cover `bytes` in all; never waits.
    pub fn hold(&mut self, bytes: u64) -> Result<(), ApiError> {
        let want = bytes.div_ceil(UNIT);
        let Some(budget) = &self.budget else { return Ok(()) };
        if want <= self.units {
            return Ok(());
        }
        let more = u32::try_from(want - self.units).map_err(|_| ApiError::Busy { retry_after: RETRY_AFTER_SECS })?;
        let permit = budget.clone().try_acquire_many_owned(more).map_err(|_| {
            tracing::warn!(bytes, "request memory budget spent: refusing a body");
            ApiError::Busy { retry_after: RETRY_AFTER_SECS }
        })?;
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        self.units = want;
        Ok(())
    }
}

/// Reads `body` whole, at most `limit` bytes (else `too_large`), holding
/// its bytes against `lease` as they arrive.
pub async fn read_whole(
    body: Body,
    limit: usize,
    lease: &mut Lease,
    too_large: impl Fn() -> ApiError,
) -> Result<Bytes, ApiError> {
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the request body could not be read: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(too_large());
        }
        lease.hold((buf.len() + chunk.len()) as u64)?;
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// The settings [`guard`] applies.
#[derive(Clone, Debug)]
pub struct Guards {
    pub timeout: Duration,
    pub budget: MemoryBudget,
}

/// Middleware: hands the budget to handlers and times out stalled bodies.
pub async fn guard(State(guards): State<Guards>, request: Request, next: Next) -> Response {
    let stalled = Arc::new(AtomicBool::new(false));
    let read = Arc::new(AtomicBool::new(false));
    let chevereto = request.uri().path().starts_with("/api/1");
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(guards.budget.clone());
    let http1 = parts.version <= Version::HTTP_11;
    let has_body = !body.is_end_stream();
    let body =
        if has_body { Body::from_stream(timed(body, guards.timeout, stalled.clone(), read.clone())) } else { body };
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if stalled.load(Ordering::SeqCst) {
        tracing::info!(secs = guards.timeout.as_secs(), "request body stalled");
        let error = ApiError::BodyTimeout { secs: guards.timeout.as_secs() };
        response = if chevereto { Chevereto { error, text: false }.into_response() } else { error.into_response() };
    }
    if http1 && has_body && !read.load(Ordering::SeqCst) {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The request body stalled (see [`guard`]).
#[derive(Debug, thiserror::Error)]
#[error("no byte of the request body arrived in time")]
pub struct Stalled;

/// `body`, failing with [`Stalled`] when no chunk arrives within `limit`;
/// `read` is set once the body's end is reached.
fn timed(
    body: Body,
    limit: Duration,
    stalled: Arc<AtomicBool>,
    read: Arc<AtomicBool>,
) -> impl Stream<Item = Result<Bytes, axum::BoxError>> + Send {
    futures::stream::unfold(Some(body.into_data_stream()), move |state| {
        let stalled = stalled.clone();
        let read = read.clone();
        async move {
            let mut inner = state?;
            match tokio::time::timeout(limit, inner.next()).await {
                Ok(Some(Ok(bytes))) => {
                    if inner.is_end_stream() {
                        read.store(true, Ordering::SeqCst);
                    }
                    Some((Ok(bytes), Some(inner)))
                }
                Ok(Some(Err(e))) => Some((Err(e.into()), None)),
                Ok(None) => {
                    read.store(true, Ordering::SeqCst);
                    None
                }
                Err(_) => {
                    stalled.store(true, Ordering::SeqCst);
                    Some((Err(Stalled.into()), None))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_share_one_budget_and_give_it_back() {
        let budget = MemoryBudget::new(10 * UNIT);
        let mut a = budget.lease();
        a.hold(6 * UNIT).unwrap();
        a.hold(3 * UNIT).unwrap(); // already covered
        let mut b = budget.lease();
        assert!(matches!(b.hold(5 * UNIT), Err(ApiError::Busy { .. })));
        b.hold(4 * UNIT).unwrap();
        drop(a);
        b.hold(9 * UNIT).unwrap();
    }
}
