//! Who may see or change what: the one place access rules live. Routes ask
//! this module and never each other.
//!
//! The rules, in short:
//! - **Owner and admin**: the owner of a file or folder may read and change
//!   it; an administrator may do the same with anyone's.
//! - **Shares** are read-only: a user a file (or a folder holding it, at
//!   any depth) is shared with may read and download it; changing it is a
//!   403, not a 404, since they can see it.
//! - **Anonymous access** (public media, public-token downloads, links)
//!   needs the media live (not deleted, not past its expiry) and its owner
//!   active.
//! - **Suspension** takes a user's content offline: while an owner is not
//!   active, their public media, public files, links and the shares they
//!   made answer 404 exactly as if missing, and come back when the account
//!   is active again. Nothing is deleted.
//! - Anything a caller may not see is a 404, never a 403 that would leak
//!   its existence.

use chrono::Utc;

use mediaq_shared::domain::{Media, MediaId, MediaStatus, UserId, UserStatus};
use mediaq_shared::repo::{Folder, PublicLink, RepoError, now};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Deepest folder nesting followed when looking for a shared ancestor.
const MAX_DEPTH: usize = 64;

/// What a link or a share is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    File,
    Folder,
}

impl TargetKind {
    /// The stored (and shown) name: `file` or `folder`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Folder => "folder",
        }
    }
}

/// A file or folder a link or share points at, and whose it is.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: TargetKind,
    pub id: String,
    pub owner: UserId,
}

/// Whether a media still exists for anyone: not deleted or expired, and
/// not past its expiry (even before the sweep has run).
pub fn is_live(media: &Media) -> bool {
    is_retained(media) && media.expires_at.is_none_or(|at| at > Utc::now())
}

/// Whether a media's row still stands for a file (not deleted or expired)
/// outside the trash: a trashed file is neither listed nor served
/// anywhere; only the trash routes reach it.
fn is_retained(media: &Media) -> bool {
    !matches!(media.status, MediaStatus::Deleted | MediaStatus::Expired) && media.trashed_at.is_none()
}

/// Whether `owner`'s content may be seen by others now: only while the
/// account is active (suspension takes it offline, a gone account too).
pub async fn owner_active(state: &AppState, owner: UserId) -> Result<bool, ApiError> {
    match state.repo.user(owner).await {
        Ok(user) => Ok(user.status == UserStatus::Active),
        Err(RepoError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Compares secrets without leaking where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---- files, for a caller -------------------------------------------------

async fn media_by_id(state: &AppState, id: &str) -> Result<Media, ApiError> {
    let id = MediaId::parse(id).ok_or(ApiError::NotFound)?;
    Ok(state.repo.media(&id).await?)
}

/// The caller's live media `id` (any media for an admin), or 404.
pub async fn owned_file(state: &AppState, caller: &Caller, id: &str) -> Result<Media, ApiError> {
    let media = media_by_id(state, id).await?;
    if !is_retained(&media) || (media.owner_id != caller.user.id && !caller.is_admin()) {
        return Err(ApiError::NotFound);
    }
    Ok(media)
}

/// The live media `id` if the caller may read it: its owner, an admin, or
/// a user it is shared with (itself or through a folder); else 404.
pub async fn readable_file(state: &AppState, caller: &Caller, id: &str) -> Result<Media, ApiError> {
    let media = media_by_id(state, id).await?;
    if !is_retained(&media) {
        return Err(ApiError::NotFound);
    }
    if media.owner_id == caller.user.id || caller.is_admin() || shared_media(state, caller.user.id, &media).await? {
        return Ok(media);
    }
    Err(ApiError::NotFound)
}

/// [`owned_file`], but 403 (not 404) for a user the file is shared with.
pub async fn writable_file(state: &AppState, caller: &Caller, id: &str) -> Result<Media, ApiError> {
    let media = readable_file(state, caller, id).await?;
    if media.owner_id == caller.user.id || caller.is_admin() {
        return Ok(media);
    }
    Err(ApiError::Forbidden("this file is shared with you read-only".into()))
}

// ---- folders, for a caller -----------------------------------------------

/// The folder `id` if the caller owns it (admins reach every folder), else 404.
pub async fn owned_folder(state: &AppState, caller: &Caller, id: &str) -> Result<Folder, ApiError> {
    let folder = state.repo.folder(id).await?;
    if folder.owner_id != caller.user.id && !caller.is_admin() {
        return Err(ApiError::NotFound);
    }
    Ok(folder)
}

/// The folder `id` if the caller may read it: owner, admin, or shared with
/// them (itself or an ancestor); else 404.
pub async fn readable_folder(state: &AppState, caller: &Caller, id: &str) -> Result<Folder, ApiError> {
    let folder = state.repo.folder(id).await?;
    if folder.owner_id == caller.user.id || caller.is_admin() || shared_folder(state, caller.user.id, &folder).await? {
        return Ok(folder);
    }
    Err(ApiError::NotFound)
}

/// [`owned_folder`], but 403 (not 404) for a user it is shared with.
pub async fn writable_folder(state: &AppState, caller: &Caller, id: &str) -> Result<Folder, ApiError> {
    let folder = readable_folder(state, caller, id).await?;
    if folder.owner_id == caller.user.id || caller.is_admin() {
        return Ok(folder);
    }
    Err(ApiError::Forbidden("this folder is shared with you read-only".into()))
}

/// Refuses a folder id (on an upload or a move) that is not a folder of
/// `owner`: a 400 naming it, since the caller chose it.
pub async fn check_folder(state: &AppState, owner: UserId, id: &str) -> Result<(), ApiError> {
    match state.repo.folder(id).await {
        Ok(f) if f.owner_id == owner => Ok(()),
        Ok(_) | Err(RepoError::NotFound) => {
            Err(ApiError::BadRequest(format!("there is no folder (album) {id:?} of yours")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The file or folder (exactly one of the two ids) a new link or share is
/// about, which the caller must own (or, as an admin, reach); else 404.
pub async fn owned_target(
    state: &AppState,
    caller: &Caller,
    file_id: Option<String>,
    folder_id: Option<String>,
) -> Result<Target, ApiError> {
    match (file_id, folder_id) {
        (Some(file), None) => {
            let media = owned_file(state, caller, &file).await?;
            Ok(Target { kind: TargetKind::File, id: media.id.as_str().to_owned(), owner: media.owner_id })
        }
        (None, Some(folder)) => {
            let folder = owned_folder(state, caller, &folder).await?;
            Ok(Target { kind: TargetKind::Folder, id: folder.id, owner: folder.owner_id })
        }
        _ => Err(ApiError::BadRequest("send exactly one of 'fileId' or 'folderId'".into())),
    }
}

// ---- shares ----------------------------------------------------------------

/// Whether `folder` or one of its ancestors is shared with `user` by an
/// active owner.
pub async fn shared_folder(state: &AppState, user: UserId, folder: &Folder) -> Result<bool, ApiError> {
    let mut current = Some(folder.clone());
    for _ in 0..MAX_DEPTH {
        let Some(f) = current else { break };
        if state.repo.is_shared(user, TargetKind::Folder.as_str(), &f.id).await? {
            return owner_active(state, folder.owner_id).await;
        }
        current = match f.parent_id {
            Some(parent) => Some(state.repo.folder(&parent).await?),
            None => None,
        };
    }
    Ok(false)
}

/// Whether `media` is shared with `user` (itself or through its folder)
/// by an active owner.
pub async fn shared_media(state: &AppState, user: UserId, media: &Media) -> Result<bool, ApiError> {
    if state.repo.is_shared(user, TargetKind::File.as_str(), media.id.as_str()).await? {
        return owner_active(state, media.owner_id).await;
    }
    match &media.album_id {
        Some(id) => match state.repo.folder(id).await {
            Ok(folder) if folder.owner_id == media.owner_id => shared_folder(state, user, &folder).await,
            Ok(_) | Err(RepoError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        },
        None => Ok(false),
    }
}

// ---- anonymous access ------------------------------------------------------

/// A public media anyone may see (`/images/…`, viewer pages): public, live
/// and its owner active; else 404. `ready` asks for finished processing
/// as well (bytes served as cacheable must not change afterwards).
pub async fn public_media(state: &AppState, id: &MediaId, ready: bool) -> Result<Media, ApiError> {
    let media = state.repo.media(id).await?;
    check_public(state, &media, ready).await?;
    Ok(media)
}

async fn check_public(state: &AppState, media: &Media, ready: bool) -> Result<(), ApiError> {
    if !media.is_public || !is_live(media) || (ready && media.status != MediaStatus::Ready) {
        return Err(ApiError::NotFound);
    }
    if !owner_active(state, media.owner_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

/// The media behind a public-token download: public, the token right,
/// ready, live, its owner active; else 404.
pub async fn token_media(state: &AppState, id: &str, token: &str) -> Result<Media, ApiError> {
    let media = media_by_id(state, id).await?;
    let valid = media.is_public
        && media.public_token.as_deref().is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
    if !valid {
        return Err(ApiError::NotFound);
    }
    check_public(state, &media, true).await?;
    Ok(media)
}

/// Whether a link can be used now: not revoked, not expired, views left,
/// and its owner active.
pub async fn link_usable(state: &AppState, link: &PublicLink) -> Result<bool, ApiError> {
    let at = now();
    if link.revoked || link.expires_at.is_some_and(|e| e <= at) || link.max_views.is_some_and(|m| link.views >= m) {
        return Ok(false);
    }
    owner_active(state, link.owner_id).await
}

/// A media a link shows: live, ready and the link owner's; else 404.
pub async fn linked_media(state: &AppState, link: &PublicLink, id: &str) -> Result<Media, ApiError> {
    let media = media_by_id(state, id).await?;
    if !is_live(&media) || media.status != MediaStatus::Ready || media.owner_id != link.owner_id {
        return Err(ApiError::NotFound);
    }
    Ok(media)
}

/// Whether `media` sits in the folder of a folder link or below it.
pub async fn in_linked_folder(state: &AppState, link: &PublicLink, media: &Media) -> Result<bool, ApiError> {
    Ok(match &media.album_id {
        Some(folder) => {
            media.owner_id == link.owner_id && state.repo.folder_subtree(&link.target_id).await?.contains(folder)
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn target_kinds_have_stored_names() {
        assert_eq!((TargetKind::File.as_str(), TargetKind::Folder.as_str()), ("file", "folder"));
    }
}
