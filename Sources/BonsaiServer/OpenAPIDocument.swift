/// The API's OpenAPI 3.1 description, served at `/v1/openapi.json`.
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {"title": "Bonsai job server", "version": "1.0.0",
           "description": "Submit model-pruning jobs, follow them, download pruned weights. Errors are RFC 9457 problem+json."},
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
      "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                  "detail": {"type": "string"}, "instance": {"type": "string"}, "field": {"type": "string"}}},
      "Job": {"type": "object", "properties": {
        "id": {"type": "string", "pattern": "^job-[0-9a-f]{20}$"},
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "cancelled"]},
        "priority": {"type": "integer"}, "phase": {"type": ["string", "null"]},
        "progress": {"type": "object", "properties": {"fraction": {"type": "number"}, "completed_steps": {"type": "integer"},
                     "planned_steps": {"type": "integer"}, "eta_seconds": {"type": ["number", "null"]}}},
        "latest_metrics": {"type": ["object", "null"]}, "result": {"type": ["object", "null"]}, "error": {"type": ["string", "null"]},
        "attempts": {"type": "integer"}, "max_attempts": {"type": "integer"}, "spec": {"type": "object"}}},
      "JobSpec": {"type": "object", "required": ["model", "dataset", "method", "train"], "properties": {
        "model": {"type": "object"}, "dataset": {"type": "object"}, "method": {"type": "object", "required": ["name"]},
        "train": {"type": "object"}, "finetune": {"type": "object"}, "seed": {"type": "integer"}, "threads": {"type": "integer"},
        "priority": {"type": "integer", "minimum": -100, "maximum": 100}}}
    },
    "responses": {"Problem": {"description": "An error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}}
  },
  "security": [{"bearer": []}],
  "paths": {
    "/healthz": {"get": {"security": [], "responses": {"200": {"description": "Alive, data directory writable"}, "503": {"description": "Degraded: the data directory refuses writes (full or read-only) or the store cannot be read"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics (admin token)", "responses": {"200": {"description": "Text exposition"}, "403": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/jobs": {
      "post": {"summary": "Submit a job", "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
               "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobSpec"}}}},
               "responses": {"202": {"description": "Accepted (committed)", "headers": {"Location": {"schema": {"type": "string"}}},
                                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
                             "409": {"$ref": "#/components/responses/Problem"}, "413": {"$ref": "#/components/responses/Problem"},
                             "422": {"$ref": "#/components/responses/Problem"}, "429": {"$ref": "#/components/responses/Problem"}}},
      "get": {"summary": "List jobs (newest first)", "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string"}}, {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
              "responses": {"200": {"description": "A page: {jobs, next_cursor}"}}}
    },
    "/v1/jobs/{id}": {
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"summary": "A job (ETag / If-None-Match)", "responses": {"200": {"description": "The job",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}}, "304": {"description": "Not modified"},
              "404": {"$ref": "#/components/responses/Problem"}}},
      "delete": {"summary": "Delete a finished job", "responses": {"204": {"description": "Deleted"}, "409": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/jobs/{id}/cancel": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "post": {"summary": "Cancel", "responses": {"202": {"description": "Cancelled or cancelling"}, "409": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/jobs/{id}/metrics": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "key", "in": "query", "schema": {"type": "string"}}, {"name": "since", "in": "query", "schema": {"type": "integer"}}],
      "get": {"summary": "Metric history", "responses": {"200": {"description": "{job, metrics: [{key, step, value, time}]}"}}}},
    "/v1/jobs/{id}/events": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}}],
      "get": {"summary": "Server-sent events", "responses": {"200": {"description": "text/event-stream"}}}},
    "/v1/jobs/{id}/weights": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"summary": "Pruned weights (safetensors, PyTorch names, masks applied); Range supported",
              "responses": {"200": {"description": "File"}, "206": {"description": "Part"}, "409": {"$ref": "#/components/responses/Problem"}, "416": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/jobs/{id}/masks": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"summary": "Masks (safetensors, U8)", "responses": {"200": {"description": "File"}, "206": {"description": "Part"}}}},
    "/v1/jobs/{id}/compact": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"summary": "Compacted model (when the method produced one)", "responses": {"200": {"description": "File"}, "404": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/jobs/{id}/report": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"summary": "Pruning report (JSON)", "responses": {"200": {"description": "File"}}}},
    "/v1/jobs/{id}/runtime": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"summary": "Runtime channel pruning state (runtime-channel-rl jobs): gates and agents as safetensors, see docs/runtime-pruning.md", "responses": {"200": {"description": "File"}, "404": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/jobs/{id}/report.html": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"summary": "The report as one self-contained HTML file with inline SVG charts",
              "responses": {"200": {"description": "text/html"}, "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/models": {"post": {"summary": "Upload safetensors weights, validated against an architecture's names and shapes",
      "parameters": [{"name": "architecture", "in": "query", "required": true, "schema": {"type": "string"}},
                     {"name": "dataset", "in": "query", "required": true, "schema": {"type": "string"}},
                     {"name": "options", "in": "query", "schema": {"type": "string", "description": "architecture options as JSON"}}],
      "requestBody": {"required": true, "content": {"application/octet-stream": {}}},
      "responses": {"201": {"description": "Stored"}, "413": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/models/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"summary": "An uploaded model", "responses": {"200": {"description": "The model"}, "404": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/methods": {"get": {"summary": "Pruning methods with settings schemas and defaults", "responses": {"200": {"description": "{methods}"}}}},
    "/v1/architectures": {"get": {"summary": "Model architectures", "responses": {"200": {"description": "{architectures}"}}}},
    "/v1/datasets": {"get": {"summary": "Built-in data sets and the tenant's uploaded ones", "responses": {"200": {"description": "{datasets, uploaded}"}}},
      "post": {"summary": "Upload a data set in a format the loaders read (format idx: train_images, train_labels[, test_images, test_labels, classes]; cifar and tsv: train, classes[, test]); every part is loaded and validated",
        "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["format"],
          "properties": {"format": {"type": "string", "enum": ["idx", "cifar", "tsv"]}, "name": {"type": "string"},
                         "pixel_max": {"type": "integer", "minimum": 1, "maximum": 255},
                         "train_images": {"type": "string", "format": "binary"}, "train_labels": {"type": "string", "format": "binary"},
                         "test_images": {"type": "string", "format": "binary"}, "test_labels": {"type": "string", "format": "binary"},
                         "train": {"type": "string", "format": "binary"}, "test": {"type": "string", "format": "binary"},
                         "classes": {"type": "string", "format": "binary"}}}}}},
        "responses": {"201": {"description": "Stored; the body has the id and the manifest (shape, classes, normalisation, counts)"},
                      "400": {"$ref": "#/components/responses/Problem"}, "413": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/datasets/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"summary": "An uploaded data set", "responses": {"200": {"description": "The data set"}, "404": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
  }
}
"""#
}
