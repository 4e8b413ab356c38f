-- Bonsai job store, version 1, PostgreSQL dialect of migrations/0001_init.sql (same tables,
-- columns and constraints). Shipped migrations are never edited: add 0002_….sql instead.
-- Times are Unix seconds (DOUBLE PRECISION). JSON documents are TEXT checked with bonsai_json_valid.
-- Integers are BIGINT (SQLite's INTEGER is 64-bit). Flags are BOOLEAN (SQLite: 0/1).

CREATE FUNCTION bonsai_json_valid(doc TEXT) RETURNS BOOLEAN LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM doc::jsonb;
    RETURN TRUE;
EXCEPTION WHEN others THEN
    RETURN FALSE;
END
$$;

CREATE TABLE tenants (
    name          TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    max_running   BIGINT NOT NULL DEFAULT 2   CHECK (max_running >= 1),
    max_queued    BIGINT NOT NULL DEFAULT 100 CHECK (max_queued >= 1),
    created_at    DOUBLE PRECISION NOT NULL
);

-- Bearer tokens, stored as the hex SHA-256 of the token; the token itself is shown once.
CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY CHECK (length(hash) = 64),
    tenant      TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    admin       BOOLEAN NOT NULL DEFAULT FALSE,
    label       TEXT,
    created_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE jobs (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    tenant            TEXT NOT NULL REFERENCES tenants(name),
    status            TEXT NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority          BIGINT NOT NULL DEFAULT 0,
    spec              TEXT NOT NULL CHECK (bonsai_json_valid(spec)),
    phase             TEXT,
    progress          DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    planned_steps     BIGINT NOT NULL DEFAULT 0 CHECK (planned_steps >= 0),
    completed_steps   BIGINT NOT NULL DEFAULT 0 CHECK (completed_steps >= 0),
    eta_seconds       DOUBLE PRECISION,
    latest_metrics    TEXT CHECK (latest_metrics IS NULL OR bonsai_json_valid(latest_metrics)),
    result            TEXT CHECK (result IS NULL OR bonsai_json_valid(result)),
    error             TEXT,
    attempts          BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts      BIGINT NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    not_before        DOUBLE PRECISION NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_token       TEXT,
    lease_expires_at  DOUBLE PRECISION,
    cancel_requested  BOOLEAN NOT NULL DEFAULT FALSE,
    version           BIGINT NOT NULL DEFAULT 1,
    created_at        DOUBLE PRECISION NOT NULL,
    updated_at        DOUBLE PRECISION NOT NULL,
    started_at        DOUBLE PRECISION,
    finished_at       DOUBLE PRECISION,
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
    job_seq  BIGINT NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    step     BIGINT NOT NULL CHECK (step >= 0),
    value    DOUBLE PRECISION,
    time     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (job_seq, key, step)
);

CREATE TABLE pruning_events (
    job_seq          BIGINT NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    ordinal          BIGINT NOT NULL CHECK (ordinal >= 0),
    name             TEXT NOT NULL,
    phase            TEXT NOT NULL,
    step             BIGINT NOT NULL,
    sparsity         DOUBLE PRECISION NOT NULL CHECK (sparsity >= 0 AND sparsity <= 1),
    accuracy_before  DOUBLE PRECISION NOT NULL,
    accuracy_after   DOUBLE PRECISION NOT NULL,
    instability      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (job_seq, ordinal)
);

-- A job's activity feed for server-sent events; the id is the SSE event id.
CREATE TABLE job_events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_seq   BIGINT NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    data      TEXT NOT NULL CHECK (bonsai_json_valid(data)),
    time      DOUBLE PRECISION NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_seq, id);

-- Files under the data directory (paths relative to it), written atomically before the row.
CREATE TABLE snapshots (
    job_seq        BIGINT PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE,
    path           TEXT NOT NULL,
    pipeline_step  BIGINT NOT NULL CHECK (pipeline_step >= 0),
    phase          TEXT,
    bytes          BIGINT NOT NULL CHECK (bytes >= 0),
    created_at     DOUBLE PRECISION NOT NULL
);

CREATE TABLE artifacts (
    job_seq     BIGINT NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('weights', 'masks', 'compact', 'report')),
    path        TEXT NOT NULL,
    bytes       BIGINT NOT NULL CHECK (bytes >= 0),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    created_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (job_seq, kind)
);

-- Idempotency-Key of POST /v1/jobs: a reservation (job_id NULL) until the job is committed.
CREATE TABLE idempotency_keys (
    tenant        TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    key           TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash  TEXT NOT NULL,
    job_id        TEXT,
    created_at    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant, key)
);
