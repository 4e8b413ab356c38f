-- Uploaded model weights (safetensors validated against an architecture's names and shapes).
CREATE TABLE uploaded_models (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    tenant        TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    architecture  TEXT NOT NULL,
    dataset       TEXT NOT NULL,
    options       TEXT CHECK (options IS NULL OR json_valid(options)),
    path          TEXT NOT NULL,
    bytes         INTEGER NOT NULL CHECK (bytes >= 0),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    tensors       INTEGER NOT NULL CHECK (tensors >= 0),
    created_at    REAL NOT NULL
);
CREATE INDEX uploaded_models_tenant ON uploaded_models (tenant, seq);
