//! Prometheus metrics: one recorder per process (the `metrics` facade with
//! `metrics-exporter-prometheus`), every name and help text declared here,
//! and the few helpers the API, the workers, storage and the repository
//! record through. The API serves [`render`] at `/metrics`; `mediaq work`
//! serves it on `MEDIAQ_METRICS_LISTEN`.
//!
//! Labels carry only bounded, public values: route templates (never raw
//! paths, so no ids or link tokens), methods, status codes, queue names,
//! outcomes, backends and operation kinds.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::queue::JobQueue;

pub const HTTP_REQUESTS: &str = "mediaq_http_requests_total";
pub const HTTP_DURATION: &str = "mediaq_http_request_duration_seconds";
pub const HTTP_RECEIVED: &str = "mediaq_http_received_bytes_total";
pub const HTTP_SENT: &str = "mediaq_http_sent_bytes_total";
pub const JOBS: &str = "mediaq_jobs_total";
pub const JOB_DURATION: &str = "mediaq_job_duration_seconds";
pub const QUEUE_DEPTH: &str = "mediaq_queue_depth";
pub const STORAGE_WRITTEN: &str = "mediaq_storage_written_bytes_total";
pub const STORAGE_READ: &str = "mediaq_storage_read_bytes_total";
pub const STORAGE_ERRORS: &str = "mediaq_storage_errors_total";
pub const DATABASE_ERRORS: &str = "mediaq_database_errors_total";

/// Request latencies: 5 ms to 1 min.
const HTTP_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
/// Job run times: 10 ms to 10 min (the default job time limit).
const JOB_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];

/// Operation kinds of [`STORAGE_ERRORS`].
pub const STORAGE_OPERATIONS: &[&str] = &["write", "read", "delete", "presign", "check"];
/// Kinds of [`DATABASE_ERRORS`].
pub const DATABASE_ERROR_KINDS: &[&str] = &["connection", "query", "decode", "other"];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(install)
}

fn install() -> PrometheusHandle {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), HTTP_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(JOB_DURATION.into()), JOB_BUCKETS));
    let recorder = match builder {
        Ok(b) => b.build_recorder(),
        // The bucket lists are constants and not empty, so this is not
        // reached; plain summaries would still be valid output.
        Err(_) => PrometheusBuilder::new().build_recorder(),
    };
    let handle = recorder.handle();
    if let Err(e) = metrics::set_global_recorder(recorder) {
        tracing::warn!(error = %e, "a metrics recorder was already installed");
    }
    describe();
    handle
}

/// Installs the recorder and drains histogram samples every 5 s, so memory
/// stays flat when nobody scrapes. Call once, inside the runtime.
pub fn start() {
    let handle = handle();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    });
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by method, route template and status code.");
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its response head, by method, route template and status code."
    );
    describe_counter!(HTTP_RECEIVED, Unit::Bytes, "Request body bytes read, by route template.");
    describe_counter!(HTTP_SENT, Unit::Bytes, "Response body bytes sent, by route template.");
    describe_counter!(JOBS, "Job runs finished, by queue and outcome (ok, retry, failed, gave_up).");
    describe_histogram!(JOB_DURATION, Unit::Seconds, "Run time of one job attempt, by queue and outcome.");
    describe_gauge!(QUEUE_DEPTH, "Jobs waiting in the queue (ready or scheduled for later), read at scrape time.");
    describe_counter!(STORAGE_WRITTEN, Unit::Bytes, "Bytes written to object storage, by backend.");
    describe_counter!(STORAGE_READ, Unit::Bytes, "Bytes read from object storage, by backend.");
    describe_counter!(
        STORAGE_ERRORS,
        "Object storage operations that failed in the backend (not missing objects or client bodies), by backend and operation."
    );
    describe_counter!(DATABASE_ERRORS, "Database queries that failed (not missing rows or unique conflicts), by kind.");
}

/// Makes the error counters visible at zero before the first error, so a
/// dashboard can tell "none" from "not reported".
pub fn register_error_counters(storage_backend: &'static str) {
    handle();
    for op in STORAGE_OPERATIONS {
        counter!(STORAGE_ERRORS, "backend" => storage_backend, "operation" => *op).increment(0);
    }
    for kind in DATABASE_ERROR_KINDS {
        counter!(DATABASE_ERRORS, "kind" => *kind).increment(0);
    }
}

/// The metrics in Prometheus' text format, queue depths read first.
pub async fn render(queue: &dyn JobQueue) -> String {
    let handle = handle();
    match queue.depths().await {
        Ok(depths) => {
            for (name, depth) in depths {
                #[allow(clippy::cast_precision_loss)] // Queue lengths are far below 2^52.
                gauge!(QUEUE_DEPTH, "queue" => name).set(depth as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading queue depths for metrics"),
    }
    handle.render()
}

/// One job attempt finished.
pub fn job_finished(queue: &'static str, outcome: &'static str, took: Duration) {
    counter!(JOBS, "queue" => queue, "outcome" => outcome).increment(1);
    histogram!(JOB_DURATION, "queue" => queue, "outcome" => outcome).record(took.as_secs_f64());
}

/// A storage operation failed in the backend.
pub fn storage_error(backend: &'static str, operation: &'static str) {
    counter!(STORAGE_ERRORS, "backend" => backend, "operation" => operation).increment(1);
}

/// A database query failed (`kind` from [`DATABASE_ERROR_KINDS`]).
pub fn database_error(kind: &'static str) {
    counter!(DATABASE_ERRORS, "kind" => kind).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        for name in [
            HTTP_REQUESTS,
            HTTP_RECEIVED,
            HTTP_SENT,
            JOBS,
            STORAGE_WRITTEN,
            STORAGE_READ,
            STORAGE_ERRORS,
            DATABASE_ERRORS,
        ] {
            assert!(name.ends_with("_total"), "{name}: counters end in _total");
        }
        for name in [HTTP_DURATION, JOB_DURATION] {
            assert!(name.ends_with("_seconds"), "{name}: durations are in seconds");
        }
        assert!(!QUEUE_DEPTH.ends_with("_total"));
    }
}
