//! The end-to-end harness: starts the real `mediaq` binary on one of the
//! two stacks and talks to it over HTTP, as a client would.
//!
//! - Embedded: `mediaq all` on SQLite + files + the SQLite queue, in a
//!   temporary data dir.
//! - Production: `mediaq serve` and two `mediaq work` processes on
//!   PostgreSQL + Redis + S3, using the servers `scripts/test.sh` started
//!   (`MEDIAQ_TEST_*`). Each stack gets its own database, Redis database
//!   index and bucket, so tests run in parallel without sharing state.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Embedded,
    Production,
}

/// A running mediaq and everything it needs; stopped on drop.
pub struct Stack {
    pub kind: Kind,
    pub base: String,
    pub env: BTreeMap<String, String>,
    pub data_dir: tempfile::TempDir,
    /// `serve` / `all` first, then `work` processes.
    pub processes: Vec<Child>,
    pub http: reqwest::Client,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// The `mediaq` binary built next to this test binary.
pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("MEDIAQ_BIN") {
        return PathBuf::from(p);
    }
    // target/debug/deps/e2e-HASH → target/debug/mediaq
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(Path::parent).unwrap().join("mediaq");
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build --bin mediaq` (scripts/test.sh does)",
        path.display()
    );
    path
}

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the suite with scripts/test.sh, which starts PostgreSQL, Redis and S3")
    })
}

/// The corpus of real media beside the repository.
pub fn corpus(name: &str) -> PathBuf {
    manifest_dir().join("../../shared/corpus").join(name)
}

/// The tests crate's directory. Cargo names it at run time too; that one
/// wins, so a library built from another checkout sharing the target
/// directory still finds this checkout's files.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// `mib` MiB of reproducible noise: one xorshift MiB from `seed`, repeated.
pub fn noise(mib: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let block: Vec<u8> = (0..(1 << 20) / 8)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect();
    block.repeat(mib)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Settings for a fresh production stack: a new database, a Redis
/// database index and a bucket of its own.
pub async fn production_env(data_dir: &Path) -> BTreeMap<String, String> {
    let n = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    let tag = format!("t{}_{}", std::process::id(), n);
    let pg = required("MEDIAQ_TEST_POSTGRES_URL");
    let admin = sqlx::PgPool::connect(&format!("{pg}/mediaq_test_template")).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {tag}"))).execute(&admin).await.unwrap();
    admin.close().await;
    let redis_db = (std::process::id() as usize * 7 + n) % 63 + 1;
    let redis = format!("{}/{redis_db}", required("MEDIAQ_TEST_REDIS_URL"));
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("FLUSHDB").query_async::<()>(&mut conn).await.unwrap();
    let bucket = tag.replace('_', "-");
    std::fs::create_dir_all(Path::new(&required("MEDIAQ_TEST_S3_ROOT")).join(&bucket)).unwrap();
    [
        ("MEDIAQ_DATABASE_URL", format!("{pg}/{tag}")),
        ("MEDIAQ_QUEUE_URL", redis),
        ("MEDIAQ_STORAGE", "s3".into()),
        ("MEDIAQ_S3_ENDPOINT", required("MEDIAQ_TEST_S3_ENDPOINT")),
        ("MEDIAQ_S3_BUCKET", bucket),
        ("MEDIAQ_S3_REGION", "us-east-1".into()),
        ("MEDIAQ_S3_ACCESS_KEY", required("MEDIAQ_TEST_S3_ACCESS_KEY")),
        ("MEDIAQ_S3_SECRET_KEY", required("MEDIAQ_TEST_S3_SECRET_KEY")),
        ("MEDIAQ_SIGNING_SECRET", "test-signing-secret-0123456789-abcdefghij".into()),
        ("MEDIAQ_DATA_DIR", data_dir.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl Stack {
    /// Starts a stack of `kind` with `extra` settings on top.
    pub async fn start_with(kind: Kind, extra: &[(&str, &str)]) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let mut env = match kind {
            Kind::Embedded => BTreeMap::from([("MEDIAQ_DATA_DIR".to_owned(), data_dir.path().display().to_string())]),
            Kind::Production => production_env(data_dir.path()).await,
        };
        let port = free_port();
        env.insert("MEDIAQ_LISTEN".into(), format!("127.0.0.1:{port}"));
        env.insert("MEDIAQ_UPLOAD_WAIT_SECS".into(), "60".into());
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let mut stack = Self {
            kind,
            base: format!("http://127.0.0.1:{port}"),
            env,
            data_dir,
            processes: Vec::new(),
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        };
        match kind {
            Kind::Embedded => {
                stack.spawn(&["all"]);
            }
            Kind::Production => {
                stack.spawn(&["serve"]);
                stack.wait_ready().await;
                stack.spawn(&["work"]);
                stack.spawn(&["work"]);
            }
        }
        stack.wait_ready().await;
        stack
    }

    pub async fn start(kind: Kind) -> Self {
        Self::start_with(kind, &[]).await
    }

    /// Starts `mediaq ARGS` with this stack's settings; returns its index.
    pub fn spawn(&mut self, args: &[&str]) -> usize {
        self.spawn_with(args, &[])
    }

    /// [`spawn`](Self::spawn) with `extra` settings for this process only
    /// (e.g. a listen address no other process may take).
    pub fn spawn_with(&mut self, args: &[&str], extra: &[(&str, &str)]) -> usize {
        let log = std::fs::File::create(self.data_dir.path().join(format!(
            "{}-{}.log",
            args.join("-"),
            self.processes.len()
        )))
        .unwrap();
        let child = self.command(args).envs(extra.iter().copied()).stdout(Stdio::null()).stderr(log).spawn().unwrap();
        self.processes.push(child);
        self.processes.len() - 1
    }

    /// A `mediaq` command with this stack's environment (and nothing else
    /// of ours: a developer's own MEDIAQ_* variables are cleared).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("MEDIAQ_")) {
            cmd.env_remove(k);
        }
        cmd.args(args).envs(&self.env).env("MEDIAQ_LOG", "info,sqlx=warn");
        cmd
    }

    /// Kills one process at once (SIGKILL: no cleanup, as in a crash).
    pub fn kill(&mut self, index: usize) {
        let child = &mut self.processes[index];
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.http.get(self.url("/readyz")).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(Instant::now() < deadline, "mediaq did not become ready; logs:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a user (when missing) and returns a new API key for them.
    pub fn key(&self, user: &str) -> String {
        let out = self.command(&["key", "create", "--user", user]).output().unwrap();
        assert!(out.status.success(), "key create failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Creates (or promotes) an administrator and returns a new key for them.
    pub fn admin_key(&self, user: &str) -> String {
        let out = self.command(&["key", "create", "--user", user, "--admin"]).output().unwrap();
        assert!(out.status.success(), "key create failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Sends a JSON request with an optional bearer credential; returns
    /// the status and the JSON body (`Null` when there is none).
    /// The request is built at once, so the future borrows nothing.
    pub fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> impl Future<Output = (u16, Value)> + use<> {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            (
                status,
                if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) },
            )
        }
    }

    /// Everything the processes logged so far (for failure messages).
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(self.data_dir.path()).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "log") {
                all.push_str(&format!(
                    "--- {}\n{}\n",
                    entry.path().display(),
                    std::fs::read_to_string(entry.path()).unwrap_or_default()
                ));
            }
        }
        all
    }

    /// Uploads a file to the Chevereto endpoint with `key`, plus extra
    /// form fields; returns the status and the JSON body.
    pub async fn chevereto_upload(&self, key: &str, file: &Path, fields: &[(&str, &str)]) -> (u16, Value) {
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut form =
            reqwest::multipart::Form::new().part("source", reqwest::multipart::Part::bytes(bytes).file_name(name));
        for (k, v) in fields {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        let res =
            self.http.post(self.url("/api/1/upload")).header("X-API-Key", key).multipart(form).send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
    }

    /// Peak and current resident memory of process `index` (`VmHWM`,
    /// `VmRSS` from `/proc/PID/status`), in KiB.
    pub fn memory_kib(&self, index: usize) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.processes[index].id())).unwrap();
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// GETs a URL; returns status, content type and bytes.
    pub async fn fetch(&self, url: &str) -> (u16, String, Vec<u8>) {
        let res = self.http.get(url).send().await.unwrap();
        let status = res.status().as_u16();
        let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, ct, res.bytes().await.unwrap().to_vec())
    }

    /// Polls `GET /api/v1/files/{id}` until the status is settled.
    pub async fn wait_settled(&self, key: &str, id: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let res = self.http.get(self.url(&format!("/api/v1/files/{id}"))).bearer_auth(key).send().await.unwrap();
            let body: Value = res.json().await.unwrap();
            let status = body["status"].as_str().unwrap_or("").to_owned();
            if status == "ready" || status == "failed" {
                return body;
            }
            assert!(Instant::now() < deadline, "media {id} still {status} after {within:?}; logs:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Stack {
    /// Where this stack's objects are on disk: the data dir's `objects`
    /// (embedded) or the bucket's directory in the test S3 server's root.
    pub fn objects_dir(&self) -> PathBuf {
        match self.kind {
            Kind::Embedded => self.data_dir.path().join("objects"),
            Kind::Production => Path::new(&required("MEDIAQ_TEST_S3_ROOT")).join(&self.env["MEDIAQ_S3_BUCKET"]),
        }
    }

    /// How many objects media `id` has in storage.
    pub fn objects_of(&self, id: &str) -> usize {
        let dir = self.objects_dir().join("media").join(id);
        std::fs::read_dir(dir).map(|d| d.flatten().filter(|e| e.path().is_file()).count()).unwrap_or(0)
    }
}

impl Stack {
    /// Uploads `file` through `POST /api/v1/files` (into `folder` when
    /// given) and waits until it is settled; returns the file resource.
    pub async fn upload_native(&self, key: &str, file: &Path, folder: Option<&str>) -> Value {
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        self.upload_bytes(key, &name, bytes, folder).await
    }

    /// [`Stack::upload_native`] of `bytes` named `name`.
    pub async fn upload_bytes(&self, key: &str, name: &str, bytes: Vec<u8>, folder: Option<&str>) -> Value {
        let name = name.to_owned();
        let mut form =
            reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
        if let Some(f) = folder {
            form = form.text("folderId", f.to_owned());
        }
        let res = self.http.post(self.url("/api/v1/files")).bearer_auth(key).multipart(form).send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 202, "{body}");
        self.wait_settled(key, body["id"].as_str().unwrap(), Duration::from_secs(120)).await
    }

    /// Starts one more API process (`mediaq serve`) on its own port over
    /// this stack's database and storage; returns its base URL.
    pub fn spawn_second_api(&mut self) -> String {
        let port = free_port();
        let log = std::fs::File::create(self.data_dir.path().join(format!("serve2-{port}.log"))).unwrap();
        let child = self
            .command(&["serve"])
            .env("MEDIAQ_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.processes.push(child);
        format!("http://127.0.0.1:{port}")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for child in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs one async test body against both stacks, as two tests.
#[macro_export]
macro_rules! both_stacks {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                let stack = $crate::Stack::start($crate::Kind::Embedded).await;
                ($body)(stack).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn production() {
                let stack = $crate::Stack::start($crate::Kind::Production).await;
                ($body)(stack).await;
            }
        }
    };
}

/// Like [`both_stacks!`], with extra settings for both stacks.
#[macro_export]
macro_rules! both_stacks_with {
    ($name:ident, $extra:expr, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                let stack = $crate::Stack::start_with($crate::Kind::Embedded, $extra).await;
                ($body)(stack).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn production() {
                let stack = $crate::Stack::start_with($crate::Kind::Production, $extra).await;
                ($body)(stack).await;
            }
        }
    };
}

/// A loopback HTTP server for remote-URL uploads: every request gets `body`
/// with the extra header lines `headers` (each ending in CRLF), sent in ten
/// pieces `pace` apart (`None`: at once). Returns `http://ADDR{path}`.
pub async fn serve_http(body: Vec<u8>, headers: String, pace: Option<Duration>, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (body, headers) = (body.clone(), headers.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head =
                    format!("HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = sock.write_all(head.as_bytes()).await;
                let Some(pace) = pace else {
                    let _ = sock.write_all(&body).await;
                    return;
                };
                for piece in body.chunks(body.len() / 10 + 1) {
                    tokio::time::sleep(pace).await;
                    let _ = sock.write_all(piece).await;
                }
            });
        }
    });
    format!("http://{addr}{path}")
}
