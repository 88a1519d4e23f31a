//! The multipart contract of every Storage backend (fs, S3), one body of
//! assertions: parts stored, listed with their ETags, a part sent again
//! replaces the earlier one, completion joins them in order (parts under
//! 5 MiB but the last refused), abort removes everything; and the file
//! system store's writes in place (tus): offset, cut-off of unrecorded
//! bytes, a body that fails part way keeps what arrived.

use bytes::Bytes;
use mediaq_shared::domain::MediaId;
use mediaq_shared::signing::UrlSigner;
use mediaq_shared::storage::{self, DynStorage, ObjectKey, StorageError, collect, stream_of};
use mediaq_tests::{free_port, production_env};

use crate::contracts::{config, embedded};

const MIB: usize = 1024 * 1024;

async fn read(storage: &DynStorage, key: &ObjectKey) -> Vec<u8> {
    collect(storage.get(key, None).await.unwrap().stream).await.unwrap()
}

async fn multipart_contract(storage: DynStorage) {
    let id = MediaId::generate();
    let key = ObjectKey::assembled(&id);
    let upload = storage.create_multipart(&key, "application/octet-stream").await.unwrap();
    let one = vec![1u8; 5 * MIB];
    let two = vec![2u8; 1000];
    let first = storage.upload_part(&key, &upload, 1, stream_of(Bytes::from(vec![9u8; 5 * MIB]))).await.unwrap();
    // Sent again: replaces the earlier part 1.
    let again = storage.upload_part(&key, &upload, 1, stream_of(Bytes::from(one.clone()))).await.unwrap();
    assert_ne!(first.etag, again.etag);
    let last = storage.upload_part(&key, &upload, 2, stream_of(Bytes::from(two.clone()))).await.unwrap();
    let listed = storage.list_parts(&key, &upload).await.unwrap();
    assert_eq!(listed.iter().map(|p| (p.number, p.size)).collect::<Vec<_>>(), vec![(1, 5 * MIB as u64), (2, 1000)]);
    assert!(matches!(storage.size(&key).await, Err(StorageError::NotFound)), "visible before completion");
    let parts = vec![(1, format!("\"{}\"", again.etag)), (2, last.etag.clone())];
    storage.complete_multipart(&key, &upload, &parts).await.unwrap();
    assert_eq!(read(&storage, &key).await, [one.as_slice(), two.as_slice()].concat());

    // A short part that is not the last is refused.
    let other = ObjectKey::assembled(&MediaId::generate());
    let small = storage.create_multipart(&other, "application/octet-stream").await.unwrap();
    let a = storage.upload_part(&other, &small, 1, stream_of(Bytes::from(vec![3u8; 100]))).await.unwrap();
    let b = storage.upload_part(&other, &small, 2, stream_of(Bytes::from(vec![4u8; 100]))).await.unwrap();
    assert!(storage.complete_multipart(&other, &small, &[(1, a.etag), (2, b.etag)]).await.is_err());
    // Abort: gone. (s3s-fs forgets an upload whose completion failed and
    // answers AccessDenied for unknown ones, so a fresh upload is aborted.)
    let dropped = storage.create_multipart(&other, "application/octet-stream").await.unwrap();
    storage.upload_part(&other, &dropped, 1, stream_of(Bytes::from(vec![5u8; 100]))).await.unwrap();
    storage.abort_multipart(&other, &dropped).await.unwrap();
    assert!(matches!(storage.size(&other).await, Err(StorageError::NotFound)));
    assert!(storage.list_parts(&other, &dropped).await.map(|p| p.is_empty()).unwrap_or(true), "parts survived");
    let presigned = storage.presign_part(&key, &upload, 1, std::time::Duration::from_secs(60)).await.unwrap();
    assert!(presigned.url.starts_with("http"));
}

#[tokio::test]
async fn multipart_contract_fs() {
    let dir = tempfile::tempdir().unwrap();
    let config = embedded(dir.path(), free_port());
    let signer = UrlSigner::new(mediaq_shared::config::Secret::new("contract-test-secret"));
    let storage = storage::connect(&config, signer).await.unwrap();
    multipart_contract(storage.clone()).await;
    assert!(storage.writes_in_place());
    let key = ObjectKey::assembled(&MediaId::generate());
    assert_eq!(storage.write_at(&key, 0, stream_of(&b"hello wor"[..])).await.unwrap().sync().await.unwrap(), 9);
    // Bytes past the recorded offset (a writer that died) are cut off.
    assert_eq!(storage.write_at(&key, 6, stream_of(&b"world"[..])).await.unwrap().sync().await.unwrap(), 5);
    assert_eq!(read(&storage, &key).await, b"hello world");
    // A body that fails part way keeps what arrived.
    let failing: storage::BodyStream<'static> =
        Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(b"!!")), Err(std::io::Error::other("client gone"))]));
    let partial = storage.write_at(&key, 11, failing).await.unwrap_err();
    assert_eq!(partial.written, 2);
    assert_eq!(read(&storage, &key).await, b"hello world!!");
    // An offset past the stored bytes is refused.
    assert!(storage.write_at(&key, 100, stream_of(&b"x"[..])).await.is_err());
}

#[tokio::test]
async fn multipart_contract_s3() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&production_env(dir.path()).await);
    let signer = UrlSigner::new(mediaq_shared::config::Secret::new("contract-test-secret"));
    let storage = storage::connect(&config, signer).await.unwrap();
    assert!(!storage.writes_in_place());
    multipart_contract(storage).await;
}
