//! [`Pending`]: an ingest under way, holding what it has spent until it
//! is committed or discarded (see the module above for the contract).

use axum::http::HeaderMap;

use mediaq_shared::domain::{Media, MediaId, User, UserId};
use mediaq_shared::events::FileEvent;
use mediaq_shared::queue::Job;
use mediaq_shared::repo::{OriginalFacts, VersionChange};
use mediaq_shared::storage::{BodyStream, Md5, ObjectKey};

use super::store::{StoredOriginal, store_within};
use super::{Accept, Ingested, UploadMeta, delete_secret, new_media};
use crate::error::ApiError;
use crate::idempotency::{self, Claim};
use crate::quota::{self, Reserved};
use crate::state::AppState;

/// An upload being taken in. Dropping it uncommitted undoes what it holds
/// (in a spawned task: a cancelled request cannot await); [`settle`]
/// does the same, awaited, where the handler can.
///
/// [`settle`]: Pending::settle
pub struct Pending {
    state: AppState,
    owner: User,
    /// The id the media will have (its object key and claim use it).
    id: MediaId,
    reservation: Option<Reserved>,
    object: Option<StoredOriginal>,
    /// An `Idempotency-Key` this upload claimed.
    claim: Option<String>,
    /// What types this upload takes.
    accept: Accept,
    /// A new version of an existing media: the revision of its keys.
    revision: Option<String>,
    /// Whether the upload's MD5 is computed as it is stored.
    md5: Md5,
}

/// Whether this upload owns its `Idempotency-Key`.
#[derive(Debug, PartialEq, Eq)]
pub enum Claimed {
    /// No key was sent, or this upload claimed it.
    New,
    /// An earlier request with the same key made this media: answer with
    /// it (this upload is discarded).
    Earlier(MediaId),
}

/// What an uncommitted upload still holds, to undo.
struct Held {
    owner: UserId,
    reservation: Option<String>,
    object: Option<ObjectKey>,
    claim: Option<String>,
}

impl Pending {
    pub fn new(state: &AppState, owner: &User) -> Self {
        Self {
            state: state.clone(),
            owner: owner.clone(),
            id: MediaId::generate(),
            reservation: None,
            object: None,
            claim: None,
            accept: Accept::Media,
            revision: None,
            md5: Md5::Yes,
        }
    }

    /// A new version of media `id` (any type), stored under keys of its own.
    pub fn for_version(state: &AppState, owner: &User, id: &MediaId) -> Self {
        let mut pending = Self::new(state, owner).any_type().without_md5();
        pending.id = id.clone();
        pending.revision = Some(ObjectKey::new_revision());
        pending
    }

    /// Takes any file, not only images and videos (the native routes).
    pub fn any_type(mut self) -> Self {
        self.accept = Accept::Any;
        self
    }

    /// Records the SHA-256 only: the native routes show no MD5, and it
    /// would cost more CPU than the rest of the upload (the Chevereto
    /// route's `checksum` and the signed PUT's ETag keep it).
    pub fn without_md5(mut self) -> Self {
        self.md5 = Md5::No;
        self
    }

    /// [`Pending::new`] for a media whose id was handed out already (a
    /// presigned single PUT for Uppy).
    pub fn with_id(state: &AppState, owner: &User, id: MediaId) -> Self {
        let mut pending = Self::new(state, owner).any_type();
        pending.id = id;
        pending
    }

    /// An upload whose bytes already sit in storage under `object` (a
    /// resumable upload, assembled there), with the reservation it made:
    /// both are held like any other, so a refused commit removes them.
    pub fn adopt(state: &AppState, owner: &User, id: MediaId, reservation: Reserved, object: StoredOriginal) -> Self {
        Self {
            state: state.clone(),
            owner: owner.clone(),
            id,
            reservation: Some(reservation),
            object: Some(object),
            claim: None,
            accept: Accept::Any,
            revision: None,
            md5: Md5::Yes,
        }
    }

    pub fn owner(&self) -> &User {
        &self.owner
    }

    /// Reserves quota room for a request body about to be streamed (see
    /// [`quota::reserve_for_body`]); once per upload.
    pub async fn reserve_for_body(&mut self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.reservation.is_none() {
            self.reservation = Some(quota::reserve_for_body(&self.state, &self.owner, headers).await?);
        }
        Ok(())
    }

    /// Streams the file to storage, within the limits and the reserved room.
    pub async fn store(&mut self, body: BodyStream<'_>) -> Result<(), ApiError> {
        if self.object.is_some() {
            return Err(ApiError::BadRequest("send one file per upload".into()));
        }
        let stored = store_within(
            &self.state,
            &self.id,
            body,
            self.reservation.as_ref(),
            self.accept,
            self.revision.as_deref(),
            self.md5,
        )
        .await?;
        self.object = Some(stored);
        Ok(())
    }

    /// True once a file is in storage.
    pub fn has_file(&self) -> bool {
        self.object.is_some()
    }

    /// The stored file's size, once there is one.
    pub fn stored_size(&self) -> Option<u64> {
        self.object.as_ref().map(|o| o.size)
    }

    /// Refuses a folder the owner cannot upload into.
    pub async fn check_folder(&self, folder: Option<&str>) -> Result<(), ApiError> {
        match folder.filter(|f| !f.is_empty()) {
            Some(folder) => crate::policy::check_folder(&self.state, self.owner.id, folder).await,
            None => Ok(()),
        }
    }

    /// Claims the request's `Idempotency-Key` (when it has one) for this
    /// upload's media; of concurrent requests with one key exactly one
    /// gets [`Claimed::New`].
    pub async fn claim(&mut self, key: Option<&str>) -> Result<Claimed, ApiError> {
        let Some(key) = key else { return Ok(Claimed::New) };
        match idempotency::claim(&self.state, &self.owner, key, &self.id).await? {
            Claim::Won => {
                self.claim = Some(key.to_owned());
                Ok(Claimed::New)
            }
            Claim::Lost(first) => Ok(Claimed::Earlier(first)),
        }
    }

    /// Records the stored file as a new media and enqueues its processing.
    #[tracing::instrument(skip_all, fields(owner = %self.owner.id, media = %self.id))]
    pub async fn commit(&mut self, meta: UploadMeta) -> Result<Ingested, ApiError> {
        let stored = self.object.as_ref().ok_or(ApiError::EmptySource)?;
        let mut media = new_media(self.id.clone(), &self.owner, meta, stored.extension);
        media.kind = stored.kind;
        media.mime = stored.mime.to_owned();
        media.size = stored.size;
        media.original_key = stored.key.to_string();
        media.sha256.clone_from(&stored.sha256);
        media.md5.clone_from(&stored.md5);
        media.source_md5.clone_from(&stored.md5);
        let job = Job::Process(media.id.clone(), media.kind);
        self.record(media, job).await
    }

    /// Records a remote-URL upload; a worker fetches it (SSRF-checked
    /// again there, after DNS resolution).
    #[tracing::instrument(skip_all, fields(owner = %self.owner.id, media = %self.id))]
    pub async fn commit_remote(&mut self, url: &url::Url, mut meta: UploadMeta) -> Result<Ingested, ApiError> {
        if self.object.is_some() {
            return Err(ApiError::BadRequest("send either a file or a URL, not both".into()));
        }
        if meta.filename.is_none() {
            meta.filename =
                url.path_segments().and_then(|mut s| s.next_back()).filter(|s| !s.is_empty()).map(str::to_owned);
        }
        let mut media = new_media(self.id.clone(), &self.owner, meta, "bin");
        media.source_url = Some(url.to_string());
        self.record(media, Job::Fetch(self.id.clone())).await
    }

    /// Makes the stored file the media's new current version (see
    /// [`mediaq_shared::repo::VersionRepo::add_version`]) and queues its
    /// processing; the versions pruned past `MEDIAQ_MAX_VERSIONS` lose
    /// their objects.
    #[tracing::instrument(skip_all, fields(owner = %self.owner.id, media = %self.id))]
    pub async fn commit_version(&mut self, name: Option<&str>) -> Result<u32, ApiError> {
        let stored = self.object.as_ref().ok_or(ApiError::EmptySource)?;
        let facts = OriginalFacts {
            kind: stored.kind,
            mime: stored.mime.to_owned(),
            extension: stored.extension.to_owned(),
            size: stored.size,
            key: stored.key.to_string(),
            sha256: stored.sha256.clone(),
            md5: stored.md5.clone(),
            source_md5: stored.md5.clone(),
            version: 0,
        };
        let kind = stored.kind;
        let change = self.state.repo.add_version(&self.id, &facts, name, self.state.config.max_versions).await?;
        let VersionChange::Done { version, unreferenced } = change else { return Err(ApiError::NotFound) };
        // The row points at the object now.
        self.object = None;
        if let Some(r) = self.reservation.take() {
            quota::release(&self.state, &r.id).await;
        }
        crate::lifecycle::remove_objects(&self.state, &unreferenced).await;
        if let Err(e) = self.state.queue.enqueue(Job::Process(self.id.clone(), kind)).await {
            // The stuck sweep queues it again.
            tracing::warn!(error = %e, "new version not queued; the sweep will");
        }
        tracing::info!(version, size = facts.size, "new version recorded");
        Ok(version)
    }

    async fn record(&mut self, media: Media, job: Job) -> Result<Ingested, ApiError> {
        let (secret, hash) = delete_secret();
        self.state.repo.insert_media(&media, Some(&hash)).await?;
        // The row points at the object now: it is the media's, and no
        // cleanup of ours may touch it. Its bytes count as used.
        self.object = None;
        if let Some(r) = self.reservation.take() {
            quota::release(&self.state, &r.id).await;
        }
        if let Err(e) = self.state.queue.enqueue(job).await {
            // Keep the record honest: the row says why nothing will happen.
            let why = "could not be queued for processing";
            match self.state.repo.fail_media(&media.id, why).await {
                Ok(true) => crate::lifecycle::emit(&self.state, &media.id, Some(FileEvent::Failed)).await,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not mark an unqueued media failed"),
            }
            return Err(e.into());
        }
        // The key now names this media for good.
        self.claim = None;
        tracing::info!(size = media.size, mime = %media.mime, "upload recorded");
        Ok(Ingested { media, delete_secret: secret })
    }

    /// Undoes whatever is still held (nothing after a commit), awaited.
    pub async fn settle(&mut self) {
        if let Some(held) = self.take_held() {
            undo(self.state.clone(), held).await;
        }
    }

    fn take_held(&mut self) -> Option<Held> {
        let held = Held {
            owner: self.owner.id,
            reservation: self.reservation.take().map(|r| r.id),
            object: self.object.take().map(|o| o.key),
            claim: self.claim.take(),
        };
        (held.reservation.is_some() || held.object.is_some() || held.claim.is_some()).then_some(held)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(held) = self.take_held() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(undo(self.state.clone(), held));
            }
            // Outside a runtime nothing can be awaited; the sweep collects
            // the object and the reservation expires.
            Err(_) => tracing::warn!(media = %self.id, "an abandoned upload could not be cleaned up"),
        }
    }
}

async fn undo(state: AppState, held: Held) {
    if let Some(key) = held.object
        && let Err(e) = state.storage.delete(&key).await
    {
        tracing::warn!(%key, error = %e, "could not remove the object of an abandoned upload");
    }
    if let Some(id) = held.reservation {
        quota::release(&state, &id).await;
    }
    if let Some(key) = held.claim {
        idempotency::release_key(&state, held.owner, &key).await;
    }
}
