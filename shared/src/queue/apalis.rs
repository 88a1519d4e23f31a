//! The apalis storages behind [`JobQueue`]: SQLite (embedded, in the same
//! file as the metadata) or Redis.
//!
//! Settings every worker relies on, chosen here once:
//! - explicit queue names (apalis would otherwise use the Rust type name);
//! - a heartbeat every 5 s, and a job whose worker missed 4 heartbeats is
//!   re-queued, so a job held by a `kill -9`ed worker runs again in ≲ 25 s;
//! - a short poll interval, or workers only look for jobs once per
//!   heartbeat;
//! - a batch of one job per fetch, so one busy worker does not hoard jobs
//!   that an idle one could run.

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::SqliteStorage;
use async_trait::async_trait;

use super::{JobQueue, ProcessMedia, QueueError};
use crate::config::{Config, DatabaseConfig, QueueConfig};
use crate::repo::open_sqlite_pool;

pub const HEARTBEAT: Duration = Duration::from_secs(5);
pub const MISSED_HEARTBEATS: usize = 4;
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Deliveries of one job before it is given up (the handler marks the
/// media failed on the last one).
pub const MAX_ATTEMPTS: usize = 5;

/// One storage per job type, on the configured backend. Cheap to clone.
#[derive(Clone)]
pub enum Queues {
    Sqlite { process: SqliteStorage<ProcessMedia> },
    Redis { process: RedisStorage<ProcessMedia>, conn: ConnectionManager },
}

impl Queues {
    pub async fn connect(config: &Config) -> Result<Self, QueueError> {
        match (&config.queue, &config.database) {
            (QueueConfig::Redis { url }, _) => {
                let conn = apalis_redis::connect(url.expose()).await.map_err(|e| QueueError(format!("redis: {e}")))?;
                let redis_config = |queue: &str| {
                    apalis_redis::Config::default()
                        .queue(queue)
                        .batch_size(1)
                        .heartbeat_interval(HEARTBEAT)
                        .missed_heartbeats(MISSED_HEARTBEATS)
                };
                let process = RedisStorage::new(conn.clone()).with_config(redis_config(ProcessMedia::QUEUE));
                Ok(Self::Redis { process, conn })
            }
            (QueueConfig::Sqlite, DatabaseConfig::Sqlite { url }) => {
                let pool = open_sqlite_pool(url).await.map_err(|e| QueueError(e.to_string()))?;
                SqliteStorage::setup(&pool).await.map_err(|e| QueueError(format!("sqlite queue setup: {e}")))?;
                let sqlite_config = |queue: &str| {
                    apalis_sqlite::Config::default()
                        .queue(queue)
                        .batch_size(1)
                        .heartbeat_interval(HEARTBEAT)
                        .missed_heartbeats(MISSED_HEARTBEATS)
                };
                let process = SqliteStorage::new(&pool).with_config(sqlite_config(ProcessMedia::QUEUE));
                Ok(Self::Sqlite { process })
            }
            (QueueConfig::Sqlite, DatabaseConfig::Postgres { .. }) => {
                Err(QueueError("the SQLite queue needs a SQLite database; set MEDIAQ_QUEUE_URL to a redis:// URL".into()))
            }
        }
    }
}


/// Pushes `job` to `storage` with the common delivery limit. (A macro:
/// the two storages' task types differ, and naming `TaskSink`'s bounds
/// generically costs more than it saves.)
macro_rules! push {
    ($storage:expr, $job:expr) => {{
        let mut storage = $storage.clone();
        let task = TaskBuilder::new($job).max_attempts(MAX_ATTEMPTS).build();
        storage.push_task(task).await.map_err(|e| QueueError(e.to_string()))
    }};
}

#[async_trait]
impl JobQueue for Queues {
    fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Redis { .. } => "redis",
        }
    }

    async fn enqueue_process(&self, job: ProcessMedia) -> Result<(), QueueError> {
        match self {
            Self::Sqlite { process } => push!(process, job),
            Self::Redis { process, .. } => push!(process, job),
        }
    }

    async fn check(&self) -> Result<(), QueueError> {
        match self {
            Self::Sqlite { .. } => Ok(()), // Same file as the database, which readiness checks.
            Self::Redis { conn, .. } => {
                let mut conn = conn.clone();
                redis::cmd("PING").query_async::<String>(&mut conn).await.map(drop).map_err(|e| QueueError(format!("redis: {e}")))
            }
        }
    }
}

