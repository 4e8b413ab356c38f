import BonsaiPruning
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird

extension BonsaiServer {
    func addCatalogRoutes(to router: Router<BonsaiRequestContext>, v1: RouterGroup<BonsaiRequestContext>) {
        router.get("healthz") { _, _ in try await self.healthResponse() }
        router.get("metrics") { _, context in
            guard context.principal?.admin == true else {
                throw Problem(.forbidden, "forbidden", "Forbidden", detail: "/metrics needs an admin token")
            }
            let store = self.store, metrics = self.metrics, running = self.pool?.runningCount ?? 0
            let root = self.layout.root
            let text = try await Blocking.run { try metrics.render(store: store, runningHere: running) + Self.storageMetrics(root: root) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        v1.get("methods") { _, _ in
            try JSONBody.response(["methods": PruningRegistry.methods.map { type -> [String: Any] in
                ["id": type.id, "summary": type.summary, "reference": type.reference, "settings_schema": type.settingsSchema.jsonObject,
                 "defaults": (try? JSONSerialization.jsonObject(with: type.defaultSettingsJSON)) ?? [:]]
            }])
        }
        v1.get("architectures") { _, _ in
            try JSONBody.response(["architectures": ModelZoo.architectures.map { ["name": $0] }])
        }
        v1.get("datasets") { _, context in
            let tenant = try context.tenant()
            let store = self.store
            let uploaded = try await Blocking.run { try store.datasets(tenant: tenant) }
            return try JSONBody.response([
                "datasets": BuiltinDatasets.all.map { d -> [String: Any] in
                    ["name": d.name, "kind": d.kind.rawValue, "input_shape": d.inputShape, "classes": d.classNames, "summary": d.summary]
                },
                "uploaded": uploaded.map(Self.datasetJSON),
            ])
        }
        v1.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
    }
}
