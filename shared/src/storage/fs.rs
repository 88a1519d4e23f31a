//! Objects as files under a root directory (the embedded default).
//!
//! Writes go to a temporary file beside the objects and are renamed into
//! place once complete, so a reader never sees half an object and a failed
//! upload leaves nothing. Presigned URLs point at the API's own
//! `/_storage/{key}` route, HMAC-signed by [`UrlSigner`].
//!
//! Durability: `put` returns only once the object survives a power cut:
//! the file is fsynced before the rename, every directory it creates is
//! fsynced into its parent, and the object's directory is fsynced after
//! the rename (a rename is a change to the directory, not to the file).

use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::fs::{self, File};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::in_place::{self, Unsynced};
use super::multipart::{self, PARTS_DIR, PartialWrite, StoredPart};
use super::{
    BodyStream, ByteRange, ListedObject, ObjectBody, ObjectKey, ObjectStream, PresignedUrl, Storage, StorageError,
};
use crate::domain::{MediaId, random_token};
use crate::signing::UrlSigner;

/// The API route that serves presigned requests for this backend.
pub const SIGNED_ROUTE: &str = "/_storage/";

/// The API route that takes presigned part uploads for this backend
/// (`{PARTS_ROUTE}{upload id}/{part number}`).
pub const PARTS_ROUTE: &str = "/_multipart/";

pub struct FsStorage {
    root: PathBuf,
    public_url: String,
    signer: UrlSigner,
}

impl FsStorage {
    pub async fn open(root: PathBuf, public_url: String, signer: UrlSigner) -> io::Result<Self> {
        fs::create_dir_all(root.join(TMP_DIR)).await?;
        fs::create_dir_all(root.join(PARTS_DIR)).await?;
        sync_dir(&root).await?;
        if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent).await?;
        }
        Ok(Self { root, public_url, signer })
    }

    /// Creates `dir` and its missing parents below the root, fsyncing each
    /// one's parent so the new entries are durable. A directory another
    /// writer created first is synced too: its writer may not have yet.
    async fn create_dirs(&self, dir: &Path) -> io::Result<()> {
        let mut missing = Vec::new();
        let mut at = dir;
        while at != self.root && at.starts_with(&self.root) && !fs::try_exists(at).await? {
            missing.push(at);
            let Some(parent) = at.parent() else { break };
            at = parent;
        }
        for new in missing.into_iter().rev() {
            match fs::create_dir(new).await {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
            if let Some(parent) = new.parent() {
                sync_dir(parent).await?;
            }
        }
        Ok(())
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        // ObjectKey only holds `media/{id}/{name}` shapes, never `..`.
        self.root.join(key.as_str())
    }

    fn presign(&self, method: &str, key: &ObjectKey, ttl: Duration, size: Option<u64>) -> PresignedUrl {
        let expires_at = chrono::Utc::now() + ttl;
        let path = format!("{SIGNED_ROUTE}{key}");
        let query = match size {
            Some(size) => self.signer.sign_sized(method, &path, expires_at, size),
            None => self.signer.sign(method, &path, expires_at),
        };
        PresignedUrl { url: format!("{}{path}?{query}", self.public_url), expires_at }
    }

    /// Renames a finished temporary file into place, durably; removes it
    /// when that fails. Deleting a media removes its whole folder, which
    /// may happen between making the folder and the rename: the folder is
    /// made again (a put racing a delete ends like a put followed by the
    /// delete, as on S3, never in an error).
    async fn place(&self, tmp: &Path, dest: &Path) -> Result<(), StorageError> {
        let parent = dest.parent().unwrap_or(&self.root);
        let placed = async {
            let mut attempts = 0;
            loop {
                let placed = match self.create_dirs(parent).await {
                    Ok(()) => fs::rename(tmp, dest).await,
                    Err(e) => Err(e),
                };
                match placed {
                    Err(e) if e.kind() == io::ErrorKind::NotFound && attempts < 5 => attempts += 1,
                    placed => break placed?,
                }
            }
            match sync_dir(parent).await {
                // Removed with its media since: nothing left to make durable.
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                synced => synced,
            }
        };
        if let Err(e) = placed.await {
            let _ = fs::remove_file(tmp).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// Writes `body` to a new file at `tmp`, durably, through the same
    /// writer as writes in place (`in_place`: aligned buffers, direct I/O
    /// past the first 8 MiB, write-back of the rest started as it
    /// arrives, so the closing `fdatasync` finds little left to write).
    async fn write_new(&self, tmp: &Path, body: BodyStream<'_>) -> Result<u64, StorageError> {
        match in_place::write_at(tmp, 0, body).await {
            Ok(unsynced) => unsynced.sync().await,
            Err(partial) => Err(partial.error),
        }
    }
}

#[async_trait]
impl Storage for FsStorage {
    fn backend(&self) -> &'static str {
        "fs"
    }

    async fn put(&self, key: &ObjectKey, body: BodyStream<'_>, _content_type: &str) -> Result<u64, StorageError> {
        let dest = self.path(key);
        let tmp = self.root.join(TMP_DIR).join(random_token(16));
        let written = match self.write_new(&tmp, body).await {
            Ok(n) => n,
            Err(e) => {
                let _ = fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        self.place(&tmp, &dest).await?;
        Ok(written)
    }

    async fn get(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ObjectBody, StorageError> {
        let mut file = File::open(self.path(key)).await.map_err(not_found)?;
        let total = file.metadata().await?.len();
        let Some(range) = range else {
            let stream = Box::pin(ReaderStream::with_capacity(file, 64 * 1024));
            return Ok(ObjectBody { stream, len: total, total, range: None });
        };
        let (start, end) = range.resolve(total)?;
        file.seek(SeekFrom::Start(start)).await?;
        let len = end - start + 1;
        let stream = Box::pin(ReaderStream::with_capacity(file.take(len), 64 * 1024));
        Ok(ObjectBody { stream, len, total, range: Some((start, end)) })
    }

    async fn size(&self, key: &ObjectKey) -> Result<u64, StorageError> {
        Ok(fs::metadata(self.path(key)).await.map_err(not_found)?.len())
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        let path = self.path(key);
        match fs::remove_file(&path).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        // Drop the media's directory once it is empty; a non-empty one stays.
        if let Some(dir) = path.parent() {
            let _ = fs::remove_dir(dir).await;
        }
        Ok(())
    }

    async fn delete_media(&self, media: &MediaId) -> Result<(), StorageError> {
        match fs::remove_dir_all(self.root.join(ObjectKey::media_prefix(media))).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn presign_put(&self, key: &ObjectKey, ttl: Duration) -> Result<PresignedUrl, StorageError> {
        Ok(self.presign("PUT", key, ttl, None))
    }

    async fn presign_upload(&self, key: &ObjectKey, ttl: Duration, size: u64) -> Result<PresignedUrl, StorageError> {
        Ok(self.presign("PUT", key, ttl, Some(size)))
    }

    async fn rename(&self, from: &ObjectKey, to: &ObjectKey) -> Result<(), StorageError> {
        let dest = self.path(to);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).await?;
        }
        // One rename(2): atomic, and of two concurrent movers one fails
        // with NotFound.
        fs::rename(self.path(from), &dest).await.map_err(not_found)
    }

    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<u64, StorageError> {
        let (src, tmp) = (self.path(from), self.root.join(TMP_DIR).join(random_token(16)));
        let target = tmp.clone();
        // std::fs::copy lets the kernel move the bytes (copy_file_range):
        // nothing of the object passes through our memory.
        let copied = tokio::task::spawn_blocking(move || -> io::Result<u64> {
            let n = std::fs::copy(&src, &target)?;
            std::fs::File::open(&target)?.sync_all()?;
            Ok(n)
        })
        .await
        .map_err(|e| StorageError::Io(io::Error::other(e)))?;
        match copied {
            Ok(n) => {
                self.place(&tmp, &self.path(to)).await?;
                Ok(n)
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp).await;
                Err(not_found(e))
            }
        }
    }

    async fn presign_get(&self, key: &ObjectKey, ttl: Duration) -> Result<PresignedUrl, StorageError> {
        Ok(self.presign("GET", key, ttl, None))
    }

    async fn check(&self) -> Result<(), StorageError> {
        let probe = self.root.join(TMP_DIR).join(format!("ready-{}", random_token(8)));
        fs::write(&probe, b"ok").await?;
        fs::remove_file(&probe).await?;
        Ok(())
    }

    fn list(&self, prefix: &str) -> ObjectStream {
        if prefix.split('/').any(|part| part == ".." || part.starts_with('.')) || prefix.starts_with('/') {
            return Box::pin(futures::stream::empty());
        }
        // Start in the deepest directory the prefix names whole.
        let start = prefix.rfind('/').map_or(String::new(), |i| prefix[..=i].to_owned());
        let walk = Walk { root: self.root.clone(), prefix: prefix.to_owned(), start: Some(start), open: Vec::new() };
        Box::pin(futures::stream::try_unfold(walk, Walk::next))
    }

    async fn remove_stale_partials(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        let mut removed = 0;
        let mut dir = fs::read_dir(self.root.join(TMP_DIR)).await?;
        while let Some(entry) = dir.next_entry().await? {
            let Ok(meta) = entry.metadata().await else { continue };
            if !meta.is_file() || DateTime::<Utc>::from(meta.modified()?) >= before {
                continue;
            }
            match fs::remove_file(entry.path()).await {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(removed)
    }

    async fn create_multipart(&self, _key: &ObjectKey, _content_type: &str) -> Result<String, StorageError> {
        let id = random_token(32);
        let dir = multipart::upload_dir(&self.root, &id)?;
        fs::create_dir_all(&dir).await?;
        Ok(id)
    }

    async fn upload_part(
        &self,
        _key: &ObjectKey,
        upload_id: &str,
        number: u32,
        body: BodyStream<'_>,
    ) -> Result<StoredPart, StorageError> {
        let dir = multipart::upload_dir(&self.root, upload_id)?;
        if !fs::try_exists(&dir).await? {
            return Err(StorageError::NotFound);
        }
        let tmp = self.root.join(TMP_DIR).join(random_token(16));
        let (size, etag) = match multipart::write_part(&tmp, body).await {
            Ok(done) => done,
            Err(e) => {
                let _ = fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        // A part sent again replaces the earlier one with its number.
        for (old, path) in multipart::read_parts(&dir).await? {
            if old.number == number && old.etag != etag {
                let _ = fs::remove_file(path).await;
            }
        }
        if let Err(e) = fs::rename(&tmp, dir.join(multipart::part_name(number, &etag))).await {
            let _ = fs::remove_file(&tmp).await;
            return Err(not_found(e));
        }
        sync_dir(&dir).await?;
        Ok(StoredPart { number, etag, size })
    }

    async fn list_parts(&self, _key: &ObjectKey, upload_id: &str) -> Result<Vec<StoredPart>, StorageError> {
        let dir = multipart::upload_dir(&self.root, upload_id)?;
        Ok(multipart::read_parts(&dir).await?.into_iter().map(|(p, _)| p).collect())
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        let dir = multipart::upload_dir(&self.root, upload_id)?;
        let files = multipart::chosen_parts(&dir, parts).await?;
        self.put(key, multipart::concat(files), "application/octet-stream").await?;
        fs::remove_dir_all(&dir).await?;
        Ok(())
    }

    async fn abort_multipart(&self, _key: &ObjectKey, upload_id: &str) -> Result<(), StorageError> {
        let dir = multipart::upload_dir(&self.root, upload_id)?;
        match fs::remove_dir_all(dir).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn presign_part(
        &self,
        _key: &ObjectKey,
        upload_id: &str,
        number: u32,
        ttl: Duration,
    ) -> Result<PresignedUrl, StorageError> {
        multipart::upload_dir(&self.root, upload_id)?;
        let expires_at = chrono::Utc::now() + ttl;
        let path = format!("{PARTS_ROUTE}{upload_id}/{number}");
        let query = self.signer.sign("PUT", &path, expires_at);
        Ok(PresignedUrl { url: format!("{}{path}?{query}", self.public_url), expires_at })
    }

    fn writes_in_place(&self) -> bool {
        true
    }

    async fn write_at(&self, key: &ObjectKey, offset: u64, body: BodyStream<'_>) -> Result<Unsynced, PartialWrite> {
        let path = self.path(key);
        let parent = path.parent().unwrap_or(&self.root).to_owned();
        let fresh = offset == 0;
        if fresh && let Err(e) = self.create_dirs(&parent).await {
            return Err(PartialWrite { written: 0, error: e.into() });
        }
        let written = in_place::write_at(&path, offset, body).await;
        // A new file is an entry of its directory: make that durable too.
        if fresh && let Err(e) = sync_dir(&parent).await {
            return Err(PartialWrite { written: 0, error: e.into() });
        }
        written
    }
}

/// Where writes in progress live until they are renamed into place.
const TMP_DIR: &str = ".tmp";

/// Makes the entries of `dir` (files created, renamed in or removed)
/// durable.
async fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).await?.sync_all().await
}

/// A depth-first walk under the root for [`Storage::list`]: at most one
/// open directory per level, so memory does not grow with the number of
/// objects.
struct Walk {
    root: PathBuf,
    prefix: String,
    /// The directory to open first (relative, ending in `/` or empty).
    start: Option<String>,
    /// Open directories and their keys' prefixes, deepest last.
    open: Vec<(fs::ReadDir, String)>,
}

impl Walk {
    async fn next(mut self) -> Result<Option<(ListedObject, Self)>, StorageError> {
        if let Some(start) = self.start.take() {
            match fs::read_dir(self.root.join(&start)).await {
                Ok(dir) => self.open.push((dir, start)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        while let Some((dir, rel)) = self.open.last_mut() {
            let Some(entry) = dir.next_entry().await? else {
                self.open.pop();
                continue;
            };
            // Hidden names (the temporary directory) and names that are not
            // UTF-8 are never ours.
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| !n.starts_with('.')) else { continue };
            let key = format!("{rel}{name}");
            let Ok(kind) = entry.file_type().await else { continue };
            if kind.is_dir() {
                let below = format!("{key}/");
                if below.starts_with(&self.prefix) || self.prefix.starts_with(&below) {
                    match fs::read_dir(entry.path()).await {
                        Ok(dir) => self.open.push((dir, below)),
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            } else if kind.is_file() && key.starts_with(&self.prefix) {
                let meta = match entry.metadata().await {
                    Ok(meta) => meta,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                };
                let modified = DateTime::<Utc>::from(meta.modified()?);
                return Ok(Some((ListedObject { key, size: meta.len(), modified }, self)));
            }
        }
        Ok(None)
    }
}

fn not_found(e: io::Error) -> StorageError {
    if e.kind() == io::ErrorKind::NotFound { StorageError::NotFound } else { StorageError::Io(e) }
}
