-- Files, not only media: versions, trash, counters and the indexes the
-- sorted and filtered lists need.
--
-- media: `version` is the current version's number (from 1); its name and
-- date sit beside it. Older versions are kept in `media_versions` as
-- snapshots of the media's content facts at the time they were replaced.
ALTER TABLE media ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE media ADD COLUMN version_name TEXT;
ALTER TABLE media ADD COLUMN version_at TEXT;
ALTER TABLE media ADD COLUMN downloads BIGINT NOT NULL DEFAULT 0;
-- Trash: set (only when NULL, on a live media) by a delete; `trashed_with`
-- names the folder whose trashing took the media along (NULL: trashed on
-- its own, listed in the trash by itself).
ALTER TABLE media ADD COLUMN trashed_at TEXT;
ALTER TABLE media ADD COLUMN trashed_with TEXT;
ALTER TABLE folders ADD COLUMN trashed_at TEXT;
ALTER TABLE folders ADD COLUMN trashed_with TEXT;

CREATE TABLE media_versions (
    media_id      TEXT NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    version       BIGINT NOT NULL,
    version_name  TEXT,
    status        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    mime          TEXT NOT NULL,
    extension     TEXT NOT NULL,
    size          BIGINT NOT NULL,
    original_key  TEXT NOT NULL,
    sha256        TEXT,
    md5           TEXT,
    source_md5    TEXT,
    width         BIGINT,
    height        BIGINT,
    duration_ms   BIGINT,
    is_animated   BOOLEAN NOT NULL DEFAULT FALSE,
    -- The version's derivatives as JSON (kind, key, mime, extension,
    -- width, height, size) and their total size (counted in the quota).
    variants      TEXT NOT NULL DEFAULT '[]',
    derived_size  BIGINT NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (media_id, version)
);
CREATE INDEX media_versions_key ON media_versions (original_key);

CREATE INDEX media_owner_updated ON media (owner_id, updated_at);
CREATE INDEX media_owner_name ON media (owner_id, original_filename);
CREATE INDEX media_owner_size ON media (owner_id, size);
CREATE INDEX media_owner_views ON media (owner_id, views);
CREATE INDEX media_owner_downloads ON media (owner_id, downloads);
CREATE INDEX media_owner_sha256 ON media (owner_id, sha256);
CREATE INDEX media_trashed ON media (owner_id, trashed_at) WHERE trashed_at IS NOT NULL;
CREATE INDEX media_trashed_with ON media (trashed_with) WHERE trashed_with IS NOT NULL;
CREATE INDEX folders_trashed ON folders (owner_id, trashed_at) WHERE trashed_at IS NOT NULL;
CREATE INDEX folders_owner_name ON folders (owner_id, name);
CREATE INDEX folders_owner_created ON folders (owner_id, created_at);
CREATE INDEX public_links_owner_created ON public_links (owner_id, created_at);
CREATE INDEX shares_sharee ON shares (sharee_id, created_at);
