//! Webhook deliveries, signed as the Standard Webhooks specification says:
//! headers `webhook-id` (the message id, the same on every retry),
//! `webhook-timestamp` (seconds) and `webhook-signature`
//! (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed by the
//! base64-decoded part of the `whsec_` secret).
//!
//! An event makes one message per subscribed webhook ([`queue_event`]),
//! stored with its body, and a job on the `mediaq.webhook` queue. Each job
//! is one attempt ([`attempt`]): a non-2xx answer, a timeout or a refused
//! address queues the next attempt after [`RETRY_DELAYS`] (over four hours
//! in all), in the queue's storage, so retries survive restarts. The URL
//! passes the remote-fetch address rules at every attempt.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::domain::random_token;
use crate::events::FileEvent;
use crate::fetch::{self, FetchPolicy};
use crate::queue::{DeliverWebhook, Job, JobQueue, QueueError};
use crate::repo::{Attempt, Delivery, DynRepo, RepoError, now};

/// The wait before attempt 2, 3, …: after the last, the message is given
/// up (4 h 23 min after the first attempt).
pub const RETRY_DELAYS: [Duration; 8] = [
    Duration::from_secs(2),
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(2 * 60 * 60),
];

/// One attempt's time limit, connect to last byte.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// A new secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// `v1,<base64 HMAC-SHA256>` of `id.timestamp.body` under `secret`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap_or_else(|_| secret.as_bytes().to_vec());
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else { return String::new() };
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Queues `event` about file `data` (its resource) for each of `owner`'s
/// webhooks subscribed to it.
pub async fn queue_event(
    repo: &DynRepo,
    queue: &dyn JobQueue,
    owner: crate::domain::UserId,
    event: FileEvent,
    data: Value,
) -> Result<(), WebhookError> {
    let hooks = repo.list_webhooks(owner).await?;
    let at = now();
    let body = json!({ "type": event.as_str(), "timestamp": at, "data": data }).to_string();
    for hook in hooks.iter().filter(|h| h.events.iter().any(|e| e == event.as_str())) {
        let delivery = Delivery {
            id: format!("msg_{}", random_token(24)),
            webhook_id: hook.id.clone(),
            event: event.as_str().to_owned(),
            body: body.clone(),
            created_at: at,
        };
        repo.insert_delivery(&delivery).await?;
        let job = DeliverWebhook { delivery_id: delivery.id, attempt: 1 };
        queue.enqueue(Job::Webhook(job, Duration::ZERO)).await?;
    }
    Ok(())
}

/// Runs one attempt of a delivery, logs it, and queues the next attempt
/// when this one failed and retries remain. A delivery whose webhook was
/// removed meanwhile is dropped.
pub async fn attempt(
    repo: &DynRepo,
    queue: &dyn JobQueue,
    allow_private: bool,
    job: &DeliverWebhook,
) -> Result<(), WebhookError> {
    let delivery = match repo.delivery(&job.delivery_id).await {
        Ok(d) => d,
        Err(RepoError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let hook = match repo.webhook(&delivery.webhook_id).await {
        Ok(h) => h,
        Err(RepoError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let timestamp = chrono::Utc::now().timestamp();
    let headers = [
        ("webhook-id", delivery.id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", sign(&hook.secret, &delivery.id, timestamp, &delivery.body)),
    ];
    let policy = FetchPolicy {
        allow_private,
        connect_timeout: ATTEMPT_TIMEOUT,
        total_timeout: ATTEMPT_TIMEOUT,
        ..FetchPolicy::default()
    };
    let result = fetch::post(&hook.url, &policy, &headers, delivery.body.clone()).await;
    let (http_status, error) = match &result {
        Ok(status) => (Some(*status), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let ok = http_status.is_some_and(|s| (200..300).contains(&s));
    let logged = Attempt {
        delivery_id: delivery.id.clone(),
        event: delivery.event.clone(),
        attempt: job.attempt,
        http_status,
        error,
        at: now(),
    };
    match repo.record_attempt(&logged, &hook.id).await {
        Ok(()) | Err(RepoError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let next = usize::try_from(job.attempt).ok().and_then(|n| RETRY_DELAYS.get(n - 1));
    match (ok, next) {
        (true, _) => tracing::info!(delivery = %delivery.id, attempt = job.attempt, "webhook delivered"),
        (false, Some(delay)) => {
            tracing::info!(delivery = %delivery.id, attempt = job.attempt, ?http_status, "webhook failed; retrying");
            let next = DeliverWebhook { delivery_id: delivery.id, attempt: job.attempt + 1 };
            queue.enqueue(Job::Webhook(next, *delay)).await?;
        }
        (false, None) => tracing::warn!(delivery = %delivery.id, "webhook failed at every attempt; given up"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_specification_example() {
        // The example of the Standard Webhooks reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let sig = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
