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
//! stays `processing` forever. Deliveries are also counted per media in
//! the database (`jobs::start`), which catches a job that kills its
//! worker every time, and each run has a wall-clock limit.

use std::future::Future;
use std::time::{Duration, Instant};

use apalis::layers::retry::backoff::{ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use apalis::layers::retry::{BackoffRetryPolicy, HasherRng, RetryPolicy};
use apalis::prelude::*;

use std::str::FromStr;

use apalis_cron::{CronScheduler, Tick};
use mediaq_shared::domain::MediaId;
use mediaq_shared::notify::SAFETY_POLL;
use mediaq_shared::queue::{
    DeliverWebhook, FETCH_QUEUE, FetchRemote, IMAGE_QUEUE, MAX_ATTEMPTS, PURGE_QUEUE, ProcessMedia, PurgeMedia, Queues,
    VIDEO_QUEUE, WEBHOOK_QUEUE,
};

use crate::env::Env;
use crate::error::JobError;
use crate::jobs;

/// Time running jobs get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Which queues a `work` process consumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSet {
    pub fetch: bool,
    pub image: bool,
    pub video: bool,
    pub purge: bool,
    pub webhook: bool,
}

impl QueueSet {
    pub const NAMES: &'static [&'static str] = &["fetch", "image", "video", "purge", "webhook"];

    pub fn all() -> Self {
        Self { fetch: true, image: true, video: true, purge: true, webhook: true }
    }

    /// Parses `--queues image,video,…` (short or full queue names).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut set = Self { fetch: false, image: false, video: false, purge: false, webhook: false };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.strip_prefix("mediaq.").unwrap_or(name) {
                "fetch" => set.fetch = true,
                "image" => set.image = true,
                "video" => set.video = true,
                "purge" => set.purge = true,
                "webhook" => set.webhook = true,
                other => return Err(format!("unknown queue {other:?}; known queues: {}", Self::NAMES.join(", "))),
            }
        }
        if !(set.fetch || set.image || set.video || set.purge || set.webhook) {
            return Err(format!("no queue named; known queues: {}", Self::NAMES.join(", ")));
        }
        Ok(set)
    }
}

/// Retries in-process with exponential backoff from 1 s to 30 s.
fn retry_policy() -> BackoffRetryPolicy<ExponentialBackoff> {
    // The bounds are constants that satisfy the maker's checks
    // (0 < min < max, jitter within 0..=1), so this cannot fail.
    #[allow(clippy::expect_used)]
    let mut maker =
        ExponentialBackoffMaker::new(Duration::from_secs(1), Duration::from_secs(30), 0.2, HasherRng::default())
            .expect("valid backoff bounds");
    RetryPolicy::retries(MAX_ATTEMPTS - 1).with_backoff(maker.make_backoff())
}

/// Builds one worker for `$storage` (queue `$queue`) running `$handler`.
/// It looks for a job when woken by a push ([`Signals::wakeups`]) and
/// every [`SAFETY_POLL`] in case a wake-up was lost.
///
/// [`Signals::wakeups`]: mediaq_shared::notify::Signals::wakeups
macro_rules! worker {
    ($name:expr, $q:expr, $storage:ident, $queue:expr, $env:expr, $handler:expr) => {
        WorkerBuilder::new($name)
            .backend(
                $q.$storage
                    .clone()
                    .poll_with_strategy(Strategy::new().stream($q.signals.wakeups($queue)).interval(SAFETY_POLL)),
            )
            .data($env.clone())
            .catch_panic()
            .retry(retry_policy())
            .concurrency($env.config.worker_concurrency)
            .build($handler)
    };
}

/// Registers the workers of one backend's storages, for the queues in `set`.
macro_rules! register_all {
    ($monitor:expr, $q:expr, $set:expr, $env:expr, $base:expr) => {{
        let mut monitor = $monitor;
        let workers = [
            ($set.fetch, FETCH_QUEUE),
            ($set.image, IMAGE_QUEUE),
            ($set.video, VIDEO_QUEUE),
            ($set.purge, PURGE_QUEUE),
        ];
        for (wanted, queue) in workers {
            if !wanted {
                continue;
            }
            let (q, env, name) = ($q.clone(), $env.clone(), format!("{queue}@{}", $base));
            monitor = match queue {
                FETCH_QUEUE => {
                    monitor.register(move |r| worker!(format!("{name}-{r}"), q, fetch, queue, env, fetch_handler))
                }
                IMAGE_QUEUE => {
                    monitor.register(move |r| worker!(format!("{name}-{r}"), q, image, queue, env, process_handler))
                }
                VIDEO_QUEUE => {
                    monitor.register(move |r| worker!(format!("{name}-{r}"), q, video, queue, env, video_handler))
                }
                _ => monitor.register(move |r| worker!(format!("{name}-{r}"), q, purge, queue, env, purge_handler)),
            };
        }
        if $set.webhook {
            let (q, env, name) = ($q.clone(), $env.clone(), format!("{WEBHOOK_QUEUE}@{}", $base));
            monitor = monitor.register(move |r| {
                // One attempt per job, no retry layer: a failed attempt
                // queues the next itself, delayed (`webhooks::attempt`).
                WorkerBuilder::new(format!("{name}-{r}"))
                    .backend(q.webhook.clone().poll_with_strategy(
                        Strategy::new().stream(q.signals.wakeups(WEBHOOK_QUEUE)).interval(SAFETY_POLL),
                    ))
                    .data(env.clone())
                    .catch_panic()
                    .concurrency(env.config.worker_concurrency)
                    .build(webhook_handler)
            });
        }
        monitor
    }};
}

/// Runs the workers for `set`, and the expiry sweep every minute, until
/// `shutdown` resolves.
pub async fn run(
    env: Env,
    queues: Queues,
    set: QueueSet,
    shutdown: impl Future<Output = std::io::Result<()>> + Send + 'static,
) -> Result<(), MonitorError> {
    // Unique per process and per restart: apalis refuses a worker name
    // that is still registered, e.g. after a crash.
    let base = format!("{}-{}", std::process::id(), mediaq_shared::domain::random_token(6));
    let monitor = Monitor::new()
        .shutdown_timeout(SHUTDOWN_GRACE)
        // A backend outage ends a worker's stream; start it again.
        .should_restart(|ctx, err| {
            tracing::warn!(worker = %ctx.name(), error = %err, "worker stopped; restarting");
            true
        });
    let monitor = match &queues {
        Queues::Sqlite(q) => register_all!(monitor, q, set, env, base),
        Queues::Redis(q) => register_all!(monitor, q, set, env, base),
    };
    let sweeper_env = env.clone();
    let sweep_name = format!("mediaq.sweep@{base}");
    let monitor = monitor.register(move |r| {
        WorkerBuilder::new(format!("{sweep_name}-{r}"))
            .backend(CronScheduler::new(every_minute()))
            .data(sweeper_env.clone())
            .build(sweep_tick)
    });
    tracing::info!(?set, "workers running");
    monitor.run_with_signal(shutdown).await
}

fn every_minute() -> cron::Schedule {
    // A constant, valid expression (sec min hour dom month dow).
    #[allow(clippy::expect_used)]
    cron::Schedule::from_str("0 * * * * *").expect("valid cron expression")
}

async fn sweep_tick(_tick: Tick, env: Data<Env>) -> Result<(), BoxDynError> {
    jobs::sweep::run(&env).await.map(drop).map_err(|e| -> BoxDynError {
        tracing::warn!(error = %e, "sweep failed; the next tick retries");
        e.to_string().into()
    })
}

async fn fetch_handler(job: FetchRemote, env: Data<Env>, attempt: Attempt, task: TaskId) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let (id, run_env) = (job.media_id.clone(), Env::clone(&env));
    let result = detached(async move { limited(&run_env, true, jobs::fetch::run(&job, &run_env)).await }).await;
    finish(FETCH_QUEUE, Some(&id), &env, &task, attempt.current(), started, result).await
}

async fn process_handler(job: ProcessMedia, env: Data<Env>, attempt: Attempt, task: TaskId) -> Result<(), BoxDynError> {
    process(IMAGE_QUEUE, job, env, attempt, task).await
}

async fn video_handler(job: ProcessMedia, env: Data<Env>, attempt: Attempt, task: TaskId) -> Result<(), BoxDynError> {
    process(VIDEO_QUEUE, job, env, attempt, task).await
}

async fn process(
    queue: &'static str,
    job: ProcessMedia,
    env: Data<Env>,
    attempt: Attempt,
    task: TaskId,
) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let (id, run_env) = (job.media_id.clone(), Env::clone(&env));
    let result = detached(async move { limited(&run_env, true, jobs::process::run(&job, &run_env)).await }).await;
    finish(queue, Some(&id), &env, &task, attempt.current(), started, result).await
}

async fn purge_handler(job: PurgeMedia, env: Data<Env>, attempt: Attempt, task: TaskId) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let run_env = Env::clone(&env);
    let result =
        detached(async move { limited(&run_env, false, jobs::purge::run(&job.media_id, &run_env)).await }).await;
    // A purge that gives up leaves the media retired: the sweep retries it.
    finish(PURGE_QUEUE, None, &env, &task, attempt.current(), started, result).await
}

async fn webhook_handler(job: DeliverWebhook, env: Data<Env>, task: TaskId) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let (attempt, run_env) = (job.attempt as usize, Env::clone(&env));
    let result = detached(async move {
        let e = &run_env;
        mediaq_shared::webhooks::attempt(&e.repo, e.queue.as_ref(), e.config.fetch_allow_private, &job)
            .await
            .map_err(|e| JobError::Retryable(e.to_string()))
    })
    .await;
    finish(WEBHOOK_QUEUE, None, &env, &task, attempt, started, result).await
}

/// Runs a job's body in a task of its own, so that its many wake-ups
/// (every database query, storage read and CPU hand-off) wake only that
/// task: apalis polls a worker's backend each time the worker's task is
/// woken, and an idle backend answers each poll with a fetch query — on
/// SQLite a write transaction that contends with the job's own writes.
/// The worker's task now wakes when the job ends. Dropping the returned
/// future (shutdown past its grace) aborts the task; a panic in it is a
/// retryable failure, like one caught by the worker's panic layer.
async fn detached(job: impl Future<Output = Result<(), JobError>> + Send + 'static) -> Result<(), JobError> {
    struct AbortOnDrop(tokio::task::AbortHandle);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let handle = tokio::spawn(job);
    let _abort = AbortOnDrop(handle.abort_handle());
    match handle.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(JobError::Retryable("the job panicked".into())),
        Err(e) => Err(JobError::Retryable(format!("the job stopped: {e}"))),
    }
}

/// Runs a job under the wall-clock limit (`MEDIAQ_JOB_TIMEOUT_SECS`). A
/// media job past it fails its media (it would most likely overrun again);
/// a purge past it is retried. CPU work already on the blocking pool runs
/// to its end, but its result is dropped.
async fn limited(
    env: &Env,
    fails_media: bool,
    job: impl Future<Output = Result<(), JobError>>,
) -> Result<(), JobError> {
    let limit = env.config.job_timeout;
    match tokio::time::timeout(limit, job).await {
        Ok(result) => result,
        Err(_) => {
            let reason = format!("processing took longer than the limit of {} s", limit.as_secs());
            Err(if fails_media { JobError::Permanent(reason) } else { JobError::Retryable(reason) })
        }
    }
}

/// Logs the run, and when a job gives up, marks its media failed so no
/// media stays `processing` forever.
async fn finish(
    queue: &'static str,
    media: Option<&MediaId>,
    env: &Env,
    task: &TaskId,
    attempt: usize,
    started: Instant,
    result: Result<(), JobError>,
) -> Result<(), BoxDynError> {
    let outcome = settle(queue, task, attempt, started, result);
    if let (Some(reason), Some(id)) = (outcome.failed_reason(), media) {
        jobs::fail(env, id, &reason).await.map_err(|e| -> BoxDynError { e.to_string().into() })?;
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

/// Logs the run once (queue, task id, attempt, outcome, duration), counts
/// it in the metrics, and decides between done, retry and give up.
fn settle(
    queue: &'static str,
    task: &TaskId,
    attempt: usize,
    started: Instant,
    result: Result<(), JobError>,
) -> Outcome {
    let took = started.elapsed();
    let permanent = matches!(result, Err(JobError::Permanent(_)));
    let outcome = decide(queue, task, attempt, took.as_millis(), result);
    let label = match outcome {
        Outcome::Done => "ok",
        Outcome::Retry(_) => "retry",
        Outcome::GiveUp(_) if permanent => "failed",
        Outcome::GiveUp(_) => "gave_up",
    };
    mediaq_shared::metrics::job_finished(queue, label, took);
    outcome
}

fn decide(queue: &str, task: &TaskId, attempt: usize, ms: u128, result: Result<(), JobError>) -> Outcome {
    // `attempt` may count from 0 or 1 depending on the backend; giving up
    // one delivery early is better than leaving a media processing forever.
    let last = attempt + 1 >= MAX_ATTEMPTS;
    match result {
        Ok(()) | Err(JobError::Stopped) => {
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
