import BonsaiJobs
import BonsaiPruning
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import BonsaiServer

/// The repository root (for `data/`).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A server over a fresh data directory, with tokens for two tenants and an admin.
struct TestServer {
    let server: BonsaiServer
    let acme: String
    let globex: String
    let admin: String

    init(workers: Int = 0, configure: (inout ServerConfig) -> Void = { _ in }) throws {
        var config = ServerConfig()
        config.port = 0
        config.dataDir = NSTemporaryDirectory() + "bonsai-server-\(UUID().uuidString)"
        config.datasetsDir = repositoryRoot.appendingPathComponent("data").path
        config.workers.workers = workers
        config.workers.heartbeatSeconds = 0.5
        config.workers.leaseSeconds = 5
        config.workers.pollSeconds = 0.1
        // `swift test` runs suites in parallel at nice 0; a worker at the production default
        // (background, nice 10) would be starved by them and time out.
        config.workers.trainingPriority = .default
        configure(&config)
        server = try BonsaiServer(config: config, runWorkers: workers > 0)
        acme = try server.createToken(tenant: "acme")
        globex = try server.createToken(tenant: "globex")
        admin = try server.createToken(tenant: "ops", admin: true)
    }

    func headers(_ token: String, _ extra: [String: String] = [:]) -> HTTPFields {
        var h: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        for (k, v) in extra { h[HTTPField.Name(k)!] = v }
        return h
    }
}

/// A tiny, fast job: lenet300 with one hidden layer of 32 on digits.
func tinySpec(steps: Int = 24, finetune: Int = 8, sparsity: Double = 0.8, seed: Int = 1, checkpointEvery: Int = 8) -> String {
    """
    {"model": {"architecture": "lenet300", "options": {"hidden": [32]}}, "dataset": {"name": "digits"},
     "method": {"name": "magnitude", "sparsity": \(sparsity)},
     "train": {"steps": \(steps), "batch_size": 32, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}, "checkpoint_every": \(checkpointEvery)},
     "finetune": {"steps": \(finetune)}, "seed": \(seed)}
    """
}

/// Polls `GET /v1/jobs/{id}` every 200 ms until the job ends (succeeded, failed or cancelled) or
/// `seconds` pass; returns the last job document.
func waitForJob(_ client: LiveClient, _ t: TestServer, id: String, seconds: Double) async throws -> [String: Any] {
    var job: [String: Any] = [:]
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        job = json(try await client.execute(uri: "/v1/jobs/\(id)", method: .get, headers: t.headers(t.acme)).body)
        if ["succeeded", "failed", "cancelled"].contains(job["status"] as? String ?? "") { break }
        try await Task.sleep(for: .milliseconds(200))
    }
    return job
}

func json(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
}
