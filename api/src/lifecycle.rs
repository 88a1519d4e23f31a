//! Actions on a media's life that several routes share (native and
//! Chevereto deletes, folder and user deletion, refused uploads), and the
//! trash: every move into or out of it goes through here, so one hook
//! sees them all (e.g. `file.deleted` / `file.restored` events).
//!
//! Trash and restore are guarded writes (see `mediaq_shared::repo::files`):
//! each applies only from the state it expects, and a permanent delete
//! (`deleted`) always wins over both.

use mediaq_shared::domain::{MediaId, MediaStatus};
use mediaq_shared::events::{self, FileEvent};
use mediaq_shared::queue::Job;
use mediaq_shared::repo::{Folder, TrashItem, TrashKind, now};
use mediaq_shared::storage::ObjectKey;

use crate::error::ApiError;
use crate::state::AppState;

/// Marks a media deleted and queues the purge of its objects. A purge
/// that cannot be queued now is picked up by the next sweep.
pub async fn retire(state: &AppState, id: &MediaId) -> Result<(), ApiError> {
    if state.repo.retire_media(id, MediaStatus::Deleted).await? {
        emit(state, id, Some(FileEvent::Deleted)).await;
        queue_purge(state, id).await;
    }
    Ok(())
}

/// Removes objects no version names any more (pruned or deleted
/// versions); one that fails is left for the purge of the media.
pub async fn remove_objects(state: &AppState, keys: &[String]) {
    for key in keys.iter().filter_map(|k| ObjectKey::parse(k)) {
        if let Err(e) = state.storage.delete(&key).await {
            tracing::warn!(%key, error = %e, "could not remove an old version's object");
        }
    }
}

async fn queue_purge(state: &AppState, id: &MediaId) {
    if let Err(e) = state.queue.enqueue(Job::Purge(id.clone())).await {
        tracing::warn!(media = %id, error = %e, "purge not queued; the sweep will do it");
    }
}

/// Whether deletes go to the trash (`MEDIAQ_TRASH_DAYS` > 0) unless asked
/// to be permanent.
fn to_trash(state: &AppState, permanent: bool) -> bool {
    !permanent && state.config.trash_days > 0
}

/// `DELETE /api/v1/files/{id}`: into the trash, or for good.
pub async fn delete_file(state: &AppState, id: &MediaId, permanent: bool) -> Result<(), ApiError> {
    if !to_trash(state, permanent) {
        return retire(state, id).await;
    }
    if state.repo.trash_media(id, now()).await? {
        tracing::info!(media = %id, "file trashed");
        emit(state, id, Some(FileEvent::Deleted)).await;
        return Ok(());
    }
    // Trashed, deleted or expired meanwhile: gone for this caller either way.
    Err(ApiError::NotFound)
}

/// `DELETE /api/v1/folders/{id}`: the folder and everything in it into
/// the trash as a whole, or (permanent) retired at once.
pub async fn delete_folder(state: &AppState, folder: &Folder, permanent: bool) -> Result<(), ApiError> {
    if to_trash(state, permanent) {
        if state.repo.trash_folder(&folder.id, folder.owner_id, now()).await? {
            tracing::info!(folder = %folder.id, "folder trashed");
            return Ok(());
        }
        return Err(ApiError::NotFound);
    }
    let tree = state.repo.folder_subtree(&folder.id).await?;
    for media in state.repo.media_in_folders(&tree).await? {
        retire(state, &media).await?;
    }
    state.repo.delete_folder(&folder.id).await?;
    tracing::info!(folder = %folder.id, folders = tree.len(), "folder deleted");
    Ok(())
}

/// Puts a trash entry back; false when it left the trash meanwhile.
pub async fn restore(state: &AppState, item: &TrashItem) -> Result<bool, ApiError> {
    let done = match item.kind {
        TrashKind::File => {
            let id = MediaId::parse(&item.id).ok_or(ApiError::NotFound)?;
            let done = state.repo.restore_media(&id).await?;
            if done {
                emit(state, &id, Some(FileEvent::Restored)).await;
            }
            done
        }
        TrashKind::Folder => state.repo.restore_folder(&item.id).await?,
    };
    if done {
        tracing::info!(id = %item.id, kind = ?item.kind, "restored from the trash");
    }
    Ok(done)
}

/// Removes a trash entry for good (its objects are purged in the
/// background).
pub async fn remove(state: &AppState, item: &TrashItem) -> Result<(), ApiError> {
    match item.kind {
        TrashKind::File => retire(state, &MediaId::parse(&item.id).ok_or(ApiError::NotFound)?).await,
        TrashKind::Folder => {
            for id in state.repo.remove_trashed_folder(&item.id).await?.unwrap_or_default() {
                queue_purge(state, &id).await;
            }
            Ok(())
        }
    }
}

/// Media `id` changed status (a guarded write applied): tells waiters,
/// live streams and webhooks ([`mediaq_shared::events`]). Trash and
/// restore call it with `file.deleted` / `file.restored`.
pub async fn emit(state: &AppState, id: &MediaId, event: Option<FileEvent>) {
    let to = events::Emitter { queue: state.queue.as_ref(), repo: &state.repo };
    events::emit(to, id, event).await;
}
