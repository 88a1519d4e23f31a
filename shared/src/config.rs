//! Every setting mediaq reads, parsed and validated once at start-up.
//!
//! Settings come from `MEDIAQ_*` environment variables, optionally layered
//! over a TOML file (`--config`), whose keys are the variable names without
//! the `MEDIAQ_` prefix, in lower case (`max_upload_bytes = 1048576`).
//! Environment variables win over the file. Nothing else in the workspace
//! reads the environment. A bad value is a [`ConfigError`] naming the
//! variable, so start-up stops with a message that says what to fix.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

/// What went wrong while reading the configuration.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{var}: {message} (got {value:?})")]
    Invalid { var: String, value: String, message: String },
    #[error("{var} is required when {because}")]
    Missing { var: String, because: String },
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
}

/// A value that must never be printed (keys, passwords, signing secrets).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    /// A `sqlite://` URL (the file is created when missing).
    Sqlite {
        url: String,
    },
    Postgres {
        url: Secret,
    },
}

#[derive(Debug, Clone)]
pub enum QueueConfig {
    /// apalis on the same SQLite database as the metadata.
    Sqlite,
    Redis {
        url: Secret,
    },
}

#[derive(Debug, Clone)]
pub enum StorageConfig {
    Fs { root: PathBuf },
    S3(S3Config),
}

#[derive(Debug, Clone)]
pub struct S3Config {
    /// Custom endpoint (MinIO and friends); `None` means AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key: Option<Secret>,
    pub secret_key: Option<Secret>,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most
    /// self-hosted servers; on by default whenever an endpoint is set.
    pub path_style: bool,
    /// The endpoint clients reach, used only to presign URLs (compose's
    /// `http://minio:9000` is reachable by the API, not by a client).
    pub public_endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The whole configuration, as typed values.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Base of every URL in responses, without a trailing slash.
    pub public_url: String,
    pub database: DatabaseConfig,
    pub queue: QueueConfig,
    pub storage: StorageConfig,
    pub fetch_allow_private: bool,
    pub max_upload_bytes: u64,
    pub max_pixels: u64,
    /// How long `POST /api/1/upload` waits for processing before answering
    /// with what is known.
    pub upload_wait: Duration,
    /// Jobs run at once by one worker process (per queue).
    pub worker_concurrency: usize,
    /// Key for HMAC-signed URLs (embedded storage presigning, download
    /// links). Generated and kept in the data dir when not set.
    pub signing_secret: Option<Secret>,
    pub log_format: LogFormat,
    /// tracing `EnvFilter` directives (`MEDIAQ_LOG`), e.g. `debug,sqlx=warn`.
    pub log_filter: Option<String>,
    /// Seconds a presigned URL stays valid.
    pub presign_ttl: Duration,
    /// Frames an animated image may have.
    pub max_frames: u32,
    /// Longest video accepted.
    pub max_video_duration: Duration,
    /// Remove EXIF (GPS included) from stored originals; the facts are
    /// still read into `original_exifdata` first.
    pub strip_exif: bool,
    /// Total time a remote-URL fetch may take.
    pub fetch_timeout: Duration,
    /// Wall-clock limit of one job run; a processing job past it fails its
    /// media. Keep it below `stuck_after`.
    pub job_timeout: Duration,
    /// Age (since the last write) after which the sweep queues an unsettled
    /// media again, or fails it once its job reached the delivery limit.
    pub stuck_after: Duration,
    /// Browser origins allowed by CORS.
    pub cors_origins: CorsOrigins,
    /// Self-registered accounts are active at once instead of pending an
    /// administrator's approval.
    pub open_registration: bool,
    /// How long a login session token stays valid.
    pub session_ttl: Duration,
    /// Byte quota of users without one of their own; `None` is unlimited.
    pub default_quota_bytes: Option<u64>,
    /// Login attempts allowed per client IP and minute.
    pub login_rate_per_min: u32,
    /// Uploads allowed per credential and minute (twice that per IP).
    pub upload_rate_per_min: u32,
    /// Longest wait for the next byte of a request body before it is
    /// refused with 408 (`MEDIAQ_BODY_TIMEOUT_SECS`).
    pub body_timeout: Duration,
    /// Bytes all requests together may hold in memory (urlencoded, JSON
    /// and base64 bodies); beyond it requests get 503
    /// (`MEDIAQ_REQUEST_MEMORY_BYTES`).
    pub request_memory_bytes: u64,
    /// Age past which the sweep removes a stored object no row names, or
    /// a temporary file; younger ones may belong to an upload in flight.
    pub orphan_grace: Duration,
    /// Registrations allowed per client IP and minute.
    pub register_rate_per_min: u32,
    /// Link-password attempts allowed per client IP and minute (five
    /// times that per link).
    pub link_password_rate_per_min: u32,
    /// Types the native routes take (`MEDIAQ_ALLOWED_TYPES`).
    pub allowed_types: AllowedTypes,
    /// Versions kept per file; older ones are removed (`MEDIAQ_MAX_VERSIONS`).
    pub max_versions: u32,
    /// Days a trashed item is kept; 0: deletes are permanent (`MEDIAQ_TRASH_DAYS`).
    pub trash_days: u32,
    /// How long an unfinished resumable upload (tus, S3 multipart for
    /// Uppy) lives after its last progress before the sweep removes it
    /// (`MEDIAQ_TUS_EXPIRY_SECS`).
    pub tus_expiry: Duration,
    /// A second listener serving only `/metrics` (`MEDIAQ_METRICS_LISTEN`);
    /// the only one `mediaq work` has.
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token `/metrics` requires when set (`MEDIAQ_METRICS_TOKEN`).
    pub metrics_token: Option<Secret>,
}

/// `MEDIAQ_ALLOWED_TYPES`: `*` (anything), or MIME types and `type/*`
/// patterns, lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedTypes {
    Any,
    List(Vec<String>),
}

impl AllowedTypes {
    fn parse(v: Option<&str>) -> Result<Self, ConfigError> {
        let var = "MEDIAQ_ALLOWED_TYPES";
        let v = v.unwrap_or("*").trim();
        if v == "*" {
            return Ok(Self::Any);
        }
        let mut list = Vec::new();
        for item in v.split(',').map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()) {
            let valid = item.split_once('/').is_some_and(|(a, b)| {
                let token = |t: &str| {
                    !t.is_empty() && t.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c))
                };
                token(a) && (b == "*" || token(b))
            });
            if !valid {
                return Err(invalid(
                    var,
                    &item,
                    "expected * or a comma-separated list of MIME types such as application/pdf or image/*",
                ));
            }
            list.push(item);
        }
        if list.is_empty() {
            return Err(invalid(var, v, "expected * or at least one MIME type"));
        }
        Ok(Self::List(list))
    }

    /// Whether a file of (sniffed) type `mime` may be taken.
    pub fn allows(&self, mime: &str) -> bool {
        let mime = mime.to_ascii_lowercase();
        match self {
            Self::Any => true,
            Self::List(list) => list.iter().any(|t| match t.strip_suffix("/*") {
                Some(major) => mime.split_once('/').is_some_and(|(m, _)| m == major),
                None => *t == mime,
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<String>),
}

/// The raw `name -> value` settings before parsing.
type Raw = BTreeMap<String, String>;

const PREFIX: &str = "MEDIAQ_";

/// Every variable mediaq understands; anything else with the prefix is
/// reported as a likely typo.
pub const KNOWN_VARIABLES: &[&str] = &[
    "MEDIAQ_DATA_DIR",
    "MEDIAQ_LISTEN",
    "MEDIAQ_PUBLIC_URL",
    "MEDIAQ_DATABASE_URL",
    "MEDIAQ_QUEUE_URL",
    "MEDIAQ_STORAGE",
    "MEDIAQ_S3_ENDPOINT",
    "MEDIAQ_S3_BUCKET",
    "MEDIAQ_S3_REGION",
    "MEDIAQ_S3_ACCESS_KEY",
    "MEDIAQ_S3_SECRET_KEY",
    "MEDIAQ_S3_PATH_STYLE",
    "MEDIAQ_S3_PUBLIC_ENDPOINT",
    "MEDIAQ_FETCH_ALLOW_PRIVATE",
    "MEDIAQ_MAX_UPLOAD_BYTES",
    "MEDIAQ_MAX_PIXELS",
    "MEDIAQ_UPLOAD_WAIT_SECS",
    "MEDIAQ_WORKER_CONCURRENCY",
    "MEDIAQ_SIGNING_SECRET",
    "MEDIAQ_LOG_FORMAT",
    "MEDIAQ_LOG",
    "MEDIAQ_PRESIGN_TTL_SECS",
    "MEDIAQ_MAX_FRAMES",
    "MEDIAQ_MAX_VIDEO_SECONDS",
    "MEDIAQ_STRIP_EXIF",
    "MEDIAQ_FETCH_TIMEOUT_SECS",
    "MEDIAQ_JOB_TIMEOUT_SECS",
    "MEDIAQ_STUCK_SECS",
    "MEDIAQ_CORS_ORIGINS",
    "MEDIAQ_OPEN_REGISTRATION",
    "MEDIAQ_SESSION_TTL_SECS",
    "MEDIAQ_DEFAULT_QUOTA_BYTES",
    "MEDIAQ_LOGIN_RATE_PER_MIN",
    "MEDIAQ_UPLOAD_RATE_PER_MIN",
    "MEDIAQ_BODY_TIMEOUT_SECS",
    "MEDIAQ_ALLOWED_TYPES",
    "MEDIAQ_MAX_VERSIONS",
    "MEDIAQ_TRASH_DAYS",
    "MEDIAQ_REQUEST_MEMORY_BYTES",
    "MEDIAQ_ORPHAN_GRACE_SECS",
    "MEDIAQ_REGISTER_RATE_PER_MIN",
    "MEDIAQ_LINK_PASSWORD_RATE_PER_MIN",
    "MEDIAQ_TUS_EXPIRY_SECS",
    "MEDIAQ_METRICS_LISTEN",
    "MEDIAQ_METRICS_TOKEN",
];

/// Shortest `MEDIAQ_SIGNING_SECRET` accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Secrets published as examples (docker-compose.yml shipped the first):
/// anyone can forge signed URLs with them, so start-up refuses them.
const SAMPLE_SECRETS: &[&str] = &["change-me-to-a-long-random-string"];

impl Config {
    /// Reads the process environment, over the optional TOML file.
    pub fn load(file: Option<&Path>) -> Result<(Self, Vec<String>), ConfigError> {
        let mut raw = match file {
            Some(path) => read_file(path)?,
            None => Raw::new(),
        };
        raw.extend(std::env::vars().filter(|(k, _)| k.starts_with(PREFIX)));
        let unknown = raw.keys().filter(|k| !KNOWN_VARIABLES.contains(&k.as_str())).cloned().collect();
        Ok((Self::from_map(&raw)?, unknown))
    }

    /// Parses settings from a map of `MEDIAQ_*` names to values.
    pub fn from_map(raw: &Raw) -> Result<Self, ConfigError> {
        let r = Reader(raw);
        let data_dir = PathBuf::from(r.get("MEDIAQ_DATA_DIR").unwrap_or("./data"));
        let listen: SocketAddr =
            r.parse("MEDIAQ_LISTEN", "127.0.0.1:8080", "expected host:port, e.g. 127.0.0.1:8080")?;
        let public_url = match r.get("MEDIAQ_PUBLIC_URL") {
            Some(v) => parse_public_url(v)?,
            None => format!("http://{listen}"),
        };
        let database = match r.get("MEDIAQ_DATABASE_URL") {
            None => DatabaseConfig::Sqlite { url: format!("sqlite://{}", data_dir.join("mediaq.db").display()) },
            Some(v) if v.starts_with("sqlite:") => DatabaseConfig::Sqlite { url: v.to_owned() },
            Some(v) if v.starts_with("postgres://") || v.starts_with("postgresql://") => {
                DatabaseConfig::Postgres { url: Secret::new(v) }
            }
            Some(v) => return Err(invalid("MEDIAQ_DATABASE_URL", v, "expected a sqlite:// or postgres:// URL")),
        };
        let queue = match r.get("MEDIAQ_QUEUE_URL") {
            None => QueueConfig::Sqlite,
            Some(v) if v.starts_with("redis://") || v.starts_with("rediss://") => {
                QueueConfig::Redis { url: Secret::new(v) }
            }
            Some(v) if v.starts_with("sqlite:") => QueueConfig::Sqlite,
            Some(v) => {
                return Err(invalid("MEDIAQ_QUEUE_URL", v, "expected a redis:// URL (or unset for the SQLite queue)"));
            }
        };
        if matches!(queue, QueueConfig::Sqlite) && matches!(database, DatabaseConfig::Postgres { .. }) {
            return Err(ConfigError::Missing {
                var: "MEDIAQ_QUEUE_URL".into(),
                because: "MEDIAQ_DATABASE_URL is Postgres (the embedded queue lives in the SQLite database; set a redis:// URL)".into(),
            });
        }
        let storage = match r.get("MEDIAQ_STORAGE").unwrap_or("fs") {
            "fs" => StorageConfig::Fs { root: data_dir.join("objects") },
            "s3" => StorageConfig::S3(s3_config(&r)?),
            other => return Err(invalid("MEDIAQ_STORAGE", other, "expected fs or s3")),
        };
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            listen,
            public_url,
            database,
            queue,
            storage,
            fetch_allow_private: r.bool("MEDIAQ_FETCH_ALLOW_PRIVATE", false)?,
            max_upload_bytes: r.positive("MEDIAQ_MAX_UPLOAD_BYTES", 512 * 1024 * 1024)?,
            max_pixels: r.positive("MEDIAQ_MAX_PIXELS", 100_000_000)?,
            upload_wait: Duration::from_secs(r.number("MEDIAQ_UPLOAD_WAIT_SECS", 30)?),
            worker_concurrency: usize::try_from(r.positive("MEDIAQ_WORKER_CONCURRENCY", cores as u64 * 2)?)
                .unwrap_or(usize::MAX),
            signing_secret: signing_secret(r.get("MEDIAQ_SIGNING_SECRET"))?,
            log_format: match r.get("MEDIAQ_LOG_FORMAT").unwrap_or("text") {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => return Err(invalid("MEDIAQ_LOG_FORMAT", other, "expected text or json")),
            },
            log_filter: r.get("MEDIAQ_LOG").map(str::to_owned),
            presign_ttl: Duration::from_secs(r.positive("MEDIAQ_PRESIGN_TTL_SECS", 3600)?),
            max_frames: u32::try_from(r.positive("MEDIAQ_MAX_FRAMES", 10_000)?)
                .map_err(|_| invalid("MEDIAQ_MAX_FRAMES", "", "must fit in 32 bits"))?,
            max_video_duration: Duration::from_secs(r.positive("MEDIAQ_MAX_VIDEO_SECONDS", 4 * 3600)?),
            strip_exif: r.bool("MEDIAQ_STRIP_EXIF", true)?,
            fetch_timeout: Duration::from_secs(r.positive("MEDIAQ_FETCH_TIMEOUT_SECS", 120)?),
            job_timeout: Duration::from_secs(r.positive("MEDIAQ_JOB_TIMEOUT_SECS", 600)?),
            stuck_after: Duration::from_secs(r.positive("MEDIAQ_STUCK_SECS", 900)?),
            cors_origins: cors_origins(r.get("MEDIAQ_CORS_ORIGINS"))?,
            open_registration: r.bool("MEDIAQ_OPEN_REGISTRATION", false)?,
            session_ttl: Duration::from_secs(r.positive("MEDIAQ_SESSION_TTL_SECS", 7 * 24 * 3600)?),
            login_rate_per_min: u32::try_from(r.positive("MEDIAQ_LOGIN_RATE_PER_MIN", 20)?).unwrap_or(u32::MAX),
            upload_rate_per_min: u32::try_from(r.positive("MEDIAQ_UPLOAD_RATE_PER_MIN", 600)?).unwrap_or(u32::MAX),
            body_timeout: Duration::from_secs(r.positive("MEDIAQ_BODY_TIMEOUT_SECS", 30)?),
            request_memory_bytes: r.positive("MEDIAQ_REQUEST_MEMORY_BYTES", 256 * 1024 * 1024)?,
            orphan_grace: Duration::from_secs(r.positive("MEDIAQ_ORPHAN_GRACE_SECS", 24 * 3600)?),
            register_rate_per_min: u32::try_from(r.positive("MEDIAQ_REGISTER_RATE_PER_MIN", 10)?).unwrap_or(u32::MAX),
            link_password_rate_per_min: u32::try_from(r.positive("MEDIAQ_LINK_PASSWORD_RATE_PER_MIN", 30)?)
                .unwrap_or(u32::MAX),
            tus_expiry: Duration::from_secs(r.positive("MEDIAQ_TUS_EXPIRY_SECS", 24 * 3600)?),
            metrics_listen: match r.get("MEDIAQ_METRICS_LISTEN") {
                None | Some("") => None,
                Some(v) => Some(
                    v.trim()
                        .parse()
                        .map_err(|_| invalid("MEDIAQ_METRICS_LISTEN", v, "expected host:port, e.g. 127.0.0.1:9464"))?,
                ),
            },
            metrics_token: metrics_token(r.get("MEDIAQ_METRICS_TOKEN"))?,
            default_quota_bytes: match r.get("MEDIAQ_DEFAULT_QUOTA_BYTES") {
                None | Some("") => None,
                Some(v) => Some(
                    v.trim()
                        .parse()
                        .map_err(|_| invalid("MEDIAQ_DEFAULT_QUOTA_BYTES", v, "expected a whole number of bytes"))?,
                ),
            },
            allowed_types: AllowedTypes::parse(r.get("MEDIAQ_ALLOWED_TYPES"))?,
            max_versions: u32::try_from(r.positive("MEDIAQ_MAX_VERSIONS", 20)?).unwrap_or(u32::MAX),
            trash_days: u32::try_from(r.number("MEDIAQ_TRASH_DAYS", 30)?)
                .map_err(|_| invalid("MEDIAQ_TRASH_DAYS", "", "must fit in 32 bits"))?,
            data_dir,
        })
    }

    /// True when metadata, queue and objects all live under the data dir.
    pub fn is_embedded(&self) -> bool {
        matches!(self.database, DatabaseConfig::Sqlite { .. }) && matches!(self.storage, StorageConfig::Fs { .. })
    }
}

/// `MEDIAQ_SIGNING_SECRET`: at least [`MIN_SECRET_BYTES`], and never a
/// published sample. The value itself is never echoed.
fn signing_secret(v: Option<&str>) -> Result<Option<Secret>, ConfigError> {
    let var = "MEDIAQ_SIGNING_SECRET";
    match v {
        None => Ok(None),
        Some(v) if SAMPLE_SECRETS.contains(&v) || v.starts_with("change-me") => Err(invalid(
            var,
            "***",
            "is the sample value from the documentation; set your own, e.g. `openssl rand -hex 32`",
        )),
        Some(v) if v.len() < MIN_SECRET_BYTES => Err(invalid(
            var,
            "***",
            &format!("must be at least {MIN_SECRET_BYTES} bytes (got {}); e.g. `openssl rand -hex 32`", v.len()),
        )),
        Some(v) => Ok(Some(Secret::new(v))),
    }
}

/// Shortest `MEDIAQ_METRICS_TOKEN` accepted, in bytes.
pub const MIN_METRICS_TOKEN_BYTES: usize = 16;

/// `MEDIAQ_METRICS_TOKEN`: unset, or at least [`MIN_METRICS_TOKEN_BYTES`]
/// (it guards a public listener). The value itself is never echoed.
fn metrics_token(v: Option<&str>) -> Result<Option<Secret>, ConfigError> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.len() < MIN_METRICS_TOKEN_BYTES => Err(invalid(
            "MEDIAQ_METRICS_TOKEN",
            "***",
            &format!("must be at least {MIN_METRICS_TOKEN_BYTES} bytes (got {}); e.g. `openssl rand -hex 16`", v.len()),
        )),
        Some(v) => Ok(Some(Secret::new(v))),
    }
}

fn http_url(var: &str, v: Option<&str>) -> Result<Option<String>, ConfigError> {
    match v {
        Some(e) if !(e.starts_with("http://") || e.starts_with("https://")) => {
            Err(invalid(var, e, "expected an http:// or https:// URL"))
        }
        other => Ok(other.map(|e| e.trim_end_matches('/').to_owned())),
    }
}

fn s3_config(r: &Reader<'_>) -> Result<S3Config, ConfigError> {
    let bucket = r
        .get("MEDIAQ_S3_BUCKET")
        .ok_or_else(|| ConfigError::Missing { var: "MEDIAQ_S3_BUCKET".into(), because: "MEDIAQ_STORAGE=s3".into() })?;
    let endpoint = http_url("MEDIAQ_S3_ENDPOINT", r.get("MEDIAQ_S3_ENDPOINT"))?;
    let public_endpoint = http_url("MEDIAQ_S3_PUBLIC_ENDPOINT", r.get("MEDIAQ_S3_PUBLIC_ENDPOINT"))?;
    let access_key = r.get("MEDIAQ_S3_ACCESS_KEY").map(Secret::new);
    let secret_key = r.get("MEDIAQ_S3_SECRET_KEY").map(Secret::new);
    if access_key.is_some() != secret_key.is_some() {
        let var = if access_key.is_some() { "MEDIAQ_S3_SECRET_KEY" } else { "MEDIAQ_S3_ACCESS_KEY" };
        return Err(ConfigError::Missing { var: var.into(), because: "the other S3 key is set".into() });
    }
    Ok(S3Config {
        path_style: r.bool("MEDIAQ_S3_PATH_STYLE", endpoint.is_some())?,
        endpoint,
        bucket: bucket.to_owned(),
        region: r.get("MEDIAQ_S3_REGION").unwrap_or("us-east-1").to_owned(),
        access_key,
        secret_key,
        public_endpoint,
    })
}

fn cors_origins(v: Option<&str>) -> Result<CorsOrigins, ConfigError> {
    let Some(v) = v.filter(|v| *v != "*") else { return Ok(CorsOrigins::Any) };
    let list: Vec<String> =
        v.split(',').map(|o| o.trim().trim_end_matches('/').to_owned()).filter(|o| !o.is_empty()).collect();
    for origin in &list {
        let ok = url::Url::parse(origin).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/");
        if !ok {
            return Err(invalid(
                "MEDIAQ_CORS_ORIGINS",
                origin,
                "expected * or a comma-separated list of origins like https://app.example.com",
            ));
        }
    }
    Ok(CorsOrigins::List(list))
}

fn parse_public_url(v: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(v).map_err(|e| invalid("MEDIAQ_PUBLIC_URL", v, &e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("MEDIAQ_PUBLIC_URL", v, "expected an http(s) URL such as https://media.example.com"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("MEDIAQ_PUBLIC_URL", v, "must not carry a query or fragment"));
    }
    Ok(v.trim_end_matches('/').to_owned())
}

fn read_file(path: &Path) -> Result<Raw, ConfigError> {
    let err = |message: String| ConfigError::File { path: path.to_owned(), message };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| err(e.to_string()))?;
    table
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => return Err(err(format!("{k}: expected a string, integer or boolean, got {other}"))),
            };
            Ok((format!("{PREFIX}{}", k.to_uppercase()), value))
        })
        .collect()
}

fn invalid(var: &str, value: &str, message: &str) -> ConfigError {
    ConfigError::Invalid { var: var.to_owned(), value: value.to_owned(), message: message.to_owned() }
}

/// Typed access to the raw map; every error names its variable.
struct Reader<'a>(&'a Raw);

impl Reader<'_> {
    fn get(&self, var: &str) -> Option<&str> {
        self.0.get(var).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, var: &str, default: &str, hint: &str) -> Result<T, ConfigError> {
        let v = self.get(var).unwrap_or(default);
        v.parse().map_err(|_| invalid(var, v, hint))
    }

    fn number(&self, var: &str, default: u64) -> Result<u64, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| invalid(var, v, "expected a whole non-negative number")),
        }
    }

    fn positive(&self, var: &str, default: u64) -> Result<u64, ConfigError> {
        match self.number(var, default)? {
            0 => Err(invalid(var, "0", "must be greater than zero")),
            n => Ok(n),
        }
    }

    fn bool(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(v) => Err(invalid(var, v, "expected true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Raw {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn nothing_set_means_everything_embedded_under_data() {
        let c = Config::from_map(&Raw::new()).unwrap();
        assert!(c.is_embedded());
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert!(matches!(c.database, DatabaseConfig::Sqlite { ref url } if url == "sqlite://./data/mediaq.db"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("MEDIAQ_LISTEN", "nowhere"),
            ("MEDIAQ_MAX_UPLOAD_BYTES", "ten"),
            ("MEDIAQ_MAX_UPLOAD_BYTES", "0"),
            ("MEDIAQ_STORAGE", "floppy"),
            ("MEDIAQ_FETCH_ALLOW_PRIVATE", "perhaps"),
            ("MEDIAQ_DATABASE_URL", "mysql://x"),
            ("MEDIAQ_PUBLIC_URL", "ftp://x"),
        ] {
            let err = Config::from_map(&map(&[(var, value)])).unwrap_err().to_string();
            assert!(err.contains(var), "{err}");
        }
    }

    #[test]
    fn s3_needs_a_bucket_and_both_keys() {
        let err = Config::from_map(&map(&[("MEDIAQ_STORAGE", "s3")])).unwrap_err().to_string();
        assert!(err.contains("MEDIAQ_S3_BUCKET"), "{err}");
        let err = Config::from_map(&map(&[
            ("MEDIAQ_STORAGE", "s3"),
            ("MEDIAQ_S3_BUCKET", "b"),
            ("MEDIAQ_S3_ACCESS_KEY", "a"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("MEDIAQ_S3_SECRET_KEY"), "{err}");
    }

    #[test]
    fn short_and_sample_signing_secrets_are_refused() {
        for bad in ["0123456789abcdef", "x".repeat(31).as_str(), "change-me-to-a-long-random-string"] {
            let err = Config::from_map(&map(&[("MEDIAQ_SIGNING_SECRET", bad)])).unwrap_err().to_string();
            assert!(err.contains("MEDIAQ_SIGNING_SECRET") && !err.contains(bad), "{err}");
        }
        let ok = Config::from_map(&map(&[("MEDIAQ_SIGNING_SECRET", &"k".repeat(32))])).unwrap();
        assert!(ok.signing_secret.is_some());
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let c = Config::from_map(&map(&[
            ("MEDIAQ_DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("MEDIAQ_QUEUE_URL", "redis://:pw@h"),
        ]))
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("pw@"), "{shown}");
    }

    #[test]
    fn allowed_types_match_types_and_families() {
        let c = Config::from_map(&map(&[("MEDIAQ_ALLOWED_TYPES", "application/pdf, image/*")])).unwrap();
        assert!(c.allowed_types.allows("application/pdf") && c.allowed_types.allows("image/png"));
        assert!(!c.allowed_types.allows("application/zip") && !c.allowed_types.allows("video/mp4"));
        assert!(Config::from_map(&Raw::new()).unwrap().allowed_types.allows("application/x-anything"));
        for bad in ["pdf", "image/", ",", "a/b c"] {
            assert!(Config::from_map(&map(&[("MEDIAQ_ALLOWED_TYPES", bad)])).is_err(), "{bad}");
        }
        let c = Config::from_map(&map(&[("MEDIAQ_TRASH_DAYS", "0"), ("MEDIAQ_MAX_VERSIONS", "3")])).unwrap();
        assert_eq!((c.trash_days, c.max_versions), (0, 3));
        assert!(Config::from_map(&map(&[("MEDIAQ_MAX_VERSIONS", "0")])).is_err());
    }

    #[test]
    fn metrics_listener_and_token() {
        let c = Config::from_map(&Raw::new()).unwrap();
        assert!(c.metrics_listen.is_none() && c.metrics_token.is_none());
        let c = Config::from_map(&map(&[
            ("MEDIAQ_METRICS_LISTEN", "127.0.0.1:9464"),
            ("MEDIAQ_METRICS_TOKEN", "scrape-token-0123456789"),
        ]))
        .unwrap();
        assert_eq!(c.metrics_listen.map(|a| a.port()), Some(9464));
        assert_eq!(c.metrics_token.as_ref().map(Secret::expose), Some("scrape-token-0123456789"));
        let err = Config::from_map(&map(&[("MEDIAQ_METRICS_LISTEN", "9464")])).unwrap_err().to_string();
        assert!(err.contains("MEDIAQ_METRICS_LISTEN"), "{err}");
        let err = Config::from_map(&map(&[("MEDIAQ_METRICS_TOKEN", "short-tok")])).unwrap_err().to_string();
        assert!(err.contains("MEDIAQ_METRICS_TOKEN") && !err.contains("short-tok"), "{err}");
    }
}
