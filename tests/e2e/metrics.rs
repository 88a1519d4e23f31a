//! Prometheus metrics, on both stacks: `/metrics` wants the metrics token;
//! after an upload the API counts the request under its route template
//! (with a latency observation and the body bytes), storage counts the
//! bytes written, and the process that ran the job counts a success with a
//! duration — `mediaq all` on its own listener and on
//! `MEDIAQ_METRICS_LISTEN`, a separate `mediaq work` on
//! `MEDIAQ_METRICS_LISTEN`. Every scrape passes `promtool check metrics`,
//! and no id or key shows in any label.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mediaq_tests::{Kind, Stack, corpus, free_port};

const TOKEN: &str = "metrics-token-0123456789abcdef";

/// One scrape, parsed: every sample by name, with its labels.
struct Scrape {
    text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    fn parse(text: String) -> Self {
        let mut samples = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample line {line:?}"));
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, labels(rest.strip_suffix('}').unwrap())),
                None => (series, BTreeMap::new()),
            };
            samples.push((name.to_owned(), labels, value));
        }
        Self { text, samples }
    }

    /// The sum of the samples of `name` whose labels include `wanted`.
    fn sum(&self, name: &str, wanted: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, labels, _)| n == name && wanted.iter().all(|(k, v)| labels.get(*k).is_some_and(|l| l == v)))
            .map(|(_, _, v)| v)
            .sum()
    }

    fn has(&self, name: &str, wanted: &[(&str, &str)]) -> bool {
        self.samples
            .iter()
            .any(|(n, labels, _)| n == name && wanted.iter().all(|(k, v)| labels.get(*k).is_some_and(|l| l == v)))
    }
}

/// `k="v",k2="v2"` (values here never hold quotes or commas).
fn labels(s: &str) -> BTreeMap<String, String> {
    s.split("\",")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once("=\"").unwrap_or_else(|| panic!("bad label {p:?}"));
            (k.to_owned(), v.trim_end_matches('"').to_owned())
        })
        .collect()
}

/// Scrapes `url` with the token; checks the answer with promtool.
async fn scrape(http: &reqwest::Client, url: &str) -> Scrape {
    let res = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "{url}");
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "content type {ct}");
    let text = res.text().await.unwrap();
    promtool_check(&text);
    Scrape::parse(text)
}

fn promtool_check(text: &str) {
    let promtool = std::env::var("MEDIAQ_TEST_PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{promtool}: {e} (scripts/test.sh installs it)"));
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- scraped:\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls `url` until `done` holds for its scrape.
async fn scrape_until(http: &reqwest::Client, url: &str, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = scrape(http, url).await;
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what} never showed at {url}; last scrape:\n{}", s.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const UPLOAD: &[(&str, &str)] = &[("method", "POST"), ("route", "/api/1/upload"), ("status", "200")];
const IMAGE_OK: &[(&str, &str)] = &[("queue", "mediaq.image"), ("outcome", "ok")];

/// The common story: `api` is the API's `/metrics`, `jobs` the one of the
/// process that runs the jobs.
async fn story(stack: &Stack, api: &str, jobs: &str) {
    let http = &stack.http;
    for (auth, what) in [(None, "no token"), (Some("wrong-token-0123456789abcdef"), "a wrong token")] {
        for url in [api, jobs] {
            let mut req = http.get(url);
            if let Some(t) = auth {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status().as_u16(), 401, "{url} with {what}");
            assert!(!res.text().await.unwrap().contains("mediaq_"), "{url} showed metrics with {what}");
        }
    }
    let key = stack.key("metrics-user");
    let (api0, jobs0) = (scrape(http, api).await, scrape(http, jobs).await);
    let photo = corpus("kde_Autumn.jpg");
    let size = std::fs::metadata(&photo).unwrap().len() as f64;
    let (status, body) = stack.chevereto_upload(&key, &photo, &[]).await;
    assert_eq!(status, 200, "{body}");
    let id = body["image"]["id_encoded"].as_str().unwrap().to_owned();
    let (status, _) = stack.call(reqwest::Method::GET, &format!("/api/v1/files/{id}"), Some(&key), None).await;
    assert_eq!(status, 200);

    let api1 = scrape_until(http, api, "the file read", |s| {
        s.has("mediaq_http_requests_total", &[("route", "/api/v1/files/{id}")])
    })
    .await;
    let req = "mediaq_http_requests_total";
    assert_eq!(api1.sum(req, UPLOAD) - api0.sum(req, UPLOAD), 1.0, "upload requests:\n{}", api1.text);
    let dur = "mediaq_http_request_duration_seconds_count";
    assert_eq!(api1.sum(dur, UPLOAD) - api0.sum(dur, UPLOAD), 1.0, "upload latency observations");
    let received = "mediaq_http_received_bytes_total";
    let route = &[("route", "/api/1/upload")];
    assert!(api1.sum(received, route) - api0.sum(received, route) >= size, "bytes in:\n{}", api1.text);
    let written = "mediaq_storage_written_bytes_total";
    assert!(api1.sum(written, &[]) - api0.sum(written, &[]) >= size, "bytes stored:\n{}", api1.text);

    let jobs1 = scrape_until(http, jobs, "the job's success", |s| {
        s.sum("mediaq_jobs_total", IMAGE_OK) > jobs0.sum("mediaq_jobs_total", IMAGE_OK)
    })
    .await;
    let (count, sum) = ("mediaq_job_duration_seconds_count", "mediaq_job_duration_seconds_sum");
    assert_eq!(jobs1.sum(count, IMAGE_OK) - jobs0.sum(count, IMAGE_OK), 1.0, "job durations:\n{}", jobs1.text);
    assert!(jobs1.sum(sum, IMAGE_OK) > jobs0.sum(sum, IMAGE_OK), "a job takes some time");
    for s in [&api1, &jobs1] {
        for queue in ["mediaq.fetch", "mediaq.image", "mediaq.video", "mediaq.purge", "mediaq.webhook"] {
            assert!(s.has("mediaq_queue_depth", &[("queue", queue)]), "depth of {queue}:\n{}", s.text);
        }
        assert!(s.has("mediaq_storage_errors_total", &[("operation", "write")]), "storage errors:\n{}", s.text);
        assert!(s.has("mediaq_database_errors_total", &[("kind", "query")]), "database errors:\n{}", s.text);
        assert!(!s.text.contains(&id) && !s.text.contains(&key), "an id or key in a label:\n{}", s.text);
    }
}

/// The metrics URL of a `MEDIAQ_METRICS_LISTEN` address, once something
/// answers there (a listener of its own, bound after the API is ready).
async fn listening(stack: &Stack, listen: &str) -> String {
    let url = format!("http://{listen}/metrics");
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.http.get(&url).send().await.is_err() {
        assert!(Instant::now() < deadline, "the metrics listener on {listen} did not start:\n{}", stack.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    url
}

/// `mediaq all`: metrics on its own listener and on MEDIAQ_METRICS_LISTEN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded() {
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let stack =
        Stack::start_with(Kind::Embedded, &[("MEDIAQ_METRICS_TOKEN", TOKEN), ("MEDIAQ_METRICS_LISTEN", &listen)]).await;
    // The API answering says nothing of the metrics listener: wait for it.
    let jobs = listening(&stack, &listen).await;
    story(&stack, &stack.url("/metrics"), &jobs).await;
}

/// `mediaq serve` and one `mediaq work` with MEDIAQ_METRICS_LISTEN (the
/// stack's own workers are stopped first, so this one runs the job).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production() {
    let mut stack = Stack::start_with(Kind::Production, &[("MEDIAQ_METRICS_TOKEN", TOKEN)]).await;
    stack.kill(2);
    stack.kill(1);
    let listen = format!("127.0.0.1:{}", free_port());
    stack.spawn_with(&["work"], &[("MEDIAQ_METRICS_LISTEN", &listen)]);
    let jobs = listening(&stack, &listen).await;
    story(&stack, &stack.url("/metrics"), &jobs).await;
}
