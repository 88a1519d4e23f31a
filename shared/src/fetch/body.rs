//! The body stream handed to the caller: it counts bytes as they arrive and
//! ends with an error the moment the cap or the fetch's deadline is passed,
//! so a hostile server can neither fill the disk nor hold a worker forever.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::Stream;
use tokio::time::{Instant, Sleep, sleep_until};

use super::FetchError;
use crate::storage::BodyStream;

pub(super) struct CappedBody {
    inner: BodyStream<'static>,
    deadline: Pin<Box<Sleep>>,
    limit: u64,
    received: u64,
    finished: bool,
}

impl CappedBody {
    pub(super) fn new(inner: BodyStream<'static>, limit: u64, deadline: Instant) -> Self {
        Self { inner, deadline: Box::pin(sleep_until(deadline)), limit, received: 0, finished: false }
    }

    fn fail(&mut self, err: FetchError) -> Poll<Option<io::Result<Bytes>>> {
        self.finished = true;
        Poll::Ready(Some(Err(err.into())))
    }
}

impl Stream for CappedBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is boxed or plain data, so `CappedBody` is `Unpin`.
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return this.fail(FetchError::Timeout);
        }
        match ready!(this.inner.as_mut().poll_next(cx)) {
            Some(Ok(chunk)) => {
                this.received = this.received.saturating_add(chunk.len() as u64);
                if this.received > this.limit {
                    return this.fail(FetchError::TooLarge { limit: this.limit });
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Some(Err(err)) => {
                this.finished = true;
                Poll::Ready(Some(Err(err)))
            }
            None => {
                this.finished = true;
                Poll::Ready(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::{StreamExt, stream};

    use super::*;

    fn chunks(sizes: &[usize]) -> BodyStream<'static> {
        let items: Vec<io::Result<Bytes>> = sizes.iter().map(|&n| Ok(Bytes::from(vec![b'x'; n]))).collect();
        Box::pin(stream::iter(items))
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn exactly_the_limit_passes() {
        let body = CappedBody::new(chunks(&[4, 4, 2]), 10, later());
        let got: Vec<_> = body.collect().await;
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(Result::is_ok));
    }

    #[tokio::test]
    async fn one_byte_over_fails_and_ends_the_stream() {
        let mut body = CappedBody::new(chunks(&[4, 4, 3, 100]), 10, later());
        assert!(body.next().await.unwrap().is_ok());
        assert!(body.next().await.unwrap().is_ok());
        let err = body.next().await.unwrap().unwrap_err();
        assert!(matches!(FetchError::from_body_error(err), FetchError::TooLarge { limit: 10 }));
        assert!(body.next().await.is_none());
    }

    #[tokio::test]
    async fn a_stalled_body_times_out() {
        let stalled: BodyStream<'static> = Box::pin(stream::pending());
        let mut body = CappedBody::new(stalled, 10, Instant::now() + Duration::from_millis(50));
        let err = body.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(body.next().await.is_none());
    }
}
