//! Waiting, within a bound, for a media's processing to settle: the
//! Chevereto upload answers with finished metadata when it can.
//!
//! Workers may run in other processes, so the status is read back from the
//! database, backing off from 25 ms to 200 ms between reads.

use std::time::Duration;

use tokio::time::Instant;

use mediaq_shared::domain::{Media, MediaId};
use mediaq_shared::repo::{DynRepo, RepoError};

const FIRST_DELAY: Duration = Duration::from_millis(25);
const MAX_DELAY: Duration = Duration::from_millis(200);

/// The media once settled (ready or failed), or as it stands at `timeout`.
pub async fn until_settled(repo: &DynRepo, id: &MediaId, timeout: Duration) -> Result<Media, RepoError> {
    let deadline = Instant::now() + timeout;
    let mut delay = FIRST_DELAY;
    loop {
        let media = repo.media(id).await?;
        let now = Instant::now();
        if media.status.is_settled() || now >= deadline {
            return Ok(media);
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = (delay * 2).min(MAX_DELAY);
    }
}
