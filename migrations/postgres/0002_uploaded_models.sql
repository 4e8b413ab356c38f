-- Uploaded model weights (safetensors validated against an architecture's names and shapes).
CREATE TABLE uploaded_models (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    tenant        TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
    architecture  TEXT NOT NULL,
    dataset       TEXT NOT NULL,
    options       TEXT CHECK (options IS NULL OR bonsai_json_valid(options)),
    path          TEXT NOT NULL,
    bytes         BIGINT NOT NULL CHECK (bytes >= 0),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    tensors       BIGINT NOT NULL CHECK (tensors >= 0),
    created_at    DOUBLE PRECISION NOT NULL
);
CREATE INDEX uploaded_models_tenant ON uploaded_models (tenant, seq);
