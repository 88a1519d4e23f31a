-- Quotas: an optional file-count limit beside quota_bytes, and the space
-- uploads in flight hold. A reservation expires by itself, so one left by
-- a crashed request stops counting.
ALTER TABLE users ADD COLUMN quota_files BIGINT;
CREATE TABLE quota_reservations (
    id         TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    bytes      BIGINT NOT NULL,
    files      BIGINT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX quota_reservations_user ON quota_reservations (user_id, expires_at);
