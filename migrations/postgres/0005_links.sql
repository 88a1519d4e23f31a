-- Public links to a file or a folder. Tokens are stored as SHA-256 only.
CREATE TABLE public_links (
    id             TEXT PRIMARY KEY,
    owner_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target_kind    TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    password_hash  TEXT,
    expires_at     TIMESTAMPTZ,
    allow_download BOOLEAN NOT NULL DEFAULT TRUE,
    max_views      BIGINT,
    views          BIGINT NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX public_links_owner ON public_links (owner_id);
