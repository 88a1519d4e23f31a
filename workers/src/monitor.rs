//! Wiring jobs to apalis: one worker per queue this process runs, on
//! whichever backend is configured, all under one `Monitor` and one
//! shutdown signal. On shutdown, workers stop fetching and running jobs
//! get up to [`SHUTDOWN_GRACE`] to finish; jobs fetched but not started go
//! back to the queue.
//!
//! The adapters here are the only place apalis types meet job code: a
//! permanent [`JobError`] marks the media failed and becomes `AbortError`
//! (never retried); a retryable one is retried with exponential backoff
//! until the last delivery, which marks the media failed too, so no media
//! stays `processing` forever.

use std::future::Future;
use std::time::{Duration, Instant};

use apalis::layers::retry::backoff::{ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use apalis::layers::retry::{BackoffRetryPolicy, HasherRng, RetryPolicy};
use apalis::prelude::*;

use mediaq_shared::queue::{MAX_ATTEMPTS, POLL_INTERVAL, ProcessMedia, Queues};

use crate::env::Env;
use crate::error::JobError;
use crate::jobs;

/// Time running jobs get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Which queues a `work` process consumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSet {
    pub process: bool,
}

impl QueueSet {
    pub const NAMES: &'static [&'static str] = &["process"];

    pub fn all() -> Self {
        Self { process: true }
    }

    /// Parses `--queues process,…` (short names or full queue names).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut set = Self { process: false };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "process" | ProcessMedia::QUEUE => set.process = true,
                other => return Err(format!("unknown queue {other:?}; known queues: {}", Self::NAMES.join(", "))),
            }
        }
        if set == (Self { process: false }) {
            return Err("no queue named; known queues: process".into());
        }
        Ok(set)
    }
}

/// Retries in-process with exponential backoff from 1 s to 30 s.
fn retry_policy() -> BackoffRetryPolicy<ExponentialBackoff> {
    // The bounds are constants that satisfy the maker's checks
    // (0 < min < max, jitter within 0..=1), so this cannot fail.
    #[allow(clippy::expect_used)]
    let mut maker = ExponentialBackoffMaker::new(Duration::from_secs(1), Duration::from_secs(30), 0.2, HasherRng::default())
        .expect("valid backoff bounds");
    RetryPolicy::retries(MAX_ATTEMPTS - 1).with_backoff(maker.make_backoff())
}

/// Builds one worker for `$storage` running `$handler`.
macro_rules! worker {
    ($name:expr, $storage:expr, $env:expr, $handler:expr) => {
        WorkerBuilder::new($name)
            .backend($storage.clone().poll_with_interval(POLL_INTERVAL))
            .data($env.clone())
            .catch_panic()
            .retry(retry_policy())
            .concurrency($env.config.worker_concurrency)
            .build($handler)
    };
}

/// Runs the workers for `set` until `shutdown` resolves.
pub async fn run(env: Env, queues: Queues, set: QueueSet, shutdown: impl Future<Output = std::io::Result<()>> + Send + 'static) -> Result<(), MonitorError> {
    // Unique per process and per restart: apalis refuses a worker name
    // that is still registered, e.g. after a crash.
    let base = format!("{}-{}", std::process::id(), mediaq_shared::domain::random_token(6));
    let mut monitor = Monitor::new()
        .shutdown_timeout(SHUTDOWN_GRACE)
        // A backend outage ends a worker's stream; start it again.
        .should_restart(|ctx, err| {
            tracing::warn!(worker = %ctx.name(), error = %err, "worker stopped; restarting");
            true
        });
    if set.process {
        let name = format!("{}@{base}", ProcessMedia::QUEUE);
        monitor = match queues {
            Queues::Sqlite { process } => monitor.register(move |r| worker!(format!("{name}-{r}"), process, env, process_handler)),
            Queues::Redis { process, .. } => monitor.register(move |r| worker!(format!("{name}-{r}"), process, env, process_handler)),
        };
    }
    tracing::info!(?set, "workers running");
    monitor.run_with_signal(shutdown).await
}

async fn process_handler(job: ProcessMedia, env: Data<Env>, attempt: Attempt, task: TaskId) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let result = jobs::process::run(&job, &env).await;
    let outcome = settle(ProcessMedia::QUEUE, &task, attempt.current(), started, result);
    if let Some(reason) = outcome.failed_reason() {
        jobs::process::fail(&job, &env, &reason).await.map_err(|e| -> BoxDynError { e.to_string().into() })?;
    }
    outcome.into_apalis()
}

/// What a job run comes to, after the retry budget is considered.
enum Outcome {
    Done,
    Retry(String),
    GiveUp(String),
}

impl Outcome {
    fn failed_reason(&self) -> Option<String> {
        match self {
            Self::GiveUp(reason) => Some(reason.clone()),
            _ => None,
        }
    }

    fn into_apalis(self) -> Result<(), BoxDynError> {
        match self {
            Self::Done => Ok(()),
            Self::Retry(reason) => Err(reason.into()),
            Self::GiveUp(reason) => Err(AbortError::new(reason).into()),
        }
    }
}

/// Logs the run once (queue, task id, attempt, outcome, duration) and
/// decides between done, retry and give up.
fn settle(queue: &str, task: &TaskId, attempt: usize, started: Instant, result: Result<(), JobError>) -> Outcome {
    let ms = started.elapsed().as_millis();
    // `attempt` may count from 0 or 1 depending on the backend; giving up
    // one delivery early is better than leaving a media processing forever.
    let last = attempt + 1 >= MAX_ATTEMPTS;
    match result {
        Ok(()) => {
            tracing::info!(queue, %task, attempt, ms, outcome = "ok", "job");
            Outcome::Done
        }
        Err(JobError::Permanent(reason)) => {
            tracing::warn!(queue, %task, attempt, ms, outcome = "failed", %reason, "job");
            Outcome::GiveUp(reason)
        }
        Err(JobError::Retryable(reason)) if last => {
            tracing::error!(queue, %task, attempt, ms, outcome = "gave up", %reason, "job");
            Outcome::GiveUp(format!("processing kept failing ({reason}); gave up after {MAX_ATTEMPTS} attempts"))
        }
        Err(JobError::Retryable(reason)) => {
            tracing::warn!(queue, %task, attempt, ms, outcome = "retry", %reason, "job");
            Outcome::Retry(reason)
        }
    }
}
