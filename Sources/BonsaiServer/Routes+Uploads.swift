import BonsaiJobs
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird

extension BonsaiServer {
    func addUploadRoutes(to v1: RouterGroup<BonsaiRequestContext>) {
        v1.post("models") { request, context in try await self.uploadModel(request, context) }
        v1.get("models/:id") { request, context in try await self.showModel(request, context) }
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
        guard let id = context.parameters.get("id"), id.count == 26, id.hasPrefix("model-"),
              id.dropFirst(6).allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }) else {
            throw Problem.notFound("model")
        }
        let store = self.store
        let row = try await Blocking.run { try store.model(id: id, tenant: tenant) }
        return try JSONBody.response(Self.modelJSON(row))
    }

    static func modelJSON(_ row: UploadedModelRow) -> [String: Any] {
        ["id": row.id, "architecture": row.architecture, "dataset": row.dataset, "options": JSONBody.parse(row.options),
         "bytes": row.bytes, "sha256": row.sha256, "tensors": row.tensors, "created_at": JSONBody.time(row.createdAt)]
    }
}
