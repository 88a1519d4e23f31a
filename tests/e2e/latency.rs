//! Upload → ready latency, a benchmark rather than a timed test (ignored
//! by default; `scripts/bench-latency.sh` runs it with the release binary
//! and prints the figures): the Chevereto upload answers once processing
//! settled, so its round trip is the time from upload to ready.

use std::path::Path;
use std::time::{Duration, Instant};

use mediaq_tests::{Kind, Stack, corpus};

const ROUNDS: usize = 25;

/// Uploads `file` `ROUNDS` times one after another (after two warm-up
/// uploads) and prints the percentiles of the answered-ready round trip.
async fn measure(kind: Kind, file: &Path) {
    let stack = Stack::start(kind).await;
    let key = stack.key("bench");
    for _ in 0..2 {
        stack.chevereto_upload(&key, file, &[]).await;
    }
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let (status, body) = stack.chevereto_upload(&key, file, &[]).await;
        times.push(started.elapsed());
        assert_eq!(status, 200, "{body}");
        assert!(body["image"]["width"].as_u64().is_some(), "answered before processing: {body}");
    }
    times.sort();
    let pct = |p: usize| times[(times.len() - 1) * p / 100].as_secs_f64() * 1000.0;
    let name = file.file_name().unwrap().to_string_lossy();
    println!(
        "\nLATENCY {kind:?} {name}: upload→ready p50 {:.0} ms, p90 {:.0} ms, min {:.0} ms, max {:.0} ms ({ROUNDS} uploads)",
        pct(50),
        pct(90),
        pct(0),
        pct(100)
    );
    assert!(times[ROUNDS / 2] < Duration::from_secs(10));
}

/// 1680×1050 (1.8 MP) and 5120×2880 (14.7 MP) JPEGs.
const FILES: &[&str] = &["mate_Dune.jpg", "kde_Volna_5120.jpg"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: scripts/bench-latency.sh"]
async fn upload_to_ready_embedded() {
    for f in FILES {
        measure(Kind::Embedded, &corpus(f)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: scripts/bench-latency.sh"]
async fn upload_to_ready_production() {
    for f in FILES {
        measure(Kind::Production, &corpus(f)).await;
    }
}
