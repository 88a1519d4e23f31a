-- mediaq schema, Postgres flavour.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL DEFAULT 'user',
    status        TEXT NOT NULL DEFAULT 'active',
    password_hash TEXT,
    quota_bytes   BIGINT,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label        TEXT,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE TABLE media (
    id                 TEXT PRIMARY KEY,
    owner_id           BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status             TEXT NOT NULL,
    error              TEXT,
    kind               TEXT NOT NULL,
    mime               TEXT NOT NULL,
    extension          TEXT NOT NULL,
    original_filename  TEXT NOT NULL,
    title              TEXT,
    description        TEXT,
    tags               TEXT NOT NULL DEFAULT '',
    album_id           TEXT,
    category_id        TEXT,
    nsfw               BOOLEAN NOT NULL DEFAULT FALSE,
    is_public          BOOLEAN NOT NULL DEFAULT FALSE,
    size               BIGINT NOT NULL,
    width              BIGINT,
    height             BIGINT,
    duration_ms        BIGINT,
    is_animated        BOOLEAN NOT NULL DEFAULT FALSE,
    original_key       TEXT NOT NULL,
    sha256             TEXT,
    md5                TEXT,
    source_md5         TEXT,
    exif               TEXT,
    resize_width       BIGINT,
    delete_secret_hash TEXT,
    source_url         TEXT,
    public_token       TEXT UNIQUE,
    use_file_date      BOOLEAN NOT NULL DEFAULT FALSE,
    views              BIGINT NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    expires_at         TIMESTAMPTZ
);
CREATE INDEX media_owner_created ON media (owner_id, created_at DESC);
CREATE INDEX media_expires ON media (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE variants (
    media_id  TEXT NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    key       TEXT NOT NULL,
    mime      TEXT NOT NULL,
    extension TEXT NOT NULL,
    width     BIGINT NOT NULL,
    height    BIGINT NOT NULL,
    size      BIGINT NOT NULL,
    PRIMARY KEY (media_id, kind)
);

-- Presigned uploads between initiate and complete.
CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    owner_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    object_key   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX uploads_expires ON uploads (expires_at);

-- Idempotency-Key: a retried ingest request returns the first result.
CREATE TABLE idempotency_keys (
    owner_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    media_id   TEXT NOT NULL,
    response   TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (owner_id, key)
);
