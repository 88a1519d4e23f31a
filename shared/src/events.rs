//! What happens to a file, said once where it happens: every guarded
//! status transition that applied calls [`emit`], which tells waiters
//! and live streams ([`crate::notify`]) and, for the transitions webhooks
//! know ([`FileEvent`]), queues a delivery to each subscribed webhook.

use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::domain::{Media, MediaId, Variant};
use crate::queue::JobQueue;
use crate::repo::DynRepo;

/// Renders a file resource (`base` URL, media, variants): the API's native
/// shape, set once at start-up by the binary ([`set_renderer`]), so the
/// workers send the same shape the API serves.
pub type Renderer = fn(&str, &Media, &[Variant]) -> Value;

static RENDERER: OnceLock<(Renderer, String)> = OnceLock::new();

/// Sets how webhook bodies show a file, and the public base URL.
pub fn set_renderer(render: Renderer, base: String) {
    let _ = RENDERER.set((render, base));
}

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
/// delivery jobs) and the repository (the media, the subscribed webhooks).
pub struct Emitter<'a> {
    pub queue: &'a dyn JobQueue,
    pub repo: &'a DynRepo,
}

/// Media `id` changed status (a guarded write applied). `event` is the
/// webhook event the change makes, if any (`queued → processing` makes
/// none). Never fails: a lost notification costs latency only.
pub async fn emit(to: Emitter<'_>, id: &MediaId, event: Option<FileEvent>) {
    to.queue.signals().status_changed(id).await;
    if let Some(event) = event
        && let Err(e) = queue_webhooks(&to, id, event).await
    {
        tracing::warn!(media = %id, event = event.as_str(), error = %e, "webhook deliveries not queued");
    }
}

async fn queue_webhooks(to: &Emitter<'_>, id: &MediaId, event: FileEvent) -> Result<(), crate::webhooks::WebhookError> {
    let media = to.repo.media(id).await?;
    let data = match RENDERER.get() {
        Some((render, base)) => render(base, &media, &to.repo.variants(id).await?),
        None => json!({ "id": media.id.as_str(), "status": media.status.as_str() }),
    };
    crate::webhooks::queue_event(to.repo, to.queue, media.owner_id, event, data).await
}
