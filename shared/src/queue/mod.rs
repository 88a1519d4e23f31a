//! The job queue as the API sees it: typed payloads with stable queue
//! names and one `enqueue` per job, behind [`DynQueue`]. The apalis
//! storages (SQLite embedded, Redis in production) are in [`apalis`];
//! the handlers live in the `workers` crate.

mod apalis;

pub use self::apalis::{HEARTBEAT, MAX_ATTEMPTS, MISSED_HEARTBEATS, POLL_INTERVAL, Queues};

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::MediaId;

/// Turn a stored original into a finished media (probe, variants, facts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessMedia {
    pub media_id: MediaId,
}

impl ProcessMedia {
    /// Stable queue name: renaming it strands queued jobs.
    pub const QUEUE: &'static str = "mediaq.process";
}

#[derive(Debug, thiserror::Error)]
#[error("queue: {0}")]
pub struct QueueError(pub String);

#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// `sqlite` or `redis`.
    fn backend(&self) -> &'static str;

    async fn enqueue_process(&self, job: ProcessMedia) -> Result<(), QueueError>;

    /// Readiness: can jobs be pushed right now?
    async fn check(&self) -> Result<(), QueueError>;
}

pub type DynQueue = Arc<dyn JobQueue>;
