-- Runtime channel pruning (runtime-channel-rl) writes runtime.safetensors: gates and agents for
-- input-dependent inference. SQLite cannot alter a CHECK constraint, so the table is rebuilt.
CREATE TABLE artifacts_new (
    job_seq     INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('weights', 'masks', 'compact', 'report', 'runtime')),
    path        TEXT NOT NULL,
    bytes       INTEGER NOT NULL CHECK (bytes >= 0),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    created_at  REAL NOT NULL,
    PRIMARY KEY (job_seq, kind)
) WITHOUT ROWID;
INSERT INTO artifacts_new SELECT job_seq, kind, path, bytes, sha256, created_at FROM artifacts;
DROP TABLE artifacts;
ALTER TABLE artifacts_new RENAME TO artifacts;
