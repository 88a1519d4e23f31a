//! The `mediaq` binary: parse the command line, load the configuration,
//! and hand over to the API and the workers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use mediaq_api::AppState;
use mediaq_shared::config::{Config, LogFormat, Secret};
use mediaq_shared::queue::{DynQueue, Queues};
use mediaq_shared::repo;
use mediaq_shared::signing::UrlSigner;
use mediaq_shared::storage::{self, DynStorage};
use mediaq_workers::{Env, QueueSet};

/// Self-hosted media hosting: uploads in, thumbnails and Chevereto-style metadata out.
///
/// With no configuration, everything is embedded under ./data (SQLite
/// database and job queue, files on disk). Set MEDIAQ_* environment
/// variables (or a TOML file with --config) for Postgres, Redis and S3;
/// see README.md for the full list. `all` and `serve` also serve the web
/// app at / (make the first administrator with `key create --admin`).
#[derive(Debug, Parser)]
#[command(name = "mediaq", version, about, long_about)]
struct Cli {
    /// TOML file of settings: keys are the MEDIAQ_* names without the
    /// prefix, in lower case (e.g. `listen = "0.0.0.0:8080"`).
    /// Environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API and the workers in one process (the default).
    All,
    /// Run the HTTP API only (scale these out behind a load balancer).
    Serve,
    /// Run workers only; several may consume the same queues. Set
    /// MEDIAQ_METRICS_LISTEN (e.g. 127.0.0.1:9464) to serve their
    /// Prometheus /metrics.
    Work {
        /// Comma-separated queues to consume (default: all): fetch (remote
        /// URLs), image, video, purge. E.g. run `--queues video` on the
        /// machines meant for video.
        #[arg(long, value_name = "LIST")]
        queues: Option<String>,
    },
    /// Run one sweep and exit: expired media lose their objects, abandoned
    /// presigned uploads are removed, media stuck unsettled for
    /// MEDIAQ_STUCK_SECS are queued again (or failed at the delivery limit),
    /// and temporary files and objects no row names are removed once older
    /// than MEDIAQ_ORPHAN_GRACE_SECS.
    Sweep,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create a key (and the user, when missing); prints only the key.
    Create {
        /// User name the key belongs to.
        #[arg(long, value_name = "NAME")]
        user: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// A note to recognise the key by in lists.
        #[arg(long, value_name = "TEXT")]
        label: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, unknown) = match Config::load(cli.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("mediaq: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format, config.log_filter.as_deref());
    for name in unknown {
        tracing::warn!(variable = %name, "unknown setting ignored (a typo?)");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mediaq: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::All), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("mediaq: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, filter: Option<&str>) {
    let default = "info,sqlx=warn,aws_config=warn,aws_smithy_runtime=warn";
    let filter = tracing_subscriber::EnvFilter::try_new(filter.unwrap_or(default)).unwrap_or_else(|e| {
        eprintln!("mediaq: MEDIAQ_LOG is not a valid filter ({e}); using {default:?}");
        tracing_subscriber::EnvFilter::new(default)
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    mediaq_shared::metrics::start();
    // Webhook bodies show a file as the native API does, in every process.
    mediaq_shared::events::set_renderer(mediaq_api::present::native::file, config.public_url.clone());
    let repo = repo::connect(&config).await.context("connecting to the database")?;
    match command {
        Command::Migrate => {
            repo.migrate().await.context("applying migrations")?;
            println!("migrations applied ({})", repo.backend());
            Ok(())
        }
        Command::Key { command: KeyCommand::Create { user, admin, label } } => {
            repo.migrate().await.context("applying migrations")?;
            let key = mediaq_shared::keys::create_key(&repo, &user, admin, label.as_deref())
                .await
                .context("creating the key")?;
            println!("{key}");
            Ok(())
        }
        Command::All => {
            repo.migrate().await.context("applying migrations")?;
            let (storage, queues, signer) = backends(&config).await?;
            let shutdown = shutdown_token();
            let queue: DynQueue = Arc::new(queues.clone());
            let env = Env::new(config.clone(), repo.clone(), storage.clone(), queue.clone());
            let thumbs = thumbs(&config, &storage);
            let metrics = serve_metrics(config.clone(), queue.clone(), shutdown.clone());
            let state = AppState { config: config.clone(), repo, storage, queue, signer, thumbs };
            let api = serve_api(state, shutdown.clone());
            let workers = mediaq_workers::run(env, queues, QueueSet::all(), cancelled(shutdown.clone()));
            let (api, workers, metrics) = tokio::join!(api, workers, metrics);
            api?;
            workers.context("workers")?;
            metrics
        }
        Command::Serve => {
            repo.migrate().await.context("applying migrations")?;
            let (storage, queues, signer) = backends(&config).await?;
            let thumbs = thumbs(&config, &storage);
            let (queue, shutdown): (DynQueue, _) = (Arc::new(queues), shutdown_token());
            let metrics = serve_metrics(config.clone(), queue.clone(), shutdown.clone());
            let api = serve_api(AppState { config, repo, storage, queue, signer, thumbs }, shutdown);
            let (api, metrics) = tokio::join!(api, metrics);
            api.and(metrics)
        }
        Command::Work { queues: list } => {
            let set = match list {
                Some(list) => QueueSet::parse(&list).map_err(|e| anyhow::anyhow!("--queues: {e}"))?,
                None => QueueSet::all(),
            };
            let (storage, queues, _) = backends(&config).await?;
            let (queue, shutdown): (DynQueue, _) = (Arc::new(queues.clone()), shutdown_token());
            let metrics = serve_metrics(config.clone(), queue.clone(), shutdown.clone());
            let env = Env::new(config, repo, storage, queue);
            let workers = mediaq_workers::run(env, queues, set, cancelled(shutdown));
            let (workers, metrics) = tokio::join!(workers, metrics);
            workers.context("workers")?;
            metrics
        }
        Command::Sweep => {
            let (storage, queues, _) = backends(&config).await?;
            let env = Env::new(config, repo, storage, Arc::new(queues));
            let swept = mediaq_workers::jobs::sweep::run(&env).await.map_err(|e| anyhow::anyhow!("sweep: {e}"))?;
            println!(
                "expired {} media, purged {} deleted media, removed {} abandoned uploads, \
                 queued {} stuck media again, failed {} at the delivery limit, {} errors",
                swept.expired, swept.purged, swept.abandoned_uploads, swept.requeued, swept.gave_up, swept.errors
            );
            println!("removed {} orphaned objects and temporary files", swept.orphans);
            Ok(())
        }
    }
}

async fn backends(config: &Config) -> anyhow::Result<(DynStorage, Queues, UrlSigner)> {
    let signer = UrlSigner::new(signing_secret(config)?);
    let storage = storage::connect(config, signer.clone()).await.context("opening storage")?;
    let queues = Queues::connect(config).await.context("connecting to the job queue")?;
    Ok((storage, queues, signer))
}

/// Thumbnails by size render in the API process through the workers'
/// image pipeline (the API crate sees only the shared trait).
fn thumbs(config: &Config, storage: &DynStorage) -> mediaq_api::thumbnails::Thumbs {
    mediaq_api::thumbnails::Thumbs::new(Arc::new(mediaq_workers::thumbs::Thumbnailer::new(config, storage.clone())))
}

async fn serve_api(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(state.config.listen)
        .await
        .with_context(|| format!("MEDIAQ_LISTEN: cannot listen on {}", state.config.listen))?;
    mediaq_api::serve(listener, state, shutdown.cancelled_owned()).await.context("HTTP server")
}

/// Serves `/metrics` alone on `MEDIAQ_METRICS_LISTEN` until shutdown;
/// nothing when it is unset.
async fn serve_metrics(config: Arc<Config>, queue: DynQueue, shutdown: CancellationToken) -> anyhow::Result<()> {
    let Some(addr) = config.metrics_listen else { return Ok(()) };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("MEDIAQ_METRICS_LISTEN: cannot listen on {addr}"))?;
    let scrape = mediaq_api::metrics::Scrape { queue, token: config.metrics_token.clone() };
    mediaq_api::metrics::serve_standalone(listener, scrape, shutdown.cancelled_owned()).await.context("metrics server")
}

/// `MEDIAQ_SIGNING_SECRET`, or a random one generated once and kept in
/// the data dir (so links survive restarts of a single-machine install).
fn signing_secret(config: &Config) -> anyhow::Result<Secret> {
    if let Some(secret) = &config.signing_secret {
        return Ok(secret.clone());
    }
    let path = config.data_dir.join("signing.key");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && existing.trim().len() >= 16
    {
        return Ok(Secret::new(existing.trim()));
    }
    if !config.is_embedded() {
        tracing::warn!("MEDIAQ_SIGNING_SECRET is not set: signed links are only valid on this machine");
    }
    let secret = mediaq_shared::domain::random_token(48);
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(Secret::new(secret))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

/// A token cancelled on SIGINT or SIGTERM.
fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
        tracing::info!("shutting down: finishing in-flight requests and jobs");
        trigger.cancel();
    });
    token
}

async fn cancelled(token: CancellationToken) -> std::io::Result<()> {
    token.cancelled().await;
    Ok(())
}
