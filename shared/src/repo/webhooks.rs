//! Webhooks, their messages (one per event and webhook, the same body and
//! id on every retry) and the delivery log (one row per attempt).
//! `sql_webhook_repo!` implements the trait for both backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::repo::RepoError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub owner_id: UserId,
    pub url: String,
    /// Event types (`file.ready`, …).
    pub events: Vec<String>,
    /// `whsec_` + base64: signs deliveries, so kept as issued.
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

/// One message to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The `webhook-id` header: the same on every attempt.
    pub id: String,
    pub webhook_id: String,
    pub event: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// One attempt of a delivery, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub delivery_id: String,
    pub event: String,
    pub attempt: u32,
    /// The HTTP status answered; `None` when there was no answer.
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait WebhookRepo: Send + Sync {
    async fn insert_webhook(&self, hook: &Webhook) -> Result<(), RepoError>;
    async fn webhook(&self, id: &str) -> Result<Webhook, RepoError>;
    /// The owner's webhooks, oldest first.
    async fn list_webhooks(&self, owner: UserId) -> Result<Vec<Webhook>, RepoError>;
    /// Removes the webhook with its messages and log; false when the
    /// owner has no such webhook.
    async fn delete_webhook(&self, owner: UserId, id: &str) -> Result<bool, RepoError>;
    async fn insert_delivery(&self, delivery: &Delivery) -> Result<(), RepoError>;
    async fn delivery(&self, id: &str) -> Result<Delivery, RepoError>;
    async fn record_attempt(&self, attempt: &Attempt, webhook_id: &str) -> Result<(), RepoError>;
    /// The webhook's latest attempts, newest first.
    async fn attempts(&self, webhook_id: &str, limit: u64) -> Result<Vec<Attempt>, RepoError>;
}

macro_rules! sql_webhook_repo {
    ($repo:ident) => {
        mod webhooks_impl {
            use async_trait::async_trait;
            use sqlx::Row;

            use super::{$repo, DbRow};
            use crate::domain::UserId;
            use crate::repo::RepoError;
            use crate::repo::webhooks::{Attempt, Delivery, Webhook, WebhookRepo};

            const COLUMNS: &str = "id, owner_id, url, events, secret, created_at";

            fn hook_from_row(row: &DbRow) -> Result<Webhook, RepoError> {
                let events: String = row.try_get("events")?;
                Ok(Webhook {
                    id: row.try_get("id")?,
                    owner_id: UserId(row.try_get("owner_id")?),
                    url: row.try_get("url")?,
                    events: events.split(',').filter(|e| !e.is_empty()).map(str::to_owned).collect(),
                    secret: row.try_get("secret")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            fn attempt_from_row(row: &DbRow) -> Result<Attempt, RepoError> {
                let status: Option<i64> = row.try_get("http_status")?;
                let attempt: i64 = row.try_get("attempt")?;
                Ok(Attempt {
                    delivery_id: row.try_get("delivery_id")?,
                    event: row.try_get("event")?,
                    attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                    http_status: status.and_then(|s| u16::try_from(s).ok()),
                    error: row.try_get("error")?,
                    at: row.try_get("at")?,
                })
            }

            #[async_trait]
            impl WebhookRepo for $repo {
                async fn insert_webhook(&self, h: &Webhook) -> Result<(), RepoError> {
                    sqlx::query("INSERT INTO webhooks (id, owner_id, url, events, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&h.id)
                        .bind(h.owner_id.0)
                        .bind(&h.url)
                        .bind(h.events.join(","))
                        .bind(&h.secret)
                        .bind(h.created_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn webhook(&self, id: &str) -> Result<Webhook, RepoError> {
                    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
                    hook_from_row(&sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&self.pool).await?)
                }

                async fn list_webhooks(&self, owner: UserId) -> Result<Vec<Webhook>, RepoError> {
                    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE owner_id = $1 ORDER BY created_at, id");
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner.0).fetch_all(&self.pool).await?;
                    rows.iter().map(hook_from_row).collect()
                }

                async fn delete_webhook(&self, owner: UserId, id: &str) -> Result<bool, RepoError> {
                    let done = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND owner_id = $2")
                        .bind(id)
                        .bind(owner.0)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn insert_delivery(&self, d: &Delivery) -> Result<(), RepoError> {
                    sqlx::query("INSERT INTO webhook_deliveries (id, webhook_id, event, body, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(&d.id)
                        .bind(&d.webhook_id)
                        .bind(&d.event)
                        .bind(&d.body)
                        .bind(d.created_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn delivery(&self, id: &str) -> Result<Delivery, RepoError> {
                    let row = sqlx::query("SELECT id, webhook_id, event, body, created_at FROM webhook_deliveries WHERE id = $1")
                        .bind(id)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(Delivery {
                        id: row.try_get("id")?,
                        webhook_id: row.try_get("webhook_id")?,
                        event: row.try_get("event")?,
                        body: row.try_get("body")?,
                        created_at: row.try_get("created_at")?,
                    })
                }

                async fn record_attempt(&self, a: &Attempt, webhook_id: &str) -> Result<(), RepoError> {
                    sqlx::query("INSERT INTO webhook_attempts (delivery_id, webhook_id, event, attempt, http_status, error, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(&a.delivery_id)
                        .bind(webhook_id)
                        .bind(&a.event)
                        .bind(i64::from(a.attempt))
                        .bind(a.http_status.map(i64::from))
                        .bind(&a.error)
                        .bind(a.at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn attempts(&self, webhook_id: &str, limit: u64) -> Result<Vec<Attempt>, RepoError> {
                    let rows = sqlx::query("SELECT delivery_id, event, attempt, http_status, error, at FROM webhook_attempts WHERE webhook_id = $1 ORDER BY at DESC, attempt DESC LIMIT $2")
                        .bind(webhook_id)
                        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(attempt_from_row).collect()
                }
            }
        }
    };
}
