//! The request loop: one checked hop at a time, redirects followed by hand.
//!
//! Each hop gets its own reqwest client whose only way to find an address
//! is the list this module resolved and checked (`resolve_to_addrs`, over a
//! resolver that refuses every other lookup), so a DNS answer that changes
//! between check and connect (rebinding) cannot take effect. Proxies are
//! off (a proxy would resolve the name itself) and so is decompression (the
//! byte cap counts what crosses the wire).

use std::sync::Arc;

use futures::TryStreamExt;
use reqwest::StatusCode;
use reqwest::dns::{Name, Resolve, Resolving};
use reqwest::header::{ACCEPT_ENCODING, CONTENT_TYPE, LOCATION};
use reqwest::redirect::Policy;
use tokio::time::{Instant, timeout_at};
use url::{Host, Url};

use super::addr::Destinations;
use super::body::CappedBody;
use super::{FetchError, FetchPolicy, Fetched, describe, filename};

const USER_AGENT: &str = concat!("mediaq/", env!("CARGO_PKG_VERSION"));

/// Fetches `url` under `policy`: every hop checked, resolved and pinned to
/// the checked addresses, at most `max_redirects` redirects, a non-2xx
/// final answer an error. The body is left to the caller as a capped stream.
pub async fn fetch(url: &str, policy: &FetchPolicy) -> Result<Fetched, FetchError> {
    fetch_to(url, policy, Destinations { allow_private: policy.allow_private, exempt: &[] }).await
}

#[tracing::instrument(skip_all)]
async fn fetch_to(url: &str, policy: &FetchPolicy, dest: Destinations<'_>) -> Result<Fetched, FetchError> {
    let deadline = Instant::now() + policy.total_timeout;
    let mut current = Url::parse(url).map_err(|e| FetchError::InvalidUrl(e.to_string()))?;
    let mut redirects = 0;
    loop {
        dest.check(&current)?;
        tracing::debug!(host = current.host_str(), redirects, "fetching");
        let response = timeout_at(deadline, send(&current, policy, dest)).await.map_err(|_| FetchError::Timeout)??;
        let Some(next) = redirect_target(&current, &response)? else {
            return into_fetched(response, current, policy, deadline);
        };
        if redirects >= policy.max_redirects {
            return Err(FetchError::TooManyRedirects(policy.max_redirects));
        }
        redirects += 1;
        current = next;
    }
}

/// POSTs `body` (JSON) with `headers` to `url` under the same address
/// rules as [`fetch`] (checked, resolved, pinned), following no redirect;
/// the answer's status. For webhook deliveries.
pub async fn post(
    url: &str,
    policy: &FetchPolicy,
    headers: &[(&str, String)],
    body: String,
) -> Result<u16, FetchError> {
    let dest = Destinations { allow_private: policy.allow_private, exempt: &[] };
    let url = Url::parse(url).map_err(|e| FetchError::InvalidUrl(e.to_string()))?;
    dest.check(&url)?;
    let send = async {
        let mut request =
            client_for(&url, policy, dest).await?.post(url.clone()).header(CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request.body(body).send().await.map_err(|e| from_reqwest(&e))
    };
    let response = tokio::time::timeout(policy.total_timeout, send).await.map_err(|_| FetchError::Timeout)??;
    Ok(response.status().as_u16())
}

/// One GET, connecting only to addresses `dest` allows.
async fn send(url: &Url, policy: &FetchPolicy, dest: Destinations<'_>) -> Result<reqwest::Response, FetchError> {
    let client = client_for(url, policy, dest).await?;
    client.get(url.clone()).header(ACCEPT_ENCODING, "identity").send().await.map_err(|e| from_reqwest(&e))
}

/// A client for one hop to `url` that can only reach the addresses `dest`
/// allows.
async fn client_for(url: &Url, policy: &FetchPolicy, dest: Destinations<'_>) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(Policy::none())
        .dns_resolver(Arc::new(NoLookup))
        .connect_timeout(policy.connect_timeout)
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .no_deflate()
        .user_agent(USER_AGENT);
    // Literal addresses were checked by `dest.check`; reqwest connects to
    // them without a lookup. Names are resolved and checked here.
    if let Some(Host::Domain(name)) = url.host() {
        let port = url.port_or_known_default().ok_or_else(|| FetchError::InvalidUrl("no port".into()))?;
        let addrs = dest.resolve(name, port, policy.connect_timeout).await?;
        builder = builder.resolve_to_addrs(name, &addrs);
    }
    builder.build().map_err(|e| FetchError::Network(describe(&e)))
}

/// The next URL when `response` is a redirect with a usable `Location`.
fn redirect_target(current: &Url, response: &reqwest::Response) -> Result<Option<Url>, FetchError> {
    let redirect = matches!(
        response.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    );
    // A redirect without `Location` is left to `into_fetched` as a status.
    let Some(location) = response.headers().get(LOCATION).filter(|_| redirect) else {
        return Ok(None);
    };
    let location = location.to_str().map_err(|_| FetchError::InvalidUrl("redirect location is not text".into()))?;
    let next = current.join(location).map_err(|e| FetchError::InvalidUrl(format!("redirect location: {e}")))?;
    Ok(Some(next))
}

fn into_fetched(
    response: reqwest::Response,
    final_url: Url,
    policy: &FetchPolicy,
    deadline: Instant,
) -> Result<Fetched, FetchError> {
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    let content_length = response.content_length();
    if content_length.is_some_and(|len| len > policy.max_bytes) {
        return Err(FetchError::TooLarge { limit: policy.max_bytes });
    }
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let filename = filename::from_response(response.headers(), &final_url);
    let wire = Box::pin(response.bytes_stream().map_err(|e| std::io::Error::from(from_reqwest(&e))));
    let stream = Box::pin(CappedBody::new(wire, policy.max_bytes, deadline));
    Ok(Fetched { stream, content_length, content_type, final_url, filename })
}

fn from_reqwest(err: &reqwest::Error) -> FetchError {
    if err.is_timeout() { FetchError::Timeout } else { FetchError::Network(describe(&err)) }
}

/// The fallback resolver behind the pinned addresses: reqwest should never
/// reach it, and if it ever does, it gets no address rather than an
/// unchecked one.
struct NoLookup;

impl Resolve for NoLookup {
    fn resolve(&self, name: Name) -> Resolving {
        let err = format!("refusing unchecked DNS lookup of {}", name.as_str());
        Box::pin(std::future::ready(Err(err.into())))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use futures::StreamExt;

    use super::super::test_server::{Reply, TestServer};
    use super::*;

    const LOOPBACK: [IpAddr; 1] = [IpAddr::V4(Ipv4Addr::LOCALHOST)];

    fn policy() -> FetchPolicy {
        FetchPolicy {
            allow_private: true,
            max_bytes: 1000,
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            max_redirects: 3,
        }
    }

    /// Public rules, except that 127.0.0.1 (and only that spelling) counts
    /// as public, so redirects off it can be checked with real servers.
    fn loopback_is_public() -> Destinations<'static> {
        Destinations { allow_private: false, exempt: &LOOPBACK }
    }

    async fn read_all(fetched: Fetched) -> Result<Vec<u8>, FetchError> {
        let mut body = Vec::new();
        let mut stream = fetched.stream;
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.map_err(FetchError::from_body_error)?);
        }
        Ok(body)
    }

    /// A generous bound so a broken timeout fails the test instead of
    /// hanging it.
    async fn within<T>(fut: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(20), fut).await.expect("took far too long")
    }

    #[tokio::test]
    async fn plain_fetch_with_private_allowed() {
        let server = TestServer::start(|_| Reply::Full {
            status: 200,
            headers: vec![("Content-Type", "image/png".into())],
            body: b"\x89PNG fake".to_vec(),
        })
        .await;
        let fetched = fetch(&server.url("/pics/a%20cat.png?x=1"), &policy()).await.unwrap();
        assert_eq!(fetched.content_length, Some(9));
        assert_eq!(fetched.content_type.as_deref(), Some("image/png"));
        assert_eq!(fetched.filename.as_deref(), Some("a cat.png"));
        assert_eq!(fetched.final_url.path(), "/pics/a%20cat.png");
        assert_eq!(read_all(fetched).await.unwrap(), b"\x89PNG fake");
        let head = server.requests()[0].to_ascii_lowercase();
        assert!(head.contains("accept-encoding: identity") && head.contains("user-agent: mediaq/"), "{head}");
    }

    #[tokio::test]
    async fn names_are_resolved_and_pinned() {
        let server = TestServer::start(|_| Reply::ok(b"via name")).await;
        let url = format!("http://localhost:{}/x.bin", server.port());
        assert_eq!(read_all(fetch(&url, &policy()).await.unwrap()).await.unwrap(), b"via name");
    }

    #[tokio::test]
    async fn loopback_is_refused_without_connecting() {
        let server = TestServer::start(|_| Reply::ok(b"secret")).await;
        let public = FetchPolicy { allow_private: false, ..policy() };
        let port = server.port();
        let urls = [server.url("/"), format!("http://localhost:{port}/"), format!("http://[::ffff:127.0.0.1]:{port}/")];
        for url in urls {
            let err = fetch(&url, &public).await.unwrap_err();
            assert!(matches!(err, FetchError::Refused(_)) && err.is_permanent(), "{url}: {err:?}");
        }
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn every_redirect_hop_is_rechecked() {
        let inner = TestServer::start(|_| Reply::ok(b"secret")).await;
        let port = inner.port();
        let outer = TestServer::start(move |path| match path {
            "/mapped" => Reply::redirect(302, format!("http://[::ffff:127.0.0.1]:{port}/")),
            "/name" => Reply::redirect(301, format!("http://localhost:{port}/")),
            "/other-loopback" => Reply::redirect(307, format!("http://127.0.0.2:{port}/")),
            "/ftp" => Reply::redirect(302, "ftp://example.com/a.jpg"),
            "/creds" => Reply::redirect(308, format!("http://user@127.0.0.1:{port}/")),
            "/ok" => Reply::redirect(303, format!("http://127.0.0.1:{port}/final.jpg")),
            _ => Reply::status(404),
        })
        .await;
        for path in ["/mapped", "/name", "/other-loopback", "/ftp", "/creds"] {
            let err = fetch_to(&outer.url(path), &policy(), loopback_is_public()).await.unwrap_err();
            assert!(matches!(err, FetchError::Refused(_)), "{path}: {err:?}");
        }
        assert!(inner.requests().is_empty(), "a refused hop was contacted");

        let fetched = fetch_to(&outer.url("/ok"), &policy(), loopback_is_public()).await.unwrap();
        assert_eq!(fetched.final_url.as_str(), format!("http://127.0.0.1:{port}/final.jpg"));
        assert_eq!(fetched.filename.as_deref(), Some("final.jpg"));
        assert_eq!(read_all(fetched).await.unwrap(), b"secret");
    }

    #[tokio::test]
    async fn redirects_are_capped() {
        let server = TestServer::start(|path| match path {
            "/loop" => Reply::redirect(302, "/loop"),
            "/a" => Reply::redirect(301, "b"),
            "/b" => Reply::redirect(302, "/c"),
            "/c" => Reply::ok(b"c"),
            _ => Reply::status(404),
        })
        .await;
        let err = fetch(&server.url("/loop"), &policy()).await.unwrap_err();
        assert!(matches!(err, FetchError::TooManyRedirects(3)) && err.is_permanent(), "{err:?}");
        assert_eq!(server.requests().len(), 4, "first request plus three redirects");

        let fetched = fetch(&server.url("/a"), &policy()).await.unwrap();
        assert_eq!(fetched.final_url.path(), "/c");

        let none = FetchPolicy { max_redirects: 0, ..policy() };
        assert!(matches!(fetch(&server.url("/a"), &none).await, Err(FetchError::TooManyRedirects(0))));
    }

    #[tokio::test]
    async fn error_statuses() {
        let server = TestServer::start(|path| match path {
            "/missing" => Reply::status(404),
            "/busy" => Reply::status(503),
            "/limited" => Reply::status(429),
            _ => Reply::Full { status: 302, headers: Vec::new(), body: Vec::new() },
        })
        .await;
        let err = fetch(&server.url("/missing"), &policy()).await.unwrap_err();
        assert!(matches!(err, FetchError::Status(404)) && err.is_permanent());
        let err = fetch(&server.url("/busy"), &policy()).await.unwrap_err();
        assert!(matches!(err, FetchError::Status(503)) && !err.is_permanent());
        let err = fetch(&server.url("/limited"), &policy()).await.unwrap_err();
        assert!(matches!(err, FetchError::Status(429)) && !err.is_permanent());
        let err = fetch(&server.url("/no-location"), &policy()).await.unwrap_err();
        assert!(matches!(err, FetchError::Status(302)), "{err:?}");
    }

    #[tokio::test]
    async fn declared_oversize_fails_before_the_body() {
        let server = TestServer::start(|_| Reply::Stall { declared: 5000, sent: 10 }).await;
        let err = within(fetch(&server.url("/big"), &policy())).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { limit: 1000 }) && err.is_permanent(), "{err:?}");
    }

    #[tokio::test]
    async fn exactly_the_limit_is_accepted() {
        let server = TestServer::start(|_| Reply::ok(&[7u8; 1000])).await;
        let body = read_all(fetch(&server.url("/"), &policy()).await.unwrap()).await.unwrap();
        assert_eq!(body.len(), 1000);
    }

    #[tokio::test]
    async fn endless_body_is_cut_at_the_cap() {
        let server = TestServer::start(|_| Reply::Endless { chunk: 300 }).await;
        let fetched = fetch(&server.url("/stream"), &policy()).await.unwrap();
        assert_eq!(fetched.content_length, None);
        let mut stream = fetched.stream;
        let mut received = 0;
        let err = within(async {
            loop {
                match stream.next().await {
                    Some(Ok(chunk)) => received += chunk.len(),
                    Some(Err(err)) => break err,
                    None => panic!("endless body ended"),
                }
            }
        })
        .await;
        assert!(matches!(FetchError::from_body_error(err), FetchError::TooLarge { limit: 1000 }));
        assert!(received <= 1000, "{received} bytes passed the cap");
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn slow_body_times_out() {
        let server = TestServer::start(|_| Reply::Stall { declared: 500, sent: 10 }).await;
        let quick = FetchPolicy { total_timeout: Duration::from_millis(300), ..policy() };
        let fetched = fetch(&server.url("/slow"), &quick).await.unwrap();
        let err = within(read_all(fetched)).await.unwrap_err();
        assert!(matches!(err, FetchError::Timeout) && !err.is_permanent(), "{err:?}");
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let server = TestServer::start(|_| Reply::Silent).await;
        let quick = FetchPolicy { total_timeout: Duration::from_millis(300), ..policy() };
        let err = within(fetch(&server.url("/"), &quick)).await.unwrap_err();
        assert!(matches!(err, FetchError::Timeout), "{err:?}");
    }

    #[tokio::test]
    async fn closed_port_is_a_retryable_network_error() {
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let err = fetch(&format!("http://127.0.0.1:{port}/"), &policy()).await.unwrap_err();
        assert!(matches!(err, FetchError::Network(_)) && !err.is_permanent(), "{err:?}");
    }

    #[tokio::test]
    async fn filename_from_content_disposition() {
        let server = TestServer::start(|_| Reply::Full {
            status: 200,
            headers: vec![("Content-Disposition", "attachment; filename=\"../holiday.jpg\"".into())],
            body: b"jpeg".to_vec(),
        })
        .await;
        let fetched = fetch(&server.url("/download?id=3"), &policy()).await.unwrap();
        assert_eq!(fetched.filename.as_deref(), Some("holiday.jpg"));
    }

    #[tokio::test]
    async fn bad_schemes_and_credentials_never_connect() {
        for url in
            ["ftp://127.0.0.1/a.jpg", "file:///etc/passwd", "http://user@127.0.0.1/", "http://user:pw@example.com/"]
        {
            let err = fetch(url, &policy()).await.unwrap_err();
            assert!(matches!(err, FetchError::Refused(_)), "{url}: {err:?}");
        }
        assert!(matches!(fetch("no url", &policy()).await, Err(FetchError::InvalidUrl(_))));
    }
}
