-- Thumbnails by size, made on first request and kept: one row per media
-- and spec (`{W}x{H}-{fit}-{format}`). A row is `rendering` while one
-- process holds the claim (claimed_at), `ready` once its object is stored.
-- source_key names what it was made from, so new content makes it stale.
CREATE TABLE sized_thumbs (
    media_id   TEXT NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    spec       TEXT NOT NULL,
    source_key TEXT NOT NULL,
    status     TEXT NOT NULL,
    claim      TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL,
    key        TEXT,
    mime       TEXT,
    width      BIGINT,
    height     BIGINT,
    size       BIGINT,
    PRIMARY KEY (media_id, spec)
);
-- Upload links into a folder. Tokens are stored as SHA-256 only; the
-- used counters are raised by a conditional UPDATE that reserves a slot.
CREATE TABLE upload_links (
    id            TEXT PRIMARY KEY,
    owner_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    folder_id     TEXT NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    expires_at    TIMESTAMPTZ,
    max_files     BIGINT,
    max_bytes     BIGINT,
    files_used    BIGINT NOT NULL DEFAULT 0,
    bytes_used    BIGINT NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX upload_links_owner ON upload_links (owner_id);
