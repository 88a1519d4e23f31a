//! [`Held`]: one writer's hold on a resumable upload. Taken with a guarded
//! update (only at the expected offset, only when no live lock is held),
//! kept alive by a heartbeat while the writer streams, and let go with
//! its progress or without. A writer that dies stops renewing; its lock
//! lapses after [`LEASE`] and the upload can be resumed. Parts a writer
//! sends to S3 in tasks of their own (see `parts`) each hold a permit of
//! [`Held::parts`]: the hold is let go only once all of them ended.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::Semaphore;

use mediaq_shared::domain::{MediaId, random_token};
use mediaq_shared::repo::{Progress, now};

use super::parts::IN_FLIGHT;
use crate::error::ApiError;
use crate::state::AppState;

/// How long a lock holds without renewal.
pub const LEASE: Duration = Duration::from_secs(10);
/// How often a live writer renews it.
const RENEW_EVERY: Duration = Duration::from_secs(3);

pub struct Held {
    state: AppState,
    id: MediaId,
    token: String,
    heartbeat: tokio::task::JoinHandle<()>,
    parts: Arc<Semaphore>,
    done: bool,
}

fn lease_end() -> chrono::DateTime<chrono::Utc> {
    now() + TimeDelta::from_std(LEASE).unwrap_or(TimeDelta::seconds(10))
}

impl Held {
    /// Takes upload `id` at `offset`; `None` when its offset is another or
    /// another writer holds it.
    pub async fn take(state: &AppState, id: &MediaId, offset: u64) -> Result<Option<Self>, ApiError> {
        let token = random_token(24);
        if !state.repo.lock_resumable(id, offset, &token, lease_end(), now()).await? {
            return Ok(None);
        }
        let heartbeat = tokio::spawn(renew(state.clone(), id.clone(), token.clone()));
        let parts = Arc::new(Semaphore::new(IN_FLIGHT as usize));
        Ok(Some(Self { state: state.clone(), id: id.clone(), token, heartbeat, parts, done: false }))
    }

    /// The upload held.
    pub fn id(&self) -> &MediaId {
        &self.id
    }

    /// The permits of this writer's parts on their way.
    pub fn parts(&self) -> Arc<Semaphore> {
        self.parts.clone()
    }

    /// Records `progress` and lets go; false when the hold was lost (the
    /// upload was terminated or expired meanwhile).
    pub async fn advance(mut self, progress: &Progress<'_>) -> Result<bool, ApiError> {
        let _ = self.parts.acquire_many(IN_FLIGHT).await;
        self.heartbeat.abort();
        self.done = true;
        Ok(self.state.repo.advance_resumable(&self.id, &self.token, progress).await?)
    }

    /// Lets go without progress.
    pub async fn release(mut self) {
        let _ = self.parts.acquire_many(IN_FLIGHT).await;
        self.heartbeat.abort();
        self.done = true;
        if let Err(e) = self.state.repo.unlock_resumable(&self.id, &self.token).await {
            tracing::warn!(error = %e, "could not unlock an upload; its lock lapses by itself");
        }
    }

    /// Ends the hold because the row is gone (completed or terminated).
    pub fn forget(mut self) {
        self.heartbeat.abort();
        self.done = true;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.done {
            self.heartbeat.abort();
            return;
        }
        // A cancelled request: let go once its parts ended, rather than
        // after the lease (renewed until then).
        let (state, id, token) = (self.state.clone(), self.id.clone(), self.token.clone());
        let (parts, heartbeat) = (self.parts.clone(), self.heartbeat.abort_handle());
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let _ = parts.acquire_many(IN_FLIGHT).await;
                    heartbeat.abort();
                    let _ = state.repo.unlock_resumable(&id, &token).await;
                });
            }
            Err(_) => heartbeat.abort(),
        }
    }
}

async fn renew(state: AppState, id: MediaId, token: String) {
    let mut tick = tokio::time::interval(RENEW_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        match state.repo.renew_resumable_lock(&id, &token, lease_end()).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(error = %e, "could not renew an upload lock"),
        }
    }
}
