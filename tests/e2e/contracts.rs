//! Contract tests: one body of assertions per trait, run against every
//! backend (Repo: SQLite and PostgreSQL; Storage: fs and S3).

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::TimeDelta;
use mediaq_shared::config::Config;
use mediaq_shared::domain::{Media, MediaId, MediaKind, MediaStatus, Role, Variant, VariantKind};
use mediaq_shared::repo::{self, DynRepo, OriginalFacts, OwnerEdit, Processed, RepoError, now};
use mediaq_shared::signing::UrlSigner;
use mediaq_shared::storage::{self, ByteRange, DynStorage, ObjectKey, StorageError, collect, stream_of};
use mediaq_tests::{free_port, production_env};

pub(crate) fn config(pairs: &BTreeMap<String, String>) -> Config {
    Config::from_map(pairs).unwrap()
}

pub(crate) fn embedded(dir: &std::path::Path, port: u16) -> Config {
    config(&BTreeMap::from([
        ("MEDIAQ_DATA_DIR".to_owned(), dir.display().to_string()),
        ("MEDIAQ_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
    ]))
}

fn sample_media(owner: mediaq_shared::domain::UserId, at: chrono::DateTime<chrono::Utc>) -> Media {
    let id = MediaId::generate();
    Media {
        original_key: ObjectKey::original(&id, "png").to_string(),
        id,
        owner_id: owner,
        status: MediaStatus::Queued,
        error: None,
        kind: MediaKind::Image,
        mime: "image/png".into(),
        extension: "png".into(),
        original_filename: "a b.png".into(),
        title: Some("T".into()),
        description: None,
        tags: vec!["x".into(), "y z".into()],
        album_id: None,
        category_id: Some("3".into()),
        nsfw: true,
        is_public: false,
        size: 1234,
        width: None,
        height: None,
        duration_ms: None,
        is_animated: false,
        sha256: Some("ab".repeat(32)),
        md5: Some("cd".repeat(16)),
        source_md5: Some("cd".repeat(16)),
        exif: None,
        resize_width: Some(640),
        views: 0,
        created_at: at,
        updated_at: at,
        expires_at: Some(at + TimeDelta::days(3)),
        source_url: None,
        public_token: None,
        use_file_date: true,
        version: 1,
        version_name: None,
        version_at: None,
        downloads: 0,
        trashed_at: None,
    }
}

/// Targeted writes: each touches its own columns, status changes apply only
/// from the expected state, and `deleted` / `expired` always win.
async fn media_writes_contract(repo: &DynRepo, owner: mediaq_shared::domain::UserId) {
    let m = sample_media(owner, now() - TimeDelta::seconds(10));
    repo.insert_media(&m, None).await.unwrap();
    let token = "a".repeat(32);
    let public = OwnerEdit {
        name: Some("new.png".into()),
        title: Some(None),
        public: Some(true),
        new_token: token.clone(),
        ..Default::default()
    };
    assert!(repo.edit_media(&m.id, &public).await.unwrap());
    let again = OwnerEdit { public: Some(true), new_token: "b".repeat(32), ..Default::default() };
    assert!(repo.edit_media(&m.id, &again).await.unwrap());
    let back = repo.media(&m.id).await.unwrap();
    assert_eq!((back.original_filename.as_str(), back.title.as_deref()), ("new.png", None));
    assert_eq!((back.is_public, back.public_token), (true, Some(token)), "a public media keeps its token");
    assert_eq!((back.tags, back.category_id), (m.tags.clone(), m.category_id.clone()), "untouched columns stay");

    assert_eq!(repo.start_job(&m.id).await.unwrap(), Some(1));
    assert_eq!(repo.start_job(&m.id).await.unwrap(), Some(2), "every delivery is counted");
    let private = OwnerEdit { public: Some(false), title: Some(Some("Mine".into())), ..Default::default() };
    assert!(repo.edit_media(&m.id, &private).await.unwrap(), "the owner edits while processing");
    let mut done = Processed::of(&m, Some(now() - TimeDelta::days(400)));
    (done.width, done.height, done.duration_ms) = (Some(4000), Some(3000), Some(12_345));
    done.exif = Some(serde_json::json!({"Make": "Canon"}));
    done.original.size = 99;
    let thumb = Variant {
        kind: VariantKind::Thumb,
        key: format!("media/{}/thumb.jpg", m.id),
        mime: "image/jpeg".into(),
        extension: "jpg".into(),
        width: 160,
        height: 120,
        size: 5,
    };
    assert!(repo.finish_processing(&m.id, &done, std::slice::from_ref(&thumb)).await.unwrap());
    assert_eq!(repo.variants(&m.id).await.unwrap(), vec![thumb.clone()], "the variants come with ready");
    let back = repo.media(&m.id).await.unwrap();
    assert_eq!(
        (back.status, back.width, back.height, back.duration_ms),
        (MediaStatus::Ready, Some(4000), Some(3000), Some(12_345))
    );
    assert_eq!((back.exif, back.size, back.created_at), (done.exif.clone(), 99, done.taken_at.unwrap()));
    assert_eq!(
        (back.is_public, back.public_token, back.title.as_deref()),
        (false, None, Some("Mine")),
        "finishing keeps the edit"
    );
    assert!(!repo.finish_processing(&m.id, &done, &[]).await.unwrap(), "only from processing");
    assert!(!repo.fail_media(&m.id, "late").await.unwrap(), "a ready media does not fail");
    assert_eq!(repo.start_job(&m.id).await.unwrap(), None, "a settled media is not started again");
    assert!(matches!(repo.edit_media(&MediaId::generate(), &again).await, Ok(false)));

    let failing = sample_media(owner, now());
    repo.insert_media(&failing, None).await.unwrap();
    assert!(repo.fail_media(&failing.id, "broken").await.unwrap());
    let back = repo.media(&failing.id).await.unwrap();
    assert_eq!((back.status, back.error.as_deref()), (MediaStatus::Failed, Some("broken")));

    // Retired always wins: nothing moves a media out of `deleted`.
    let gone = sample_media(owner, now());
    repo.insert_media(&gone, None).await.unwrap();
    assert_eq!(repo.start_job(&gone.id).await.unwrap(), Some(1));
    assert!(repo.retire_media(&gone.id, MediaStatus::Deleted).await.unwrap());
    let facts = OriginalFacts::of(&gone);
    assert_eq!(repo.start_job(&gone.id).await.unwrap(), None);
    assert!(!repo.finish_processing(&gone.id, &done, std::slice::from_ref(&thumb)).await.unwrap());
    assert!(repo.variants(&gone.id).await.unwrap().is_empty(), "no variant row without ready");
    assert!(!repo.fail_media(&gone.id, "x").await.unwrap());
    assert!(!repo.edit_media(&gone.id, &public).await.unwrap());
    assert!(!repo.replace_original(&gone.id, &facts).await.unwrap());
    assert!(!repo.record_fetched(&gone.id, &facts, None).await.unwrap());
    assert!(!repo.clear_expired_original(&gone.id).await.unwrap(), "only an expired tombstone loses its key");
    assert_eq!(repo.media(&gone.id).await.unwrap().status, MediaStatus::Deleted);

    // A remote fetch: processing → queued, the delivery count reset, and
    // an owner's rename meanwhile kept.
    let mut remote = sample_media(owner, now());
    (remote.original_key, remote.source_url) = (String::new(), Some("https://example.com/a".into()));
    repo.insert_media(&remote, None).await.unwrap();
    assert_eq!(repo.start_job(&remote.id).await.unwrap(), Some(1));
    let before = now() + TimeDelta::seconds(1);
    let stuck = repo.stuck_media(before, 100).await.unwrap();
    let found = stuck.iter().find(|s| s.id == remote.id).expect("an unsettled media is listed as stuck");
    assert!(found.needs_fetch && found.attempts == 1 && found.status == MediaStatus::Processing, "{found:?}");
    assert!(stuck.iter().all(|s| s.id != m.id && s.id != gone.id), "settled and retired media are not stuck");
    assert!(repo.claim_stuck(&remote.id, before).await.unwrap());
    let renamed = OwnerEdit { name: Some("mine.png".into()), ..Default::default() };
    assert!(repo.edit_media(&remote.id, &renamed).await.unwrap());
    let fetched = OriginalFacts { key: "media/r/original.jpg".into(), mime: "image/jpeg".into(), ..facts };
    assert!(repo.record_fetched(&remote.id, &fetched, Some(("a b.png", "served.jpg"))).await.unwrap());
    let back = repo.media(&remote.id).await.unwrap();
    assert_eq!(
        (back.status, back.original_key.as_str(), back.original_filename.as_str()),
        (MediaStatus::Queued, "media/r/original.jpg", "mine.png")
    );
    assert_eq!(repo.start_job(&remote.id).await.unwrap(), Some(1), "processing counts its own deliveries");
    assert!(repo.fail_media(&remote.id, "done with it").await.unwrap());
    assert!(repo.retire_media(&remote.id, MediaStatus::Expired).await.unwrap());
    assert!(repo.clear_expired_original(&remote.id).await.unwrap());
    assert_eq!(repo.media(&remote.id).await.unwrap().original_key, "");
    for id in [&m.id, &failing.id, &gone.id, &remote.id] {
        repo.delete_media(id).await.unwrap();
    }
}

async fn repo_contract(repo: DynRepo) {
    repo.migrate().await.unwrap();
    repo.migrate().await.expect("migrations are idempotent");
    repo.ping().await.unwrap();

    let alice = repo.ensure_user("alice", Role::User).await.unwrap();
    assert_eq!(repo.ensure_user("alice", Role::User).await.unwrap().id, alice.id);
    assert_eq!(repo.ensure_user("alice", Role::Admin).await.unwrap().role, Role::Admin);
    let bob = repo.ensure_user("bob", Role::User).await.unwrap();
    assert_ne!(alice.id, bob.id);

    let key = repo.insert_api_key(bob.id, Some("laptop"), "mq_abc", &"f".repeat(64)).await.unwrap();
    let (user, found) = repo.user_by_key_hash(&"f".repeat(64)).await.unwrap();
    assert_eq!((user.id, found.id, found.label.as_deref()), (bob.id, key.id, Some("laptop")));
    assert!(matches!(repo.user_by_key_hash(&"0".repeat(64)).await, Err(RepoError::NotFound)));
    assert!(matches!(repo.insert_api_key(bob.id, None, "mq_abc", &"f".repeat(64)).await, Err(RepoError::Conflict(_))));

    let first = sample_media(bob.id, now() - TimeDelta::seconds(10));
    repo.insert_media(&first, Some("secret-hash")).await.unwrap();
    let back = repo.media(&first.id).await.unwrap();
    assert_eq!(format!("{back:?}"), format!("{first:?}"), "a media reads back exactly as written");
    assert!(matches!(repo.insert_media(&first, None).await, Err(RepoError::Conflict(_))));
    assert!(matches!(repo.media(&MediaId::generate()).await, Err(RepoError::NotFound)));

    media_writes_contract(&repo, bob.id).await;
    repo.add_view(&first.id).await.unwrap();
    repo.add_view(&first.id).await.unwrap();
    assert_eq!(repo.media(&first.id).await.unwrap().views, 2);

    let second = sample_media(bob.id, now());
    repo.insert_media(&second, None).await.unwrap();
    let listed: Vec<MediaId> = repo.list_media(bob.id, 0, 10).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(listed, vec![second.id.clone(), first.id.clone()], "newest first");
    assert_eq!(repo.list_media(bob.id, 1, 10).await.unwrap().len(), 1);
    assert!(repo.list_media(alice.id, 0, 10).await.unwrap().is_empty(), "only the owner's media");

    let thumb = Variant {
        kind: VariantKind::Thumb,
        key: "k1".into(),
        mime: "image/jpeg".into(),
        extension: "jpg".into(),
        width: 160,
        height: 160,
        size: 10,
    };
    assert!(!repo.put_variant(&first.id, &thumb).await.unwrap(), "variants only while processing");
    assert_eq!(repo.start_job(&first.id).await.unwrap(), Some(1));
    assert!(repo.put_variant(&first.id, &thumb).await.unwrap());
    let again = Variant { size: 11, key: "k2".into(), ..thumb.clone() };
    assert!(repo.put_variant(&first.id, &again).await.unwrap());
    let medium = Variant { kind: VariantKind::Medium, width: 500, height: 375, ..thumb };
    assert!(repo.put_variant(&first.id, &medium).await.unwrap());
    let variants = repo.variants(&first.id).await.unwrap();
    assert_eq!(variants.len(), 2);
    assert!(variants.contains(&again), "a second put replaces the first");
    assert!(repo.variants(&second.id).await.unwrap().is_empty());

    // Expiry: only live media past their expiry are due; retiring is a
    // claim exactly one caller wins.
    let mut due = sample_media(bob.id, now() - TimeDelta::hours(1));
    due.expires_at = Some(now() - TimeDelta::minutes(1));
    due.public_token = Some("t".repeat(32));
    due.source_url = Some("https://example.com/a.png".into());
    repo.insert_media(&due, None).await.unwrap();
    assert_eq!(repo.media(&due.id).await.unwrap().public_token, due.public_token);
    let expired: Vec<MediaId> = repo.expired_media(now(), 10).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(expired, vec![due.id.clone()]);
    assert!(repo.retire_media(&due.id, MediaStatus::Expired).await.unwrap());
    assert!(!repo.retire_media(&due.id, MediaStatus::Expired).await.unwrap(), "a second sweeper loses");
    assert!(repo.expired_media(now(), 10).await.unwrap().is_empty());
    assert_eq!(repo.retired_media(10).await.unwrap(), vec![due.id.clone()]);
    assert_eq!(repo.count_media(bob.id).await.unwrap(), 2, "retired media are not counted");
    repo.delete_media(&first.id).await.unwrap();
    assert!(matches!(repo.media(&first.id).await, Err(RepoError::NotFound)));
    assert!(repo.variants(&first.id).await.unwrap().is_empty());

    // Presigned uploads and idempotency keys.
    let upload = mediaq_shared::domain::Upload {
        id: MediaId::generate(),
        owner_id: bob.id,
        name: "x.jpg".into(),
        content_type: "image/jpeg".into(),
        size_bytes: 42,
        object_key: "media/x/upload".into(),
        created_at: now() - TimeDelta::hours(2),
        expires_at: now() - TimeDelta::hours(1),
    };
    repo.insert_upload(&upload).await.unwrap();
    assert_eq!(repo.upload(&upload.id).await.unwrap(), upload);
    assert_eq!(repo.expired_uploads(now(), 10).await.unwrap(), vec![upload.clone()]);
    repo.delete_upload(&upload.id).await.unwrap();
    assert!(matches!(repo.upload(&upload.id).await, Err(RepoError::NotFound)));
    // Completing claims the upload and inserts the media at once, once.
    let mut done = sample_media(bob.id, now());
    repo.insert_upload(&mediaq_shared::domain::Upload { id: done.id.clone(), ..upload.clone() }).await.unwrap();
    done.owner_id = alice.id;
    assert!(!repo.complete_upload(&done, None).await.unwrap(), "another owner's upload");
    done.owner_id = bob.id;
    assert!(repo.complete_upload(&done, Some("h")).await.unwrap());
    assert!(!repo.complete_upload(&done, Some("h")).await.unwrap(), "completed twice");
    assert_eq!(repo.media(&done.id).await.unwrap().status, MediaStatus::Queued);
    assert!(matches!(repo.upload(&done.id).await, Err(RepoError::NotFound)));
    assert!(repo.fail_media(&done.id, "why").await.unwrap());
    assert_eq!(repo.media(&done.id).await.unwrap().error.as_deref(), Some("why"));
    repo.claim_idempotency_key(bob.id, "k", &second.id).await.unwrap();
    assert!(matches!(repo.claim_idempotency_key(bob.id, "k", &first.id).await, Err(RepoError::Conflict(_))));
    repo.claim_idempotency_key(alice.id, "k", &first.id).await.expect("keys are per owner");
    repo.store_idempotent_response(bob.id, "k", "{}").await.unwrap();
    assert_eq!(repo.idempotent_result(bob.id, "k").await.unwrap(), Some((second.id.clone(), Some("{}".into()))));
    repo.release_idempotency_key(bob.id, "k").await.unwrap();
    assert_eq!(repo.idempotent_result(bob.id, "k").await.unwrap(), None);
}

#[tokio::test]
async fn repo_contract_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    repo_contract(repo::connect(&embedded(dir.path(), 8080)).await.unwrap()).await;
}

#[tokio::test]
async fn repo_contract_postgres() {
    let dir = tempfile::tempdir().unwrap();
    repo_contract(repo::connect(&config(&production_env(dir.path()).await)).await.unwrap()).await;
}

/// A stream of `n` chunks of `size` bytes, each filled with its index.
fn chunks(n: u8, size: usize) -> (storage::BodyStream<'static>, Vec<u8>) {
    let parts: Vec<Bytes> = (0..n).map(|i| Bytes::from(vec![i; size])).collect();
    let all = parts.concat();
    (Box::pin(futures::stream::iter(parts.into_iter().map(Ok))), all)
}

/// `id` names the media whose objects the contract writes (the fs caller
/// opens a presigned upload for it: its PUT route takes open uploads only).
async fn storage_contract(storage: DynStorage, id: MediaId) {
    storage.check().await.unwrap();
    let key = ObjectKey::original(&id, "bin");
    // 9 MiB in 1 MiB chunks: more than one multipart part on S3.
    let (body, expected) = chunks(9, 1024 * 1024);
    assert_eq!(storage.put(&key, body, "application/octet-stream").await.unwrap(), expected.len() as u64);
    assert_eq!(storage.size(&key).await.unwrap(), expected.len() as u64);
    let whole = storage.get(&key, None).await.unwrap();
    assert_eq!((whole.len, whole.total, whole.range), (expected.len() as u64, expected.len() as u64, None));
    assert!(collect(whole.stream).await.unwrap() == expected);

    let part = storage.get(&key, Some(ByteRange { start: 1_048_570, end: Some(1_048_579) })).await.unwrap();
    assert_eq!((part.len, part.total, part.range), (10, expected.len() as u64, Some((1_048_570, 1_048_579))));
    assert_eq!(collect(part.stream).await.unwrap(), expected[1_048_570..=1_048_579]);
    let tail = storage.get(&key, Some(ByteRange { start: expected.len() as u64 - 3, end: None })).await.unwrap();
    assert_eq!(collect(tail.stream).await.unwrap(), expected[expected.len() - 3..]);
    assert!(matches!(
        storage.get(&key, Some(ByteRange { start: 1 << 40, end: None })).await,
        Err(StorageError::InvalidRange)
    ));

    // A failing body leaves nothing, even after a full part went up.
    let broken_key = ObjectKey::original(&MediaId::generate(), "bin");
    let broken = futures::stream::iter(vec![
        Ok(Bytes::from(vec![1u8; 9 * 1024 * 1024])),
        Err(io::Error::other("client went away")),
    ]);
    assert!(matches!(storage.put(&broken_key, Box::pin(broken), "x/y").await, Err(StorageError::Body(_))));
    assert!(matches!(storage.size(&broken_key).await, Err(StorageError::NotFound)));
    assert!(matches!(storage.get(&broken_key, None).await, Err(StorageError::NotFound)));

    // Small objects, replaced in place.
    let small = ObjectKey::variant(&id, VariantKind::Thumb, "jpg");
    storage.put(&small, stream_of(&b"first"[..]), "image/jpeg").await.unwrap();
    storage.put(&small, stream_of(&b"second"[..]), "image/jpeg").await.unwrap();
    assert_eq!(collect(storage.get(&small, None).await.unwrap().stream).await.unwrap(), b"second");

    // Presigned PUT with a bare client (no signed headers), then GET.
    let http = reqwest::Client::new();
    let up_key = ObjectKey::upload(&id);
    let put_url = storage.presign_put(&up_key, Duration::from_secs(300)).await.unwrap();
    assert!(put_url.expires_at > chrono::Utc::now());
    let res = http.put(&put_url.url).body(b"presigned bytes".to_vec()).send().await.unwrap();
    assert!(res.status().is_success(), "presigned PUT: {} {}", res.status(), res.text().await.unwrap());
    assert_eq!(storage.size(&up_key).await.unwrap(), 15);
    let get_url = storage.presign_get(&up_key, Duration::from_secs(300)).await.unwrap();
    let res = http.get(&get_url.url).send().await.unwrap();
    assert!(res.status().is_success(), "presigned GET: {}", res.status());
    assert_eq!(res.bytes().await.unwrap(), &b"presigned bytes"[..]);
    // A signature for GET does not allow a PUT, and a tampered one fails.
    let res = http.put(&get_url.url).body("evil").send().await.unwrap();
    assert!(res.status().is_client_error(), "PUT with a GET signature: {}", res.status());
    let tampered = put_url.url.replace("upload", "original.png");
    let res = http.put(&tampered).body("evil").send().await.unwrap();
    assert!(res.status().is_client_error(), "PUT to another key: {}", res.status());

    // A rename moves the object; a second one finds nothing to move.
    let moved = ObjectKey::original(&id, "moved");
    storage.rename(&up_key, &moved).await.unwrap();
    assert!(matches!(storage.size(&up_key).await, Err(StorageError::NotFound)));
    assert_eq!(collect(storage.get(&moved, None).await.unwrap().stream).await.unwrap(), b"presigned bytes");
    assert!(matches!(storage.rename(&up_key, &moved).await, Err(StorageError::NotFound)));
    storage.delete(&moved).await.unwrap();

    for k in [&key, &up_key] {
        storage.delete(k).await.unwrap();
        storage.delete(k).await.expect("deleting twice is fine");
        assert!(matches!(storage.size(k).await, Err(StorageError::NotFound)));
    }

    // Purging a media removes everything under it, and nothing else.
    let other = ObjectKey::original(&MediaId::generate(), "png");
    storage.put(&other, stream_of(&b"keep me"[..]), "image/png").await.unwrap();
    let medium = ObjectKey::variant(&id, VariantKind::Medium, "png");
    storage.put(&medium, stream_of(&b"m"[..]), "image/png").await.unwrap();
    storage.delete_media(&id).await.unwrap();
    storage.delete_media(&id).await.expect("purging twice is fine");
    for k in [&small, &medium] {
        assert!(matches!(storage.size(k).await, Err(StorageError::NotFound)), "{k} survived the purge");
    }
    assert_eq!(storage.size(&other).await.unwrap(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_contract_fs() {
    // The embedded backend's presigned URLs are served by the API itself.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = Arc::new(embedded(dir.path(), port));
    let signer = UrlSigner::new(mediaq_shared::config::Secret::new("contract-test-secret"));
    let storage = storage::connect(&config, signer.clone()).await.unwrap();
    let repo = repo::connect(&config).await.unwrap();
    repo.migrate().await.unwrap();
    let queue: mediaq_shared::queue::DynQueue = Arc::new(mediaq_shared::queue::Queues::connect(&config).await.unwrap());
    let id = MediaId::generate();
    let owner = repo.ensure_user("contract", Role::User).await.unwrap();
    let upload = mediaq_shared::domain::Upload {
        id: id.clone(),
        owner_id: owner.id,
        name: "p.bin".into(),
        content_type: "application/octet-stream".into(),
        size_bytes: 15,
        object_key: ObjectKey::upload(&id).to_string(),
        created_at: now(),
        expires_at: now() + TimeDelta::hours(1),
    };
    repo.insert_upload(&upload).await.unwrap();
    let renderer = std::sync::Arc::new(mediaq_workers::thumbs::Thumbnailer::new(&config, storage.clone()));
    let thumbs = mediaq_api::thumbnails::Thumbs::new(renderer);
    let state = mediaq_api::AppState { config: config.clone(), repo, storage: storage.clone(), queue, signer, thumbs };
    let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
    tokio::spawn(mediaq_api::serve(listener, state, std::future::pending()));
    storage_contract(storage, id).await;
}

#[tokio::test]
async fn storage_contract_s3() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&production_env(dir.path()).await);
    let signer = UrlSigner::new(mediaq_shared::config::Secret::new("contract-test-secret"));
    storage_contract(storage::connect(&config, signer).await.unwrap(), MediaId::generate()).await;
}

/// `list` and `remove_stale_partials`: every object under a prefix, with
/// its size and date, across more than one S3 page (1,000 keys).
async fn storage_list_contract(storage: DynStorage) {
    use futures::{StreamExt, TryStreamExt};
    let listed = |prefix: String| {
        let storage = storage.clone();
        async move {
            let mut all: Vec<storage::ListedObject> = storage.list(&prefix).try_collect().await.unwrap();
            all.sort_by(|a, b| a.key.cmp(&b.key));
            all
        }
    };
    let before = chrono::Utc::now() - TimeDelta::seconds(5);
    let many = MediaId::generate();
    let keys: Vec<ObjectKey> = (0..1005).map(|i| ObjectKey::original(&many, &format!("e{i:04}"))).collect();
    futures::stream::iter(keys.iter().map(|k| storage.put(k, stream_of(&b"xyz"[..]), "application/octet-stream")))
        .buffer_unordered(16)
        .try_collect::<Vec<u64>>()
        .await
        .unwrap();
    let other = MediaId::generate();
    let thumb = ObjectKey::variant(&other, VariantKind::Thumb, "jpg");
    storage.put(&thumb, stream_of(&b"thumbnail"[..]), "image/jpeg").await.unwrap();
    let after = chrono::Utc::now() + TimeDelta::seconds(5);

    let under_many = listed(ObjectKey::media_prefix(&many)).await;
    assert_eq!(
        under_many.iter().map(|o| o.key.clone()).collect::<Vec<_>>(),
        keys.iter().map(|k| k.to_string()).collect::<Vec<_>>()
    );
    assert!(under_many.iter().all(|o| o.size == 3 && o.modified > before && o.modified < after), "{:?}", under_many[0]);
    let everything = listed("media/".into()).await;
    assert_eq!(everything.len(), 1006);
    assert!(everything.iter().any(|o| o.key == thumb.as_str() && o.size == 9));
    assert_eq!(listed(String::new()).await.len(), 1006, "temporary files are not objects");
    assert!(listed(ObjectKey::media_prefix(&MediaId::generate())).await.is_empty());
    let partial_prefix = format!("media/{}", &other.as_str()[..4]);
    let by_partial = listed(partial_prefix.clone()).await;
    assert!(by_partial.iter().any(|o| o.key == thumb.as_str()), "a prefix may end mid-name");
    assert!(by_partial.iter().all(|o| o.key.starts_with(&partial_prefix)));

    // Nothing is in flight: stale partials may go, objects never.
    storage.remove_stale_partials(chrono::Utc::now() + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(listed("media/".into()).await.len(), 1006);
    storage.delete_media(&many).await.unwrap();
    assert_eq!(
        listed("media/".into()).await.iter().map(|o| o.key.clone()).collect::<Vec<_>>(),
        vec![thumb.to_string()]
    );
}

#[tokio::test]
async fn storage_list_contract_fs() {
    let dir = tempfile::tempdir().unwrap();
    let config = embedded(dir.path(), free_port());
    let signer = UrlSigner::new(mediaq_shared::config::Secret::new("contract-test-secret"));
    let storage = storage::connect(&config, signer).await.unwrap();
    // A write that never finished: not listed, removed as stale.
    let partial = dir.path().join("objects/.tmp/partial");
    std::fs::write(&partial, b"half").unwrap();
    storage_list_contract(storage.clone()).await;
    assert!(!partial.exists(), "a stale temporary file survived");
    let young = dir.path().join("objects/.tmp/young");
    std::fs::write(&young, b"in flight").unwrap();
    assert_eq!(storage.remove_stale_partials(chrono::Utc::now() - TimeDelta::minutes(1)).await.unwrap(), 0);
    assert!(young.exists(), "a write in flight was removed");
}

#[tokio::test]
async fn storage_list_contract_s3() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&production_env(dir.path()).await);
    let signer = UrlSigner::new(mediaq_shared::config::Secret::new("contract-test-secret"));
    storage_list_contract(storage::connect(&config, signer).await.unwrap()).await;
}
