//! `FetchRemote`: download a remote-URL upload into storage (SSRF-checked
//! after DNS resolution, on every redirect; size and time capped while
//! streaming), hashing it on the way, then queue its processing.
//!
//! Idempotent: the object key depends only on the media id and the sniffed
//! type, and a media already fetched only has its processing re-queued.
//! Its writes are guarded like processing's: an owner's rename meanwhile
//! keeps its name, and a media deleted meanwhile loses the fetched object.

use futures::StreamExt;

use mediaq_shared::domain::{Media, sniff_any};
use mediaq_shared::fetch::{FetchError, FetchPolicy, fetch};
use mediaq_shared::queue::{FetchRemote, Job};
use mediaq_shared::repo::OriginalFacts;
use mediaq_shared::storage::{BodyStream, Md5, ObjectKey, is_over_limit, put_hashed, read_head};

use crate::env::Env;
use crate::error::JobError;

const SNIFF_LEN: usize = 512;

#[tracing::instrument(skip_all, fields(media = %job.media_id))]
pub async fn run(job: &FetchRemote, env: &Env) -> Result<(), JobError> {
    let Some(media) = super::start(env, &job.media_id).await? else { return Ok(()) };
    if !media.original_key.is_empty() {
        // Fetched before a crash: only the hand-over is left.
        if !env.repo.record_fetched(&media.id, &OriginalFacts::of(&media), None).await? {
            return super::stopped(env, &media.id).await;
        }
        env.emit(&media.id, None).await;
        return enqueue_processing(env, &media.id, media.kind).await;
    }
    match fetch_original(&media, env).await {
        Err(JobError::Stopped) => super::stopped(env, &media.id).await,
        other => other,
    }
}

/// Downloads the source into the media's original key and records it
/// (`processing → queued`), then queues processing.
async fn fetch_original(media: &Media, env: &Env) -> Result<(), JobError> {
    let url = media.source_url.clone().ok_or_else(|| JobError::Permanent("the media has no source URL".into()))?;
    let limit = env.config.max_upload_bytes;
    let policy = FetchPolicy {
        allow_private: env.config.fetch_allow_private,
        max_bytes: limit,
        total_timeout: env.config.fetch_timeout,
        ..FetchPolicy::default()
    };
    let fetched = fetch(&url, &policy).await.map_err(|e| fetch_error(&url, &e))?;
    let mut body = fetched.stream;
    let head = read_head(&mut body, SNIFF_LEN).await.map_err(|e| JobError::Retryable(format!("reading {url}: {e}")))?;
    if head.is_empty() {
        return Err(JobError::Permanent(format!("{url} answered with an empty body")));
    }
    // Any file type (kind `file` for what is neither image nor video);
    // the Chevereto route refuses files itself once the fetch settles.
    let (mime, extension, kind) = sniff_any(&head);
    if !env.config.allowed_types.allows(mime) {
        return Err(JobError::Permanent(format!("{url} is of type {mime}, which MEDIAQ_ALLOWED_TYPES does not allow")));
    }
    let key = ObjectKey::original(&media.id, extension);
    let whole: BodyStream<'_> = Box::pin(futures::stream::once(async { Ok(head) }).chain(body));
    let hashed = match put_hashed(&env.storage, &key, whole, mime, limit, Md5::Yes).await {
        Ok(h) => h,
        Err(e) if is_over_limit(&e) => {
            return Err(JobError::Permanent(format!("{url} is larger than the limit of {limit} bytes")));
        }
        Err(e) => return Err(JobError::Retryable(format!("fetching {url}: {e}"))),
    };
    let original = OriginalFacts {
        kind,
        mime: mime.to_owned(),
        extension: extension.to_owned(),
        size: hashed.size,
        key: key.to_string(),
        sha256: Some(hashed.sha256),
        md5: hashed.md5.clone(),
        source_md5: hashed.md5,
        version: media.version,
    };
    // The served file name, unless the owner renamed the media meanwhile.
    let name = fetched.filename.filter(|n| !n.is_empty());
    let rename = name.as_deref().map(|n| (media.original_filename.as_str(), n));
    if !env.repo.record_fetched(&media.id, &original, rename).await? {
        return Err(JobError::Stopped);
    }
    env.emit(&media.id, None).await;
    tracing::info!(size = original.size, mime = %original.mime, "remote source fetched");
    enqueue_processing(env, &media.id, kind).await
}

async fn enqueue_processing(
    env: &Env,
    id: &mediaq_shared::domain::MediaId,
    kind: mediaq_shared::domain::MediaKind,
) -> Result<(), JobError> {
    env.queue.enqueue(Job::Process(id.clone(), kind)).await.map_err(|e| JobError::Retryable(e.to_string()))
}

fn fetch_error(url: &str, e: &FetchError) -> JobError {
    let reason = format!("could not fetch {url}: {e}");
    if e.is_permanent() { JobError::Permanent(reason) } else { JobError::Retryable(reason) }
}
