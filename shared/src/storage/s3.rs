//! Objects in an S3-compatible bucket via aws-sdk-s3 (AWS, MinIO, s3s…).
//!
//! Uploads of unknown length go up as a multipart upload in parts of
//! [`PART_SIZE`], so memory per upload is one part whatever the file size;
//! bodies smaller than one part go up in a single PUT. A failed body aborts
//! the multipart upload, leaving no object.
//!
//! Request checksums are only computed when an operation requires them:
//! the SDK's default trailing CRC (aws-chunked bodies) is not understood by
//! every S3-compatible server, and presigned URLs must sign nothing the
//! client does not send.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as SdkBody;
use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
use tokio_util::io::ReaderStream;

use super::multipart::StoredPart;
use super::{
    BodyStream, ByteRange, ListedObject, ObjectBody, ObjectKey, ObjectStream, PresignedUrl, Storage, StorageError,
};
use crate::config::S3Config;
use crate::domain::MediaId;

/// Size of one multipart part (S3 requires at least 5 MiB but the last).
const PART_SIZE: usize = 8 * 1024 * 1024;

/// The largest object one `CopyObject` copies (S3's limit: 5 GiB).
const COPY_SINGLE_MAX: u64 = 5 * 1024 * 1024 * 1024;
/// Part size of a multipart copy beyond that.
const COPY_PART_SIZE: u64 = 512 * 1024 * 1024;

pub struct S3Storage {
    pub(super) client: Client,
    /// Signs presigned URLs with the endpoint clients reach
    /// (`MEDIAQ_S3_PUBLIC_ENDPOINT`); the same as `client` without one.
    pub(super) presigner: Client,
    pub(super) bucket: String,
}

impl S3Storage {
    pub async fn new(config: &S3Config) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(config.region.clone()));
        if let (Some(ak), Some(sk)) = (&config.access_key, &config.secret_key) {
            loader =
                loader.credentials_provider(Credentials::new(ak.expose(), sk.expose(), None, None, "mediaq-config"));
        }
        let shared = loader.load().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(config.path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        let client = Client::from_conf(builder.clone().build());
        let presigner = match &config.public_endpoint {
            Some(public) => Client::from_conf(builder.endpoint_url(public).build()),
            None => client.clone(),
        };
        Self { client, presigner, bucket: config.bucket.clone() }
    }

    /// A server-side copy of an object larger than one `CopyObject` may
    /// take, as a multipart upload of `UploadPartCopy` ranges; aborted on
    /// failure, so no partial object is left.
    async fn copy_multipart(&self, from: &ObjectKey, to: &ObjectKey, size: u64) -> Result<(), StorageError> {
        let upload_id = self.mp_create(to, "application/octet-stream").await?;
        let source = format!("{}/{}", self.bucket, from.as_str());
        let copied = async {
            let mut parts = Vec::new();
            let mut start = 0u64;
            while start < size {
                let end = (start + COPY_PART_SIZE).min(size) - 1;
                let number = u32::try_from(parts.len() + 1).unwrap_or(u32::MAX);
                let out = self
                    .client
                    .upload_part_copy()
                    .bucket(&self.bucket)
                    .key(to.as_str())
                    .upload_id(&upload_id)
                    .part_number(i32::try_from(number).unwrap_or(i32::MAX))
                    .copy_source(&source)
                    .copy_source_range(format!("bytes={start}-{end}"))
                    .send()
                    .await
                    .map_err(|e| not_found_or_backend(&e))?;
                parts.push((number, out.copy_part_result.and_then(|r| r.e_tag).unwrap_or_default()));
                start = end + 1;
            }
            self.mp_complete(to, &upload_id, &parts).await
        };
        let result: Result<(), StorageError> = copied.await;
        if result.is_err()
            && let Err(e) = self.mp_abort(to, &upload_id).await
        {
            tracing::warn!(key = %to, error = %e, "could not abort a multipart copy");
        }
        result
    }

    async fn put_single(&self, key: &ObjectKey, bytes: Bytes, content_type: &str) -> Result<(), StorageError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(SdkBody::from(bytes))
            .send()
            .await
            .map_err(|e| backend(&e))?;
        Ok(())
    }

    /// Sends every part of `body` after `first`; returns the parts
    /// (number, ETag) and the size.
    async fn put_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        first: Bytes,
        mut body: BodyStream<'_>,
    ) -> Result<(Vec<(u32, String)>, u64), StorageError> {
        let mut parts = Vec::new();
        let mut total = 0u64;
        let mut pending = Some(first);
        let mut buf = BytesMut::with_capacity(PART_SIZE);
        loop {
            let part = match pending.take() {
                Some(p) => p,
                None => match fill(&mut body, &mut buf).await? {
                    Some(p) => p,
                    None => break,
                },
            };
            total += part.len() as u64;
            let number = u32::try_from(parts.len() + 1).map_err(|_| StorageError::Backend("too many parts".into()))?;
            let etag = self.mp_send_part(key, upload_id, number, part).await?;
            parts.push((number, etag));
        }
        Ok((parts, total))
    }
}

/// Reads from `body` until `buf` holds a full part or the body ends;
/// `None` when nothing was left.
async fn fill(body: &mut BodyStream<'_>, buf: &mut BytesMut) -> Result<Option<Bytes>, StorageError> {
    while buf.len() < PART_SIZE {
        match body.try_next().await.map_err(StorageError::Body)? {
            Some(chunk) => buf.extend_from_slice(&chunk),
            None => break,
        }
    }
    if buf.is_empty() { Ok(None) } else { Ok(Some(buf.split().freeze())) }
}

#[async_trait]
impl Storage for S3Storage {
    fn backend(&self) -> &'static str {
        "s3"
    }

    async fn put(&self, key: &ObjectKey, mut body: BodyStream<'_>, content_type: &str) -> Result<u64, StorageError> {
        let mut buf = BytesMut::with_capacity(PART_SIZE);
        let first = fill(&mut body, &mut buf).await?.unwrap_or_default();
        if first.len() < PART_SIZE {
            let len = first.len() as u64;
            self.put_single(key, first, content_type).await?;
            return Ok(len);
        }
        let upload_id = self.mp_create(key, content_type).await?;
        let sent = self.put_parts(key, &upload_id, first, body).await;
        let done = match sent {
            Ok((parts, total)) => self.mp_complete(key, &upload_id, &parts).await.map(|()| total),
            Err(e) => Err(e),
        };
        if done.is_err()
            && let Err(abort_err) = self.mp_abort(key, &upload_id).await
        {
            tracing::warn!(key = %key, error = %abort_err, "could not abort multipart upload");
        }
        done
    }

    async fn get(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ObjectBody, StorageError> {
        let mut req = self.client.get_object().bucket(&self.bucket).key(key.as_str());
        if let Some(r) = range {
            let header = match r.end {
                Some(end) => format!("bytes={}-{end}", r.start),
                None => format!("bytes={}-", r.start),
            };
            req = req.range(header);
        }
        let out = req.send().await.map_err(|e| not_found_or_backend(&e))?;
        let len = out.content_length.and_then(|l| u64::try_from(l).ok()).unwrap_or(0);
        let (total, served) = match out.content_range.as_deref().and_then(parse_content_range) {
            Some((start, end, total)) => (total, Some((start, end))),
            None => (len, None),
        };
        let stream = Box::pin(ReaderStream::with_capacity(out.body.into_async_read(), 64 * 1024));
        Ok(ObjectBody { stream, len, total, range: if range.is_some() { served } else { None } })
    }

    async fn size(&self, key: &ObjectKey) -> Result<u64, StorageError> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| not_found_or_backend(&e))?;
        Ok(out.content_length.and_then(|l| u64::try_from(l).ok()).unwrap_or(0))
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        // S3 answers 204 for a missing key too, so deletes are idempotent.
        self.client.delete_object().bucket(&self.bucket).key(key.as_str()).send().await.map_err(|e| backend(&e))?;
        Ok(())
    }

    async fn delete_media(&self, media: &MediaId) -> Result<(), StorageError> {
        let prefix = ObjectKey::media_prefix(media);
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| backend(&e))?;
            // One DELETE per object: a media has a handful, and DeleteObjects
            // needs a Content-MD5 not every S3-compatible server checks alike.
            for key in page.contents().iter().filter_map(|o| o.key()) {
                self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(|e| backend(&e))?;
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                return Ok(());
            }
        }
    }

    async fn presign_put(&self, key: &ObjectKey, ttl: Duration) -> Result<PresignedUrl, StorageError> {
        let config = presigning(ttl)?;
        let req = self
            .presigner
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .presigned(config)
            .await
            .map_err(|e| backend(&e))?;
        Ok(PresignedUrl { url: req.uri().to_owned(), expires_at: chrono::Utc::now() + ttl })
    }

    async fn presign_upload(&self, key: &ObjectKey, ttl: Duration, size: u64) -> Result<PresignedUrl, StorageError> {
        let config = presigning(ttl)?;
        let length = i64::try_from(size).map_err(|_| StorageError::Backend("size out of range".into()))?;
        // An explicit Content-Length is signed (X-Amz-SignedHeaders=
        // content-length;host): S3 refuses a body of any other size.
        let req = self
            .presigner
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_length(length)
            .presigned(config)
            .await
            .map_err(|e| backend(&e))?;
        Ok(PresignedUrl { url: req.uri().to_owned(), expires_at: chrono::Utc::now() + ttl })
    }

    async fn rename(&self, from: &ObjectKey, to: &ObjectKey) -> Result<(), StorageError> {
        // S3 has no rename: a server-side copy (multipart past 5 GiB), then delete.
        self.copy(from, to).await?;
        self.delete(from).await
    }

    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<u64, StorageError> {
        let size = self.size(from).await?;
        if size <= COPY_SINGLE_MAX {
            self.client
                .copy_object()
                .bucket(&self.bucket)
                .copy_source(format!("{}/{}", self.bucket, from.as_str()))
                .key(to.as_str())
                .send()
                .await
                .map_err(|e| not_found_or_backend(&e))?;
            return Ok(size);
        }
        self.copy_multipart(from, to, size).await?;
        Ok(size)
    }

    async fn presign_get(&self, key: &ObjectKey, ttl: Duration) -> Result<PresignedUrl, StorageError> {
        let config = presigning(ttl)?;
        let req = self
            .presigner
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            // Signed GETs are downloads: never shown inline by a browser.
            .response_content_disposition("attachment")
            .presigned(config)
            .await
            .map_err(|e| backend(&e))?;
        Ok(PresignedUrl { url: req.uri().to_owned(), expires_at: chrono::Utc::now() + ttl })
    }

    async fn check(&self) -> Result<(), StorageError> {
        self.client.head_bucket().bucket(&self.bucket).send().await.map_err(|e| backend(&e))?;
        Ok(())
    }

    fn list(&self, prefix: &str) -> ObjectStream {
        let pages = Pages {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            prefix: prefix.to_owned(),
            token: None,
            done: false,
            page: VecDeque::new(),
        };
        Box::pin(futures::stream::try_unfold(pages, Pages::next))
    }

    async fn remove_stale_partials(&self, _before: chrono::DateTime<chrono::Utc>) -> Result<u64, StorageError> {
        // Nothing is written beside the objects; see the trait.
        Ok(0)
    }

    async fn create_multipart(&self, key: &ObjectKey, content_type: &str) -> Result<String, StorageError> {
        self.mp_create(key, content_type).await
    }

    async fn upload_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        number: u32,
        body: BodyStream<'_>,
    ) -> Result<StoredPart, StorageError> {
        self.mp_upload_part(key, upload_id, number, body).await
    }

    async fn list_parts(&self, key: &ObjectKey, upload_id: &str) -> Result<Vec<StoredPart>, StorageError> {
        self.mp_list_parts(key, upload_id).await
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        self.mp_complete(key, upload_id, parts).await
    }

    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), StorageError> {
        self.mp_abort(key, upload_id).await
    }

    async fn presign_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        number: u32,
        ttl: Duration,
    ) -> Result<PresignedUrl, StorageError> {
        self.mp_presign_part(key, upload_id, number, ttl).await
    }
}

/// A `ListObjectsV2` walk for [`Storage::list`]: one page (at most 1,000
/// keys) in memory at a time, the next asked for with its continuation
/// token.
struct Pages {
    client: Client,
    bucket: String,
    prefix: String,
    token: Option<String>,
    done: bool,
    page: VecDeque<ListedObject>,
}

impl Pages {
    async fn next(mut self) -> Result<Option<(ListedObject, Self)>, StorageError> {
        loop {
            if let Some(object) = self.page.pop_front() {
                return Ok(Some((object, self)));
            }
            if self.done {
                return Ok(None);
            }
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .set_continuation_token(self.token.take())
                .send()
                .await
                .map_err(|e| backend(&e))?;
            self.page.extend(page.contents().iter().filter_map(|o| {
                Some(ListedObject {
                    key: o.key()?.to_owned(),
                    size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    // An object without a date counts as new: never collected.
                    modified: o
                        .last_modified()
                        .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
                        .unwrap_or_else(chrono::Utc::now),
                })
            }));
            self.token = page.next_continuation_token().map(str::to_owned);
            self.done = self.token.is_none();
        }
    }
}

pub(super) fn presigning(ttl: Duration) -> Result<PresigningConfig, StorageError> {
    PresigningConfig::expires_in(ttl).map_err(|e| StorageError::Backend(e.to_string()))
}

/// `bytes 0-99/1234` → `(0, 99, 1234)`.
fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let (range, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    Some((start.parse().ok()?, end.parse().ok()?, total.parse().ok()?))
}

pub(super) fn backend<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    err: &SdkError<E, R>,
) -> StorageError {
    let detail = match err.code() {
        Some(code) => format!("{code}: {}", err.message().unwrap_or("")),
        None => aws_smithy_types::error::display::DisplayErrorContext(err).to_string(),
    };
    StorageError::Backend(detail)
}

pub(super) fn not_found_or_backend<E>(err: &SdkError<E, HttpResponse>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match status {
        Some(404) => StorageError::NotFound,
        Some(416) => StorageError::InvalidRange,
        _ => backend(err),
    }
}
