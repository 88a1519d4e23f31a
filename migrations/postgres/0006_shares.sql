-- Read-only shares of a file or a folder with another user.
CREATE TABLE shares (
    id          TEXT PRIMARY KEY,
    owner_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sharee_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (sharee_id, target_kind, target_id)
);
CREATE INDEX shares_owner ON shares (owner_id);
