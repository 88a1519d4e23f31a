//! A tiny HTTP/1.1 responder on 127.0.0.1:0 for the fetcher's tests. Each
//! route writes raw bytes, so a test can behave the way a hostile server
//! would (lie, stall, stream forever) without a mock of the fetcher.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub(super) enum Reply {
    /// A complete response with `Content-Length`.
    Full { status: u16, headers: Vec<(&'static str, String)>, body: Vec<u8> },
    /// 200, chunked, `chunk`-byte chunks until the client goes away.
    Endless { chunk: usize },
    /// 200 declaring `declared` bytes, sending `sent`, then stalling.
    Stall { declared: usize, sent: usize },
    /// Reads the request and never answers.
    Silent,
}

impl Reply {
    pub(super) fn ok(body: &[u8]) -> Self {
        Self::Full { status: 200, headers: Vec::new(), body: body.to_vec() }
    }

    pub(super) fn status(status: u16) -> Self {
        Self::Full { status, headers: Vec::new(), body: b"nope".to_vec() }
    }

    pub(super) fn redirect(status: u16, location: impl Into<String>) -> Self {
        Self::Full { status, headers: vec![("Location", location.into())], body: Vec::new() }
    }
}

type Route = dyn Fn(&str) -> Reply + Send + Sync;

pub(super) struct TestServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    /// Serves `route(path)` for every request until the test's runtime ends.
    pub(super) async fn start(route: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let route: Arc<Route> = Arc::new(route);
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, route.clone(), seen.clone()));
            }
        });
        Self { addr, requests }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(super) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Request heads received so far, in order.
    pub(super) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(mut socket: TcpStream, route: Arc<Route>, seen: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    seen.lock().unwrap().push(head);
    // Write errors mean the client hung up, which several tests cause.
    let _ = respond(&mut socket, route(&path)).await;
}

async fn respond(socket: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Full { status, headers, body } => {
            let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            socket.write_all(out.as_bytes()).await?;
            socket.write_all(&body).await?;
            socket.shutdown().await
        }
        Reply::Endless { chunk } => {
            socket.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").await?;
            let mut frame = format!("{chunk:x}\r\n").into_bytes();
            frame.extend(std::iter::repeat_n(b'z', chunk));
            frame.extend_from_slice(b"\r\n");
            loop {
                socket.write_all(&frame).await?;
            }
        }
        Reply::Stall { declared, sent } => {
            let out = format!("HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n");
            socket.write_all(out.as_bytes()).await?;
            socket.write_all(&vec![b's'; sent]).await?;
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        }
        Reply::Silent => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        }
    }
}
