-- Resumable uploads: tus 1.0 (protocol 'tus'), S3 multipart for Uppy
-- ('s3-multipart') and Uppy's single presigned PUT ('s3-put'). The id is
-- the file id the upload becomes. State lives here, not in a process, so
-- an upload resumes after a restart and on any API process.
CREATE TABLE resumable_uploads (
    id            TEXT PRIMARY KEY,
    owner_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    protocol      TEXT NOT NULL,
    -- Declared size (tus Upload-Length); NULL when not known yet.
    length        BIGINT,
    -- Bytes durably stored so far (tus Upload-Offset).
    upload_offset BIGINT NOT NULL DEFAULT 0,
    -- JSON object: filename, filetype, folderId, title.
    metadata      TEXT NOT NULL,
    -- Where the bytes are assembled.
    object_key    TEXT NOT NULL,
    -- The storage multipart upload underneath, when there is one.
    multipart_id  TEXT,
    -- JSON array of recorded parts [[number, etag, size]] (tus on S3).
    parts         TEXT NOT NULL DEFAULT '[]',
    -- Bytes after the parts, kept in a staging object (tus on S3).
    tail_bytes    BIGINT NOT NULL DEFAULT 0,
    -- The writer currently holding the upload (one PATCH at a time).
    lock_token    TEXT,
    locked_until  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX resumable_uploads_expiry ON resumable_uploads (expires_at);
CREATE INDEX resumable_uploads_multipart ON resumable_uploads (multipart_id);
