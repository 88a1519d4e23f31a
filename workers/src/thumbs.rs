//! [`Thumbnailer`]: the workers' image pipeline behind the shared
//! [`ThumbRenderer`] seam, so the API renders thumbnails by size on first
//! request without depending on this crate (the binary wires it in).
//!
//! The source is read as the jobs read originals (a bounded probed head;
//! a JPEG up to its EOI in memory, anything else through a temporary
//! file), then decoded and resized on the blocking pool, at most one
//! render per core at once.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use mediaq_shared::config::Config;
use mediaq_shared::storage::{DynStorage, ObjectKey};
use mediaq_shared::thumbs::{ThumbError, ThumbImage, ThumbRenderer, ThumbSpec};

use crate::error::JobError;
use crate::media::probe::{Format, Limits};
use crate::media::sized;
use crate::media::source::Source;
use crate::original;

pub struct Thumbnailer {
    storage: DynStorage,
    limits: Limits,
    cpu: Arc<Semaphore>,
}

impl Thumbnailer {
    pub fn new(config: &Config, storage: DynStorage) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let limits = Limits { max_pixels: config.max_pixels, max_frames: config.max_frames };
        Self { storage, limits, cpu: Arc::new(Semaphore::new(cores)) }
    }

    async fn cpu<F>(&self, f: F) -> Result<ThumbImage, ThumbError>
    where
        F: FnOnce() -> Result<crate::media::Rendered, crate::media::MediaError> + Send + 'static,
    {
        let _permit = self.cpu.acquire().await.map_err(|_| ThumbError::Failed("shutting down".into()))?;
        match tokio::task::spawn_blocking(f).await {
            Ok(Ok(r)) => Ok(ThumbImage {
                bytes: r.bytes,
                mime: r.mime,
                extension: r.extension,
                width: r.width,
                height: r.height,
            }),
            Ok(Err(crate::media::MediaError::Io(e))) => Err(ThumbError::Failed(e)),
            Ok(Err(e)) => Err(ThumbError::Unusable(e.to_string())),
            Err(_) => Err(ThumbError::Unusable("the image could not be decoded (decoder crashed)".into())),
        }
    }
}

fn job_error(e: JobError) -> ThumbError {
    match e {
        JobError::Permanent(why) => ThumbError::Unusable(why),
        other => ThumbError::Failed(other.to_string()),
    }
}

#[async_trait]
impl ThumbRenderer for Thumbnailer {
    async fn render(&self, source: &ObjectKey, spec: ThumbSpec) -> Result<ThumbImage, ThumbError> {
        let limits = self.limits;
        let head = original::probe_head(&self.storage, source, limits).await.map_err(job_error)?;
        if head.probe.format == Format::Jpeg {
            let (primary, total) = original::read_jpeg(&self.storage, source, head).await.map_err(job_error)?;
            return self.cpu(move || sized::render(&Source::jpeg_primary(&primary, total), limits, spec)).await;
        }
        let (tmp, total) = original::download(&self.storage, source).await.map_err(job_error)?;
        self.cpu(move || sized::render(&Source::file(&head.bytes, tmp.path(), total), limits, spec)).await
    }
}
