//! Waiting, within a bound, for a media's processing to settle: the
//! Chevereto upload answers with finished metadata when it can.
//!
//! Workers may run in other processes, so the status is read back from the
//! database, each time the queue's [`Signals`] say this media changed
//! (in memory in one process, through Redis across processes), and every
//! [`SAFETY_POLL`] in case a message was lost.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use mediaq_shared::domain::{Media, MediaId};
use mediaq_shared::notify::{SAFETY_POLL, Signals};
use mediaq_shared::repo::{DynRepo, RepoError};

/// The media once settled (ready or failed), or as it stands at `timeout`.
pub async fn until_settled(
    repo: &DynRepo,
    signals: &Signals,
    id: &MediaId,
    timeout: Duration,
) -> Result<Media, RepoError> {
    let deadline = Instant::now() + timeout;
    // Subscribed before the first read, so no change between them is missed.
    let mut changes = signals.subscribe_status();
    loop {
        let media = repo.media(id).await?;
        let now = Instant::now();
        if media.status.is_settled() || now >= deadline {
            return Ok(media);
        }
        let _ = tokio::time::timeout(SAFETY_POLL.min(deadline - now), changed(&mut changes, id)).await;
    }
}

/// Returns once `id` is said to have changed (or news may have been
/// missed: the receiver lagged).
pub async fn changed(changes: &mut tokio::sync::broadcast::Receiver<MediaId>, id: &MediaId) {
    loop {
        match changes.recv().await {
            Ok(changed) if changed == *id => return,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => std::future::pending().await,
        }
    }
}
