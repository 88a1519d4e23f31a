//! `mediaq-s3-fs --host H --port P --access-key A --secret-key S ROOT`:
//! s3s-fs serving ROOT (one directory per bucket) with TCP_NODELAY on
//! every connection. Stops on SIGINT or SIGTERM.

use std::path::PathBuf;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use s3s_fs::FileSystem;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

struct Opt {
    host: String,
    port: u16,
    access_key: String,
    secret_key: String,
    root: PathBuf,
}

fn parse() -> Result<Opt, String> {
    let (mut host, mut port, mut access_key, mut secret_key, mut root) = (None, None, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--host" => host = Some(value()?),
            "--port" => port = Some(value()?.parse().map_err(|e| format!("--port: {e}"))?),
            "--access-key" => access_key = Some(value()?),
            "--secret-key" => secret_key = Some(value()?),
            a if a.starts_with('-') => return Err(format!("unknown option {a}")),
            _ => root = Some(PathBuf::from(arg)),
        }
    }
    Ok(Opt {
        host: host.unwrap_or_else(|| "127.0.0.1".into()),
        port: port.ok_or("--port is required")?,
        access_key: access_key.ok_or("--access-key is required")?,
        secret_key: secret_key.ok_or("--secret-key is required")?,
        root: root.ok_or("the root directory is required")?,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opt = parse()
        .map_err(|e| format!("{e}\nusage: mediaq-s3-fs --host H --port P --access-key A --secret-key S ROOT"))?;
    let service = {
        let mut builder =
            S3ServiceBuilder::new(FileSystem::new(&opt.root).map_err(|e| format!("{}: {e:?}", opt.root.display()))?);
        builder.set_auth(SimpleAuth::from_single(opt.access_key, opt.secret_key));
        builder.build()
    };
    let listener = TcpListener::bind((opt.host.as_str(), opt.port)).await?;
    eprintln!("mediaq-s3-fs listening on http://{}", listener.local_addr()?);
    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let (mut interrupt, mut terminate) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            },
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
        };
        socket.set_nodelay(true)?;
        let conn = graceful.watch(http.serve_connection(TokioIo::new(socket), service.clone()).into_owned());
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
    }
    Ok(())
}
