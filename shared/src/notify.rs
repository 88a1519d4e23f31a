//! Push, not poll: wake-ups for idle workers when a job is queued, and news
//! of a media's status change for whoever waits on it (the Chevereto
//! upload answered after processing, the SSE stream of a file).
//!
//! In one process (`mediaq all`) both go through memory at once. Across
//! processes (`mediaq serve` + `mediaq work`) they go through Redis
//! pub/sub: a push is published on [`WAKE_CHANNEL`] (apalis' Redis storage
//! publishes its own `available` message only for jobs it re-queues: a new
//! job always enters its scheduled set, which workers only look at when
//! they poll), and status changes on [`STATUS_CHANNEL`]. A lost message (Redis
//! restarting, a subscriber reconnecting) costs only latency: workers
//! still poll every [`SAFETY_POLL`], and waiters read the database as
//! often.
//!
//! Redis pub/sub channels are shared by every database index of a server:
//! another installation's messages on the same server only cause a
//! spurious wake-up (a worker looks for a job, a waiter re-reads a row).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use tokio::sync::broadcast;

use crate::domain::MediaId;

/// How often workers look for jobs and waiters re-read the database when
/// no message came: the safety net under the push.
pub const SAFETY_POLL: Duration = Duration::from_secs(1);

/// The Redis channel status changes are published on (payload: media id).
pub const STATUS_CHANNEL: &str = "mediaq:status";

/// The Redis channel job pushes are published on (payload: queue name).
pub const WAKE_CHANNEL: &str = "mediaq:wake";

/// Wake-ups and status news of one process. Cheap to share (`Arc`).
pub struct Signals {
    wakers: Mutex<HashMap<String, Vec<mpsc::Sender<()>>>>,
    status: broadcast::Sender<MediaId>,
    redis: Option<redis::aio::ConnectionManager>,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals").field("redis", &self.redis.is_some()).finish_non_exhaustive()
    }
}

impl Signals {
    /// Signals of one process only (the embedded SQLite queue).
    pub fn local() -> Arc<Self> {
        Arc::new(Self { wakers: Mutex::default(), status: broadcast::channel(1024).0, redis: None })
    }

    /// Signals shared through the Redis server at `client`: publishes on
    /// `conn`, and subscribes in a background task that reconnects after
    /// an outage.
    pub fn redis(client: redis::Client, conn: redis::aio::ConnectionManager) -> Arc<Self> {
        let signals =
            Arc::new(Self { wakers: Mutex::default(), status: broadcast::channel(1024).0, redis: Some(conn) });
        tokio::spawn(listen(client, Arc::downgrade(&signals)));
        signals
    }

    /// A stream that yields when a job may be waiting in `queue`: for a
    /// worker's poll strategy. Wake-ups coalesce: a worker that is busy
    /// gets one wake-up, however many jobs were queued meanwhile (it
    /// drains the queue before it waits again).
    pub fn wakeups(&self, queue: &str) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel(0);
        self.lock_wakers().entry(queue.to_owned()).or_default().push(tx);
        rx
    }

    /// A job was pushed to `queue`: wakes this process's idle workers of
    /// it at once, and the other processes' through Redis.
    pub async fn job_queued(&self, queue: &str) {
        self.wake_local(queue);
        self.publish(WAKE_CHANNEL, queue).await;
    }

    fn wake_local(&self, queue: &str) {
        let mut wakers = self.lock_wakers();
        if let Some(list) = wakers.get_mut(queue) {
            // Full: a wake-up is already pending. Disconnected: that
            // worker has stopped; forget it.
            list.retain_mut(|tx| tx.try_send(()).map_or_else(|e| !e.is_disconnected(), |()| true));
        }
    }

    /// Receives the id of every media whose status changed from now on
    /// (in any process, with Redis).
    pub fn subscribe_status(&self) -> broadcast::Receiver<MediaId> {
        self.status.subscribe()
    }

    /// Media `id` changed status: tells this process's waiters at once,
    /// and the other processes through Redis.
    pub async fn status_changed(&self, id: &MediaId) {
        let _ = self.status.send(id.clone());
        self.publish(STATUS_CHANNEL, id.as_str()).await;
    }

    /// Publishes `payload` on `channel` when Redis is configured. A message
    /// that is not sent costs only latency (the safety poll).
    async fn publish(&self, channel: &str, payload: &str) {
        if let Some(conn) = &self.redis {
            let mut conn = conn.clone();
            let sent: Result<i64, _> = redis::cmd("PUBLISH").arg(channel).arg(payload).query_async(&mut conn).await;
            if let Err(e) = sent {
                tracing::debug!(channel, error = %e, "not published; the safety poll will notice");
            }
        }
    }

    fn lock_wakers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<mpsc::Sender<()>>>> {
        self.wakers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One message from Redis: a job pushed, or a status change.
    fn heard(&self, channel: &str, payload: &str) {
        if channel == STATUS_CHANNEL {
            if let Some(id) = MediaId::parse(payload) {
                let _ = self.status.send(id);
            }
        } else if channel == WAKE_CHANNEL {
            self.wake_local(payload);
        }
    }
}

/// Subscribes to the job and status channels, forwarding messages to
/// `signals` until it is dropped; reconnects a second after an outage.
async fn listen(client: redis::Client, signals: std::sync::Weak<Signals>) {
    loop {
        match subscribe(&client).await {
            Ok(mut pubsub) => {
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let Some(signals) = signals.upgrade() else { return };
                    let payload: String = msg.get_payload().unwrap_or_default();
                    signals.heard(msg.get_channel_name(), &payload);
                }
                tracing::warn!("redis subscription ended; resubscribing");
            }
            Err(e) => tracing::warn!(error = %e, "redis subscription failed; retrying in 1 s"),
        }
        if signals.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn subscribe(client: &redis::Client) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(STATUS_CHANNEL).await?;
    pubsub.subscribe(WAKE_CHANNEL).await?;
    Ok(pubsub)
}
