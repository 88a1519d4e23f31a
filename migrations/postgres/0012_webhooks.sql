-- Webhooks: a user's subscriptions to file events. The secret signs each
-- delivery (Standard Webhooks: HMAC-SHA256 keyed by the secret's bytes), so
-- it is kept as issued: a hash could not sign.
CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    owner_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    -- Comma-separated event types (file.ready, ...).
    events     TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_owner ON webhooks (owner_id);

-- One message per event and webhook: its id (webhook-id) and body stay the
-- same across retries.
CREATE TABLE webhook_deliveries (
    id         TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id);

-- The delivery log: one row per attempt (status NULL: no HTTP answer).
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    webhook_id  TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event       TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    http_status BIGINT,
    error       TEXT,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, at);
