-- Folders (Chevereto albums), nested. media.album_id holds a folder id.
CREATE TABLE folders (
    id         TEXT PRIMARY KEY,
    owner_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    parent_id  TEXT REFERENCES folders(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX folders_owner_parent ON folders (owner_id, parent_id);
CREATE INDEX media_album ON media (album_id) WHERE album_id IS NOT NULL;
