-- Append-only audit log. No foreign keys: entries outlive what they name.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    actor_id   BIGINT,
    actor_name TEXT,
    credential TEXT,
    ip         TEXT,
    action     TEXT NOT NULL,
    target     TEXT,
    result     TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
