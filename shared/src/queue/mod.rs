//! The job queue as the API sees it: typed payloads with stable queue
//! names, pushed through [`JobQueue::enqueue`] behind [`DynQueue`]. The
//! apalis storages (SQLite embedded, Redis in production) are in
//! [`apalis`]; the handlers live in the `workers` crate.
//!
//! Queues (stable names: renaming one strands the jobs in it):
//! `mediaq.fetch` (remote-URL downloads), `mediaq.image` and `mediaq.video`
//! (processing, split so video can run on other machines), `mediaq.purge`
//! (removing a deleted or expired media's objects), `mediaq.webhook`
//! (one attempt of a webhook delivery; a failed one queues the next,
//! delayed).

mod apalis;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::apalis::{HEARTBEAT, MAX_ATTEMPTS, MISSED_HEARTBEATS, Queues, RedisQueues, SqliteQueues};
use crate::domain::{MediaId, MediaKind};
use crate::notify::Signals;

/// Download a remote-URL upload into storage, then queue its processing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRemote {
    pub media_id: MediaId,
}

/// Turn a stored original into a finished media (checksum, probe,
/// variants, facts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessMedia {
    pub media_id: MediaId,
}

/// Remove every object of a deleted or expired media, then its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeMedia {
    pub media_id: MediaId,
}

/// One attempt (`attempt`, from 1) of webhook delivery `delivery_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverWebhook {
    pub delivery_id: String,
    pub attempt: u32,
}

pub const FETCH_QUEUE: &str = "mediaq.fetch";
pub const IMAGE_QUEUE: &str = "mediaq.image";
pub const VIDEO_QUEUE: &str = "mediaq.video";
pub const PURGE_QUEUE: &str = "mediaq.purge";
pub const WEBHOOK_QUEUE: &str = "mediaq.webhook";

/// Every queue, by its stable name.
pub const ALL_QUEUES: [&str; 5] = [FETCH_QUEUE, IMAGE_QUEUE, VIDEO_QUEUE, PURGE_QUEUE, WEBHOOK_QUEUE];

/// A job to push, with what decides its queue.
#[derive(Debug, Clone)]
pub enum Job {
    Fetch(MediaId),
    Process(MediaId, MediaKind),
    Purge(MediaId),
    /// A webhook delivery attempt, run no sooner than after the delay.
    Webhook(DeliverWebhook, std::time::Duration),
}

#[derive(Debug, thiserror::Error)]
#[error("queue: {0}")]
pub struct QueueError(pub String);

#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// `sqlite` or `redis`.
    fn backend(&self) -> &'static str;

    /// Worker wake-ups and media status news ([`crate::notify`]).
    fn signals(&self) -> &Signals;

    async fn enqueue(&self, job: Job) -> Result<(), QueueError>;

    /// Readiness: can jobs be pushed right now?
    async fn check(&self) -> Result<(), QueueError>;

    /// Jobs waiting in each queue (ready or scheduled for later), for
    /// metrics.
    async fn depths(&self) -> Result<Vec<(&'static str, u64)>, QueueError>;
}

pub type DynQueue = Arc<dyn JobQueue>;
