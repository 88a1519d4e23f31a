//! Prometheus metrics over HTTP: [`track`] records every request (count and
//! latency by method, route template and status; body bytes both ways),
//! [`router`] serves `GET /metrics` on the API, and [`serve_standalone`]
//! serves it alone on `MEDIAQ_METRICS_LISTEN` (the only listener of
//! `mediaq work`). Names and help texts are in `mediaq_shared::metrics`.
//!
//! Routes are labelled by their template (`/api/v1/files/{id}`), never by
//! the raw path, so no id or token reaches a label; requests no route
//! matched share `route="unmatched"`. With `MEDIAQ_METRICS_TOKEN` set,
//! `/metrics` wants it as a Bearer token on every listener.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use metrics::{Counter, counter, histogram};
use tokio::net::TcpListener;

use mediaq_shared::config::Secret;
use mediaq_shared::metrics::{HTTP_DURATION, HTTP_RECEIVED, HTTP_REQUESTS, HTTP_SENT};
use mediaq_shared::queue::DynQueue;

use crate::AppState;
use crate::error::ApiError;
use crate::policy::constant_time_eq;

/// What `/metrics` needs: the queue (for its depth) and the token.
#[derive(Clone)]
pub struct Scrape {
    pub queue: DynQueue,
    pub token: Option<Secret>,
}

/// `GET /metrics` on the API's own listener.
pub fn router(state: &AppState) -> Router<AppState> {
    let scrape = Scrape { queue: state.queue.clone(), token: state.config.metrics_token.clone() };
    Router::new().route("/metrics", get(metrics)).with_state(scrape)
}

/// Serves only `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve_standalone(
    listener: TcpListener,
    scrape: Scrape,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "serving metrics");
    let app = Router::new().route("/metrics", get(metrics)).with_state(scrape);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn metrics(State(scrape): State<Scrape>, headers: HeaderMap) -> Response {
    if let Some(token) = &scrape.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.expose().as_bytes())) {
            let mut res =
                ApiError::Unauthorized("/metrics needs the metrics token as a Bearer token".into()).into_response();
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return res;
        }
    }
    let text = mediaq_shared::metrics::render(scrape.queue.as_ref()).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// Counts the request and its latency (to the response head) by method,
/// route template and status, and the body bytes read and sent.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = method_label(request.method());
    let received = counter!(HTTP_RECEIVED, "route" => route.clone());
    let request = request.map(|body| Body::new(Counted { inner: body, counter: received }));
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method.to_owned()), ("route", route.clone()), ("status", status)];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(started.elapsed().as_secs_f64());
    let sent = counter!(HTTP_SENT, "route" => route);
    response.map(|body| Body::new(Counted { inner: body, counter: sent }))
}

/// The method as a label: the standard ones, anything else as `other`
/// (a client may send any token as a method).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A body that adds the length of each data frame passing through to a
/// counter, and otherwise changes nothing (its size hint included, so a
/// `Content-Length` stays).
struct Counted {
    inner: Body,
    counter: Counter,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.counter.increment(data.len() as u64);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counted_bodies_keep_their_length_and_count_every_byte() {
        use http_body::Body as _;
        let body = Counted { inner: Body::from(vec![7u8; 1000]), counter: Counter::noop() };
        assert_eq!(body.size_hint().exact(), Some(1000));
        let bytes = axum::body::to_bytes(Body::new(body), usize::MAX).await.unwrap();
        assert_eq!(bytes.len(), 1000);
    }

    #[test]
    fn odd_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
