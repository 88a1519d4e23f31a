//! The apalis storages behind [`JobQueue`]: SQLite (embedded, in the same
//! file as the metadata) or Redis.
//!
//! Settings every worker relies on, chosen here once:
//! - explicit queue names (apalis would otherwise use the Rust type name);
//! - a heartbeat every 5 s, and a job whose worker missed 4 heartbeats is
//!   re-queued, so a job held by a `kill -9`ed worker runs again in ≲ 25 s;
//! - workers are woken when a job is pushed ([`Signals`]: in memory in
//!   one process, Redis pub/sub across processes), and poll
//!   only as a safety net, every [`SAFETY_POLL`];
//! - a batch of one job per fetch, so one busy worker does not hoard jobs
//!   that an idle one could run.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::SqliteStorage;
use async_trait::async_trait;

use super::{
    ALL_QUEUES, DeliverWebhook, FETCH_QUEUE, FetchRemote, IMAGE_QUEUE, Job, JobQueue, PURGE_QUEUE, ProcessMedia,
    PurgeMedia, QueueError, VIDEO_QUEUE, WEBHOOK_QUEUE,
};
use crate::config::{Config, DatabaseConfig, QueueConfig};
use crate::domain::MediaKind;
use crate::notify::Signals;
use crate::repo::open_sqlite_queue_pool;

pub const HEARTBEAT: Duration = Duration::from_secs(5);
pub const MISSED_HEARTBEATS: usize = 4;
/// Deliveries of one job before it is given up (the handler marks the
/// media failed on the last one).
pub const MAX_ATTEMPTS: usize = 5;

#[derive(Clone)]
pub struct SqliteQueues {
    pub fetch: SqliteStorage<FetchRemote>,
    pub image: SqliteStorage<ProcessMedia>,
    pub video: SqliteStorage<ProcessMedia>,
    pub purge: SqliteStorage<PurgeMedia>,
    pub webhook: SqliteStorage<DeliverWebhook>,
    pub signals: Arc<Signals>,
}

#[derive(Clone)]
pub struct RedisQueues {
    pub fetch: RedisStorage<FetchRemote>,
    pub image: RedisStorage<ProcessMedia>,
    pub video: RedisStorage<ProcessMedia>,
    pub purge: RedisStorage<PurgeMedia>,
    pub webhook: RedisStorage<DeliverWebhook>,
    pub signals: Arc<Signals>,
    conn: ConnectionManager,
}

/// Every queue, on the configured backend. Cheap to clone.
#[derive(Clone)]
pub enum Queues {
    Sqlite(Box<SqliteQueues>),
    Redis(Box<RedisQueues>),
}

impl Queues {
    pub async fn connect(config: &Config) -> Result<Self, QueueError> {
        match (&config.queue, &config.database) {
            (QueueConfig::Redis { url }, _) => {
                let conn = apalis_redis::connect(url.expose()).await.map_err(|e| QueueError(format!("redis: {e}")))?;
                let client = redis::Client::open(url.expose()).map_err(|e| QueueError(format!("redis: {e}")))?;
                let cfg = |queue: &str| {
                    apalis_redis::Config::default()
                        .queue(queue)
                        .batch_size(1)
                        .heartbeat_interval(HEARTBEAT)
                        .missed_heartbeats(MISSED_HEARTBEATS)
                };
                Ok(Self::Redis(Box::new(RedisQueues {
                    fetch: RedisStorage::new(conn.clone()).with_config(cfg(FETCH_QUEUE)),
                    image: RedisStorage::new(conn.clone()).with_config(cfg(IMAGE_QUEUE)),
                    video: RedisStorage::new(conn.clone()).with_config(cfg(VIDEO_QUEUE)),
                    purge: RedisStorage::new(conn.clone()).with_config(cfg(PURGE_QUEUE)),
                    webhook: RedisStorage::new(conn.clone()).with_config(cfg(WEBHOOK_QUEUE)),
                    signals: Signals::redis(client, conn.clone()),
                    conn,
                })))
            }
            (QueueConfig::Sqlite, DatabaseConfig::Sqlite { url }) => {
                let pool = open_sqlite_queue_pool(url).await.map_err(|e| QueueError(e.to_string()))?;
                let cfg = |queue: &str| {
                    apalis_sqlite::Config::default()
                        .queue(queue)
                        .batch_size(1)
                        .heartbeat_interval(HEARTBEAT)
                        .missed_heartbeats(MISSED_HEARTBEATS)
                };
                Ok(Self::Sqlite(Box::new(SqliteQueues {
                    fetch: SqliteStorage::new(&pool).with_config(cfg(FETCH_QUEUE)),
                    image: SqliteStorage::new(&pool).with_config(cfg(IMAGE_QUEUE)),
                    video: SqliteStorage::new(&pool).with_config(cfg(VIDEO_QUEUE)),
                    purge: SqliteStorage::new(&pool).with_config(cfg(PURGE_QUEUE)),
                    webhook: SqliteStorage::new(&pool).with_config(cfg(WEBHOOK_QUEUE)),
                    signals: Signals::local(),
                })))
            }
            (QueueConfig::Sqlite, DatabaseConfig::Postgres { .. }) => Err(QueueError(
                "the SQLite queue needs a SQLite database; set MEDIAQ_QUEUE_URL to a redis:// URL".into(),
            )),
        }
    }
}

/// Pushes `$job` to `$storage` with the common delivery limit. (A macro:
/// the storages' task types differ, and naming `TaskSink`'s bounds
/// generically costs more than it saves.)
macro_rules! push {
    ($storage:expr, $job:expr) => {
        push!($storage, $job, Duration::ZERO)
    };
    ($storage:expr, $job:expr, $delay:expr) => {{
        let mut storage = $storage.clone();
        let builder = TaskBuilder::new($job).max_attempts(MAX_ATTEMPTS);
        // A run time, even now, sends a Redis job through the scheduled set.
        let delay: Duration = $delay;
        let task = if delay.is_zero() { builder } else { builder.run_after(delay) }.build();
        storage.push_task(task).await.map_err(|e| QueueError(e.to_string()))
    }};
}

/// Routes a job to its queue on one backend's set of storages, then wakes
/// this process's idle workers of that queue.
macro_rules! route {
    ($q:expr, $job:expr) => {{
        let queue = match $job {
            Job::Fetch(media_id) => push!($q.fetch, FetchRemote { media_id }).map(|()| FETCH_QUEUE),
            Job::Process(media_id, MediaKind::Image | MediaKind::File) => {
                push!($q.image, ProcessMedia { media_id }).map(|()| IMAGE_QUEUE)
            }
            Job::Process(media_id, MediaKind::Video) => {
                push!($q.video, ProcessMedia { media_id }).map(|()| VIDEO_QUEUE)
            }
            Job::Purge(media_id) => push!($q.purge, PurgeMedia { media_id }).map(|()| PURGE_QUEUE),
            Job::Webhook(job, delay) => push!($q.webhook, job, delay).map(|()| WEBHOOK_QUEUE),
        }?;
        $q.signals.job_queued(queue).await;
        Ok(())
    }};
}

#[async_trait]
impl JobQueue for Queues {
    fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Redis(_) => "redis",
        }
    }

    fn signals(&self) -> &Signals {
        match self {
            Self::Sqlite(q) => &q.signals,
            Self::Redis(q) => &q.signals,
        }
    }

    async fn enqueue(&self, job: Job) -> Result<(), QueueError> {
        match self {
            Self::Sqlite(q) => route!(q, job),
            Self::Redis(q) => route!(q, job),
        }
    }

    async fn check(&self) -> Result<(), QueueError> {
        match self {
            Self::Sqlite(_) => Ok(()), // Same file as the database, which readiness checks.
            Self::Redis(q) => {
                let mut conn = q.conn.clone();
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(drop)
                    .map_err(|e| QueueError(format!("redis: {e}")))
            }
        }
    }

    async fn depths(&self) -> Result<Vec<(&'static str, u64)>, QueueError> {
        match self {
            Self::Sqlite(q) => q.depths().await,
            Self::Redis(q) => q.depths().await,
        }
    }
}

impl SqliteQueues {
    /// Jobs pending (due or not) or handed to a worker but not started.
    async fn depths(&self) -> Result<Vec<(&'static str, u64)>, QueueError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT job_type, COUNT(*) FROM Jobs WHERE status IN ('Pending', 'Queued') GROUP BY job_type",
        )
        .fetch_all(self.image.pool())
        .await
        .map_err(|e| QueueError(e.to_string()))?;
        Ok(ALL_QUEUES
            .iter()
            .map(|&name| {
                let n = rows.iter().find(|(t, _)| t == name).map_or(0, |(_, n)| *n);
                (name, u64::try_from(n).unwrap_or(0))
            })
            .collect())
    }
}

impl RedisQueues {
    /// The length of each queue's ready list plus its scheduled set.
    async fn depths(&self) -> Result<Vec<(&'static str, u64)>, QueueError> {
        let configs = [
            self.fetch.get_config(),
            self.image.get_config(),
            self.video.get_config(),
            self.purge.get_config(),
            self.webhook.get_config(),
        ];
        let mut pipe = redis::pipe();
        for config in configs {
            pipe.llen(config.active_jobs_list()).zcard(config.scheduled_jobs_set());
        }
        let mut conn = self.conn.clone();
        let counts: Vec<u64> = pipe.query_async(&mut conn).await.map_err(|e| QueueError(format!("redis: {e}")))?;
        Ok(ALL_QUEUES.iter().zip(counts.chunks(2)).map(|(&name, c)| (name, c.iter().sum())).collect())
    }
}
