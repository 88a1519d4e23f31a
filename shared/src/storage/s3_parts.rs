//! Multipart uploads on S3, for clients that send parts themselves
//! (presigned `UploadPart` URLs for Uppy) and for tus, which sends parts
//! of at least 5 MiB as they fill up (see the API's `resumable` module).

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};

use super::multipart::StoredPart;
use super::s3::{S3Storage, backend, not_found_or_backend, presigning};
use futures::TryStreamExt;

use super::{BodyStream, ObjectKey, PresignedUrl, StorageError};

fn part_number(number: u32) -> Result<i32, StorageError> {
    i32::try_from(number)
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| StorageError::Backend("part numbers go from 1 to 10000".into()))
}

impl S3Storage {
    pub(super) async fn mp_create(&self, key: &ObjectKey, content_type: &str) -> Result<String, StorageError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| backend(&e))?;
        created.upload_id.ok_or_else(|| StorageError::Backend("no upload id".into()))
    }

    /// The part is held in memory to send it with its length: callers
    /// give parts of a bounded size (tus: one part buffer, given as one
    /// piece, which is sent as it is, without a copy).
    pub(super) async fn mp_upload_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        number: u32,
        body: BodyStream<'_>,
    ) -> Result<StoredPart, StorageError> {
        let mut body = body;
        let first = body.try_next().await.map_err(StorageError::Body)?.unwrap_or_default();
        let bytes = match body.try_next().await.map_err(StorageError::Body)? {
            None => first,
            Some(second) => {
                let mut bytes = BytesMut::from(first);
                bytes.extend_from_slice(&second);
                while let Some(chunk) = body.try_next().await.map_err(StorageError::Body)? {
                    bytes.extend_from_slice(&chunk);
                }
                bytes.freeze()
            }
        };
        let size = bytes.len() as u64;
        let etag = self.mp_send_part(key, upload_id, number, bytes).await?;
        Ok(StoredPart { number, etag, size })
    }

    /// Sends part `number` of `upload_id`; returns its ETag (unquoted).
    pub(super) async fn mp_send_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        number: u32,
        bytes: Bytes,
    ) -> Result<String, StorageError> {
        let done = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .part_number(part_number(number)?)
            .body(SdkBody::from(bytes))
            .send()
            .await
            .map_err(|e| not_found_or_backend(&e))?;
        Ok(done.e_tag.unwrap_or_default().trim_matches('"').to_owned())
    }

    pub(super) async fn mp_list_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(upload_id)
                .set_part_number_marker(marker.take())
                .send()
                .await
                .map_err(|e| not_found_or_backend(&e))?;
            for p in page.parts() {
                parts.push(StoredPart {
                    number: p.part_number().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
                    etag: p.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
                    size: p.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                });
            }
            marker = page.next_part_number_marker().map(str::to_owned);
            if page.is_truncated() != Some(true) || marker.is_none() {
                break;
            }
        }
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    pub(super) async fn mp_complete(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        let mut completed = Vec::with_capacity(parts.len());
        for (number, etag) in parts {
            let etag = format!("\"{}\"", etag.trim_matches('"'));
            completed.push(CompletedPart::builder().part_number(part_number(*number)?).e_tag(etag).build());
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .send()
            .await
            .map_err(|e| backend(&e))?;
        Ok(())
    }

    pub(super) async fn mp_abort(&self, key: &ObjectKey, upload_id: &str) -> Result<(), StorageError> {
        let sent = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) => match not_found_or_backend(&e) {
                StorageError::NotFound => Ok(()),
                StorageError::Backend(detail) if detail.contains("NoSuchUpload") => Ok(()),
                other => Err(other),
            },
        }
    }

    pub(super) async fn mp_presign_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        number: u32,
        ttl: Duration,
    ) -> Result<PresignedUrl, StorageError> {
        let req = self
            .presigner
            .upload_part()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .part_number(part_number(number)?)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| backend(&e))?;
        Ok(PresignedUrl { url: req.uri().to_owned(), expires_at: chrono::Utc::now() + ttl })
    }
}
