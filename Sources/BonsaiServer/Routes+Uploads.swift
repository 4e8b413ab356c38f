import BonsaiJobs
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird

extension BonsaiServer {
    func addUploadRoutes(to v1: RouterGroup<BonsaiRequestContext>) {
        v1.post("models") { request, context in try await self.uploadModel(request, context) }
        v1.get("models/:id") { request, context in try await self.showModel(request, context) }
        v1.post("datasets") { request, context in try await self.uploadDataset(request, context) }
        v1.get("datasets/:id") { request, context in try await self.showDataset(request, context) }
    }

    /// `POST /v1/datasets` with a `multipart/form-data` body: the fields `format` (`idx`, `cifar`
    /// or `tsv`), optional `name` and `pixel_max`, and the format's parts as files (see
    /// `UploadedDataset`). 201 with the data set's id after every part loaded cleanly; 422 naming
    /// the part otherwise. A job then names it as `"dataset": {"upload": "<id>"}`.
    func uploadDataset(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let boundary = try MultipartForm.boundary(contentType: request.headers[.contentType])
        let buffer = try await request.body.collect(upTo: config.maxUploadBytes)
        let body = Data(buffer.readableBytesView)
        let store = self.store, layout = self.layout
        let row = try await Blocking.run {
            let form = try MultipartForm(body: body, boundary: boundary)
            guard let format = try form.text("format") else { throw Problem.invalid("format", "required field (idx, cifar or tsv)") }
            var pixelMax: Int?
            if let raw = try form.text("pixel_max") {
                guard let value = Int(raw) else { throw Problem.invalid("pixel_max", "must be an integer in 1…255") }
                pixelMax = value
            }
            var parts: [String: Data] = [:]
            for field in form.fields where !["format", "name", "pixel_max"].contains(field.name) { parts[field.name] = field.data }
            return try DatasetUpload.accept(parts: parts, name: try form.text("name"), format: format, pixelMax: pixelMax,
                                            tenant: tenant, store: store, layout: layout)
        }
        return try JSONBody.response(Self.datasetJSON(row), status: .created, headers: [.location: "/v1/datasets/\(row.id)"])
    }

    func showDataset(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        guard let id = context.parameters.get("id"), Self.isUploadID(id, prefix: "dataset-") else { throw Problem.notFound("data set") }
        let store = self.store
        let row = try await Blocking.run { try store.dataset(id: id, tenant: tenant) }
        return try JSONBody.response(Self.datasetJSON(row))
    }

    /// Ids are the prefix plus 20 lowercase hex digits; anything else is never looked up.
    static func isUploadID(_ id: String, prefix: String) -> Bool {
        id.count == prefix.count + 20 && id.hasPrefix(prefix)
            && id.dropFirst(prefix.count).allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    static func datasetJSON(_ row: UploadedDatasetRow) -> [String: Any] {
        ["id": row.id, "name": row.name, "format": row.format, "kind": row.kind, "manifest": JSONBody.parse(row.manifest),
         "bytes": row.bytes, "sha256": row.sha256, "created_at": JSONBody.time(row.createdAt)]
    }

    /// `POST /v1/models?architecture=lenet300&dataset=mnist[&options={"hidden":[32]}]` with a
    /// safetensors body: 201 with the model's id when names and shapes match the architecture,
    /// 422 naming the problem (truncated file, bad header, missing/unexpected tensor, wrong shape).
    func uploadModel(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let q = request.uri.queryParameters
        guard let architecture = q.get("architecture") else { throw Problem.invalid("architecture", "required query parameter") }
        guard let dataset = q.get("dataset") else { throw Problem.invalid("dataset", "required query parameter") }
        let options = q.get("options")
        let buffer = try await request.body.collect(upTo: config.maxUploadBytes)
        let bytes = Data(buffer.readableBytesView)
        let store = self.store, layout = self.layout
        let row = try await Blocking.run {
            try ModelUpload.accept(bytes, tenant: tenant, architecture: architecture, dataset: dataset, optionsJSON: options,
                                   store: store, layout: layout)
        }
        return try JSONBody.response(Self.modelJSON(row), status: .created, headers: [.location: "/v1/models/\(row.id)"])
    }

    func showModel(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        guard let id = context.parameters.get("id"), Self.isUploadID(id, prefix: "model-") else { throw Problem.notFound("model") }
        let store = self.store
        let row = try await Blocking.run { try store.model(id: id, tenant: tenant) }
        return try JSONBody.response(Self.modelJSON(row))
    }

    static func modelJSON(_ row: UploadedModelRow) -> [String: Any] {
        ["id": row.id, "architecture": row.architecture, "dataset": row.dataset, "options": JSONBody.parse(row.options),
         "bytes": row.bytes, "sha256": row.sha256, "tensors": row.tensors, "created_at": JSONBody.time(row.createdAt)]
    }
}
