//! Actions on a media's life that several routes share (native and
//! Chevereto deletes, folder and user deletion, refused uploads).

use mediaq_shared::domain::{MediaId, MediaStatus};
use mediaq_shared::events::{self, FileEvent};
use mediaq_shared::queue::Job;

use crate::error::ApiError;
use crate::state::AppState;

/// Marks a media deleted and queues the purge of its objects. A purge
/// that cannot be queued now is picked up by the next sweep.
pub async fn retire(state: &AppState, id: &MediaId) -> Result<(), ApiError> {
    if state.repo.retire_media(id, MediaStatus::Deleted).await? {
        emit(state, id, Some(FileEvent::Deleted)).await;
        if let Err(e) = state.queue.enqueue(Job::Purge(id.clone())).await {
            tracing::warn!(media = %id, error = %e, "purge not queued; the sweep will do it");
        }
    }
    Ok(())
}

/// Media `id` changed status (a guarded write applied): tells waiters,
/// live streams and webhooks ([`mediaq_shared::events`]). Trash and
/// restore call it with `file.deleted` / `file.restored`.
pub async fn emit(state: &AppState, id: &MediaId, event: Option<FileEvent>) {
    let to = events::Emitter { queue: state.queue.as_ref(), repo: &state.repo };
    events::emit(to, id, event).await;
}
