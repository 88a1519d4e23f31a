-- Deliveries of the current job of each media (fetch, then processing):
-- counted when a job starts, so a job that kills its worker every time
-- still reaches the delivery limit and ends `failed`.
ALTER TABLE media ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
-- The stuck-media sweep looks for unsettled media by age.
CREATE INDEX media_unsettled ON media (updated_at) WHERE status IN ('queued', 'processing');
