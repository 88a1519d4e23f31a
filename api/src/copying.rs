//! Copies of files and folders. A copy is a new media with its own id and
//! its own objects: the original and every derivative are copied object
//! by object (server-side on S3, a kernel copy on fs; see
//! `Storage::copy`), so nothing passes through memory and the copy is
//! `ready` at once. Objects are copied rather than shared between media:
//! every purge, expiry and orphan sweep already assumes a media owns what
//! lies under its prefix, and reference counts would have to be right in
//! all of them.
//!
//! The copy belongs to the caller and counts against their quota: room
//! for every byte (originals and derivatives) and every file is reserved
//! before anything is copied, in one reservation for a whole folder.
//! Thumbnails by size are not copied; they are made again on request.
//!
//! Only the current version is copied: the copy starts as version 1 of
//! its own, with no history (copying a file's history would copy bytes
//! nobody asked for and count them again). Files in the trash, and
//! folders in it, are not copied; neither are files not yet `ready`.
//! A copy is announced like any file that became ready (`file.ready` to
//! webhooks and live streams).

use std::time::Duration;

use mediaq_shared::domain::{Media, MediaId, MediaStatus, User, Variant, random_token};
use mediaq_shared::events::FileEvent;
use mediaq_shared::repo::folders::{FolderChange, MAX_FOLDER_DEPTH};
use mediaq_shared::repo::{Folder, QuotaAnswer, QuotaRequest, now};
use mediaq_shared::storage::ObjectKey;

use crate::error::ApiError;
use crate::lifecycle::{emit, retire};
use crate::policy::is_live;
use crate::quota;
use crate::state::AppState;

/// How long a copy's reservation holds if the request dies.
const RESERVATION_TTL: Duration = Duration::from_secs(3600);

/// Reserves `bytes` and `files` for `user` at once (403 over the quota).
async fn reserve(state: &AppState, user: &User, bytes: u64, files: u64) -> Result<String, ApiError> {
    let id = format!("c_{}", random_token(20));
    let ttl = chrono::TimeDelta::from_std(RESERVATION_TTL).unwrap_or(chrono::TimeDelta::hours(1));
    let req = QuotaRequest {
        id: &id,
        user: user.id,
        want_bytes: bytes,
        min_bytes: bytes,
        files,
        expires_at: now() + ttl,
        default_quota: state.config.default_quota_bytes,
    };
    match state.repo.reserve_quota(&req).await? {
        QuotaAnswer::Granted { .. } => Ok(id),
        QuotaAnswer::Refused(r) => {
            Err(ApiError::QuotaExceeded { files: r.files, current: r.current, limit: r.limit, remaining: r.remaining })
        }
    }
}

/// A file that can be copied: live (404 otherwise: trashed, deleted or
/// expired) and ready (409 otherwise).
fn copyable(media: &Media) -> Result<(), ApiError> {
    if !is_live(media) {
        return Err(ApiError::NotFound);
    }
    if media.status != MediaStatus::Ready {
        return Err(ApiError::Conflict(format!("the file is {}: only ready files can be copied", media.status)));
    }
    Ok(())
}

/// Reads of a file's row and variants made before giving up on a file
/// that keeps taking new versions.
const SNAPSHOT_TRIES: usize = 3;

/// The media `id` and its variants as of one version: the variants are
/// read between two reads of the row, and again if a new version became
/// current meanwhile (so an original is never paired with another
/// version's derivatives).
async fn snapshot(state: &AppState, id: &MediaId) -> Result<(Media, Vec<Variant>), ApiError> {
    for _ in 0..SNAPSHOT_TRIES {
        let before = state.repo.media(id).await?;
        copyable(&before)?;
        let variants = state.repo.variants(id).await?;
        let after = state.repo.media(id).await?;
        copyable(&after)?;
        if (after.version, &after.original_key) == (before.version, &before.original_key) {
            return Ok((after, variants));
        }
    }
    Err(ApiError::Conflict("the file is taking new versions: try the copy again".into()))
}

/// Bytes a media holds: its original and its derivatives.
fn bytes_of(media: &Media, variants: &[Variant]) -> u64 {
    media.size.saturating_add(variants.iter().map(|v| v.size).sum::<u64>())
}

/// Copies one media for `owner` into `folder` under `name` (the source's
/// name when `None`): objects first, then the row and its variants in one
/// transaction; the objects are removed again if that fails.
async fn copy_media(
    state: &AppState,
    src: &Media,
    variants: &[Variant],
    owner: &User,
    folder: Option<String>,
    name: Option<String>,
) -> Result<Media, ApiError> {
    let id = MediaId::generate();
    let result = async {
        let from = ObjectKey::parse(&src.original_key).ok_or(ApiError::NotFound)?;
        let original = ObjectKey::original(&id, &src.extension);
        state.storage.copy(&from, &original).await?;
        let mut copied = Vec::with_capacity(variants.len());
        for v in variants {
            let from = ObjectKey::parse(&v.key).ok_or(ApiError::NotFound)?;
            let to = ObjectKey::variant(&id, v.kind, &v.extension);
            state.storage.copy(&from, &to).await?;
            copied.push(Variant { key: to.to_string(), ..v.clone() });
        }
        let at = now();
        let media = Media {
            id: id.clone(),
            owner_id: owner.id,
            original_filename: name.unwrap_or_else(|| src.original_filename.clone()),
            album_id: folder,
            is_public: false,
            public_token: None,
            original_key: original.to_string(),
            views: 0,
            created_at: at,
            updated_at: at,
            expires_at: None,
            use_file_date: false,
            ..src.clone()
        };
        state.repo.insert_media_copy(&media, &copied).await?;
        // Read back: columns the insert leaves to their defaults (a
        // version history, counters) start afresh on the copy.
        Ok::<_, ApiError>(state.repo.media(&id).await?)
    }
    .await;
    if result.is_ok() {
        emit(state, &id, Some(FileEvent::Ready)).await;
    }
    if result.is_err()
        && let Err(e) = state.storage.delete_media(&id).await
    {
        tracing::warn!(media = %id, error = %e, "could not remove the objects of a failed copy");
    }
    result
}

/// Copies the file `src` for `owner` (see the module notes).
#[tracing::instrument(skip_all, fields(source = %src.id))]
pub async fn copy_file(
    state: &AppState,
    src: &Media,
    owner: &User,
    folder: Option<String>,
    name: Option<String>,
) -> Result<Media, ApiError> {
    let (src, variants) = snapshot(state, &src.id).await?;
    let reservation = reserve(state, owner, bytes_of(&src, &variants), 1).await?;
    let copied = copy_media(state, &src, &variants, owner, folder, name).await;
    quota::release(state, &reservation).await;
    let copied = copied?;
    tracing::info!(copy = %copied.id, size = copied.size, "file copied");
    Ok(copied)
}

/// One folder of the source tree, with its files, in copy order.
struct Level {
    source: Folder,
    /// Index in the plan of the folder it goes into (`None`: the root copy).
    parent: Option<usize>,
    files: Vec<(Media, Vec<Variant>)>,
}

/// The tree under `root`, parents before children, at most
/// [`MAX_FOLDER_DEPTH`] levels, with every ready, live file.
async fn plan(state: &AppState, root: &Folder) -> Result<Vec<Level>, ApiError> {
    let mut levels: Vec<Level> = Vec::new();
    let mut queue = std::collections::VecDeque::from([(root.clone(), None, 1i64)]);
    while let Some((folder, parent, depth)) = queue.pop_front() {
        let index = levels.len();
        let mut files = Vec::new();
        let (media, _) = state.repo.list_folder_media(root.owner_id, &folder.id, 0, u64::from(u32::MAX)).await?;
        for m in media.into_iter().filter(|m| m.status == MediaStatus::Ready && is_live(m)) {
            // One that changed or went meanwhile is left out.
            match snapshot(state, &m.id).await {
                Ok(file) => files.push(file),
                Err(ApiError::NotFound | ApiError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if depth < MAX_FOLDER_DEPTH {
            for child in state.repo.child_folders(root.owner_id, Some(&folder.id)).await? {
                queue.push_back((child, Some(index), depth + 1));
            }
        }
        levels.push(Level { source: folder, parent, files });
    }
    Ok(levels)
}

/// Copies the folder `src` and everything in it for `owner` under
/// `parent` (the root when `None`) as `name`; returns the new folder and
/// how many folders and files were made. On a failure midway everything
/// made so far is removed again.
#[tracing::instrument(skip_all, fields(source = %src.id))]
pub async fn copy_folder(
    state: &AppState,
    src: &Folder,
    owner: &User,
    parent: Option<String>,
    name: String,
) -> Result<(Folder, usize, usize), ApiError> {
    let levels = plan(state, src).await?;
    let files: Vec<&(Media, Vec<Variant>)> = levels.iter().flat_map(|l| &l.files).collect();
    let bytes = files.iter().map(|(m, v)| bytes_of(m, v)).sum();
    let reservation = reserve(state, owner, bytes, files.len() as u64).await?;
    let mut made = Made::default();
    let result = copy_levels(state, &levels, owner, parent, name, &mut made).await;
    quota::release(state, &reservation).await;
    match result {
        Ok(root) => {
            tracing::info!(copy = %root.id, folders = made.folders.len(), files = made.media.len(), "folder copied");
            Ok((root, made.folders.len(), made.media.len()))
        }
        Err(e) => {
            made.undo(state).await;
            Err(e)
        }
    }
}

/// What a folder copy has made so far.
#[derive(Default)]
struct Made {
    folders: Vec<Folder>,
    media: Vec<MediaId>,
}

impl Made {
    async fn undo(&self, state: &AppState) {
        for id in &self.media {
            if let Err(e) = retire(state, id).await {
                tracing::warn!(media = %id, error = %e, "could not remove a copy after a failed folder copy");
            }
        }
        if let Some(root) = self.folders.first()
            && let Err(e) = state.repo.delete_folder(&root.id).await
        {
            tracing::warn!(folder = %root.id, error = %e, "could not remove a failed folder copy");
        }
    }
}

async fn copy_levels(
    state: &AppState,
    levels: &[Level],
    owner: &User,
    parent: Option<String>,
    name: String,
    made: &mut Made,
) -> Result<Folder, ApiError> {
    for level in levels {
        let (parent_id, folder_name) = match level.parent {
            None => (parent.clone(), name.clone()),
            Some(i) => (Some(made.folders[i].id.clone()), level.source.name.clone()),
        };
        let at = now();
        let folder = Folder {
            id: random_token(16),
            owner_id: owner.id,
            parent_id,
            name: folder_name,
            created_at: at,
            updated_at: at,
        };
        match state.repo.insert_folder(&folder).await? {
            FolderChange::Done => {}
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "the copy would nest folders deeper than {MAX_FOLDER_DEPTH} levels"
                )));
            }
        }
        made.folders.push(folder.clone());
        for (m, variants) in &level.files {
            match copy_media(state, m, variants, owner, Some(folder.id.clone()), None).await {
                Ok(copied) => made.media.push(copied.id),
                // Deleted while the folder was being copied (its objects
                // are gone): the copy goes on without it.
                Err(ApiError::NotFound) => {
                    tracing::info!(media = %m.id, "left out of a folder copy: deleted meanwhile")
                }
                Err(e) => return Err(e),
            }
        }
    }
    made.folders.first().cloned().ok_or(ApiError::NotFound)
}
