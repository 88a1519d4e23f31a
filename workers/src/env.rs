//! The environment every job shares: configuration, backends, and the
//! semaphore that bounds CPU-heavy work (decoding, resizing), which runs
//! on the blocking pool so it never stalls the async workers.

use std::sync::Arc;

use tokio::sync::Semaphore;

use mediaq_shared::config::Config;
use mediaq_shared::queue::DynQueue;
use mediaq_shared::repo::DynRepo;
use mediaq_shared::storage::DynStorage;

use crate::error::JobError;

#[derive(Clone)]
pub struct Env {
    pub config: Arc<Config>,
    pub repo: DynRepo,
    pub storage: DynStorage,
    /// For jobs that queue the next step (a fetch queues processing).
    pub queue: DynQueue,
    cpu: Arc<Semaphore>,
    /// When this process last looked for orphaned objects.
    pub(crate) orphan_walks: crate::jobs::orphans::WalkClock,
}

impl Env {
    pub fn new(config: Arc<Config>, repo: DynRepo, storage: DynStorage, queue: DynQueue) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self { config, repo, storage, queue, cpu: Arc::new(Semaphore::new(cores)), orphan_walks: Default::default() }
    }

    /// Media `id` changed status: tells waiters, live streams and webhooks
    /// ([`mediaq_shared::events`]).
    pub async fn emit(&self, id: &mediaq_shared::domain::MediaId, event: Option<mediaq_shared::events::FileEvent>) {
        let to = mediaq_shared::events::Emitter { queue: self.queue.as_ref(), repo: &self.repo };
        mediaq_shared::events::emit(to, id, event).await;
    }

    /// Runs `f` on the blocking pool once a core is free. A panic inside
    /// (a decoder bug on hostile input) becomes a permanent failure of the
    /// one media instead of taking the worker down.
    pub async fn cpu<T, F>(&self, f: F) -> Result<T, JobError>
    where
        F: FnOnce() -> Result<T, JobError> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.cpu.acquire().await.map_err(|_| JobError::Retryable("worker is shutting down".into()))?;
        match tokio::task::spawn_blocking(f).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => {
                Err(JobError::Permanent("the file could not be decoded (decoder crashed)".into()))
            }
            Err(e) => Err(JobError::Retryable(e.to_string())),
        }
    }
}
