//! Live status: `GET /api/v1/files/{id}/events`, Server-Sent Events.
//!
//! One `status` event per change of the file's status, its data the file
//! resource as it stands; the current status first; the stream closes
//! after a settled status (`ready`, `failed`, `deleted`, `expired`).
//! Changes are heard from the queue's [`Signals`] (in memory, or through
//! Redis from worker processes), with a read of the row every
//! [`SAFETY_POLL`] in case a message was lost. Readable by the file's
//! owner, an admin, or a user it is shared with.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use mediaq_shared::domain::{MediaId, MediaStatus};
use mediaq_shared::notify::SAFETY_POLL;
use mediaq_shared::repo::RepoError;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::readable_file;
use crate::present::native::resource;
use crate::state::AppState;
use crate::wait::changed;

/// A comment this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/files/{id}/events", get(events))
}

/// Cancelled when the server begins to shut down: open streams end, so
/// the graceful shutdown does not wait for them (clients reconnect).
#[derive(Debug, Clone, Default)]
pub struct Closing(CancellationToken);

impl Closing {
    pub fn close(&self) {
        self.0.cancel();
    }
}

/// Where one stream stands.
struct Watch {
    state: AppState,
    id: MediaId,
    changes: broadcast::Receiver<MediaId>,
    last: Option<MediaStatus>,
    done: bool,
}

async fn events(
    State(state): State<AppState>,
    closing: Option<Extension<Closing>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribed before the access check reads the row: no change is missed.
    let changes = state.queue.signals().subscribe_status();
    let media = readable_file(&state, &caller, &id).await?;
    let watch = Watch { state, id: media.id, changes, last: None, done: false };
    let stream = futures::stream::unfold(watch, |mut watch| async move {
        let event = next_change(&mut watch).await?;
        Some((Ok(event), watch))
    });
    let closing = closing.map(|Extension(c)| c.0).unwrap_or_default();
    let stream = stream.take_until(closing.cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// The next `status` event, or `None` once a settled status was sent.
async fn next_change(watch: &mut Watch) -> Option<Event> {
    if watch.done {
        return None;
    }
    loop {
        if let Some((status, data)) = current(watch).await
            && watch.last != Some(status)
        {
            watch.last = Some(status);
            watch.done = status.is_settled();
            return Some(Event::default().event("status").data(data.to_string()));
        }
        let _ = tokio::time::timeout(SAFETY_POLL, changed(&mut watch.changes, &watch.id)).await;
    }
}

/// The file's status and resource now; a removed row reads as deleted.
/// `None` when the database cannot be read (the next look tries again).
async fn current(watch: &Watch) -> Option<(MediaStatus, Value)> {
    match watch.state.repo.media(&watch.id).await {
        Ok(media) => match resource(&watch.state, &media).await {
            Ok(data) => Some((media.status, data)),
            Err(e) => {
                tracing::warn!(media = %watch.id, error = %e, "status stream: cannot read the file");
                None
            }
        },
        Err(RepoError::NotFound) => {
            Some((MediaStatus::Deleted, json!({ "id": watch.id.as_str(), "status": MediaStatus::Deleted.as_str() })))
        }
        Err(e) => {
            tracing::warn!(media = %watch.id, error = %e, "status stream: cannot read the file");
            None
        }
    }
}
