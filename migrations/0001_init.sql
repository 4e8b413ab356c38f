-- Bonsai job store, version 1. Shipped migrations are never edited: add 0002_….sql instead.
-- Times are Unix seconds (REAL). JSON documents are TEXT checked with json_valid.

CREATE TABLE tenants (
    name          TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    max_running   INTEGER NOT NULL DEFAULT 2   CHECK (max_running >= 1),
    max_queued    INTEGER NOT NULL DEFAULT 100 CHECK (max_queued >= 1),
    created_at    REAL NOT NULL
);

-- Bearer tokens, stored as the hex SHA-256 of the token; the token itself is shown once.
CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY CHECK (length(hash) = 64),
    tenant      TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    admin       INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    label       TEXT,
    created_at  REAL NOT NULL
);

CREATE TABLE jobs (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT NOT NULL UNIQUE,
    tenant            TEXT NOT NULL REFERENCES tenants(name),
    status            TEXT NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority          INTEGER NOT NULL DEFAULT 0,
    spec              TEXT NOT NULL CHECK (json_valid(spec)),
    phase             TEXT,
    progress          REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    planned_steps     INTEGER NOT NULL DEFAULT 0 CHECK (planned_steps >= 0),
    completed_steps   INTEGER NOT NULL DEFAULT 0 CHECK (completed_steps >= 0),
    eta_seconds       REAL,
    latest_metrics    TEXT CHECK (latest_metrics IS NULL OR json_valid(latest_metrics)),
    result            TEXT CHECK (result IS NULL OR json_valid(result)),
    error             TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts      INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    not_before        REAL NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_token       TEXT,
    lease_expires_at  REAL,
    cancel_requested  INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL,
    started_at        REAL,
    finished_at       REAL,
    -- A job holds a lease exactly while it runs.
    CHECK ((status = 'running') = (lease_token IS NOT NULL)),
    CHECK ((status = 'running') = (lease_expires_at IS NOT NULL)),
    CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    CHECK (status != 'succeeded' OR result IS NOT NULL)
);
CREATE INDEX jobs_queue ON jobs (status, priority DESC, seq);
CREATE INDEX jobs_tenant ON jobs (tenant, seq);
CREATE INDEX jobs_lease ON jobs (status, lease_expires_at);

-- Metric history (MLflow-style key, step, value, time). Rows after a resumed checkpoint are deleted.
CREATE TABLE metrics (
    job_seq  INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    step     INTEGER NOT NULL CHECK (step >= 0),
    value    REAL,
    time     REAL NOT NULL,
    PRIMARY KEY (job_seq, key, step)
) WITHOUT ROWID;

CREATE TABLE pruning_events (
    job_seq          INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    ordinal          INTEGER NOT NULL CHECK (ordinal >= 0),
    name             TEXT NOT NULL,
    phase            TEXT NOT NULL,
    step             INTEGER NOT NULL,
    sparsity         REAL NOT NULL CHECK (sparsity >= 0 AND sparsity <= 1),
    accuracy_before  REAL NOT NULL,
    accuracy_after   REAL NOT NULL,
    instability      REAL NOT NULL,
    PRIMARY KEY (job_seq, ordinal)
) WITHOUT ROWID;

-- A job's activity feed for server-sent events; the id is the SSE event id.
CREATE TABLE job_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    job_seq   INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    data      TEXT NOT NULL CHECK (json_valid(data)),
    time      REAL NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_seq, id);

-- Files under the data directory (paths relative to it), written atomically before the row.
CREATE TABLE snapshots (
    job_seq        INTEGER PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE,
    path           TEXT NOT NULL,
    pipeline_step  INTEGER NOT NULL CHECK (pipeline_step >= 0),
    phase          TEXT,
    bytes          INTEGER NOT NULL CHECK (bytes >= 0),
    created_at     REAL NOT NULL
);

CREATE TABLE artifacts (
    job_seq     INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('weights', 'masks', 'compact', 'report')),
    path        TEXT NOT NULL,
    bytes       INTEGER NOT NULL CHECK (bytes >= 0),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    created_at  REAL NOT NULL,
    PRIMARY KEY (job_seq, kind)
) WITHOUT ROWID;

-- Idempotency-Key of POST /v1/jobs: a reservation (job_id NULL) until the job is committed.
CREATE TABLE idempotency_keys (
    tenant        TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    key           TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash  TEXT NOT NULL,
    job_id        TEXT,
    created_at    REAL NOT NULL,
    PRIMARY KEY (tenant, key)
) WITHOUT ROWID;
