-- Uploaded data sets (files in the formats the loaders read, validated by loading them whole).
CREATE TABLE uploaded_datasets (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    tenant        TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    format        TEXT NOT NULL CHECK (format IN ('idx', 'cifar', 'tsv')),
    kind          TEXT NOT NULL CHECK (kind IN ('image', 'text')),
    manifest      TEXT NOT NULL CHECK (bonsai_json_valid(manifest)),
    path          TEXT NOT NULL,
    bytes         BIGINT NOT NULL CHECK (bytes >= 0),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    created_at    DOUBLE PRECISION NOT NULL
);
CREATE INDEX uploaded_datasets_tenant ON uploaded_datasets (tenant, seq);
