import BonsaiJobs
import BonsaiPostgres
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import BonsaiServer

/// Two in-process servers on one PostgreSQL database and one data directory: a front one without
/// workers takes the HTTP requests, a back one trains. The front one's SSE stream follows a job the
/// other process trains (woken by NOTIFY), and it serves the artifact the other one wrote.
@Suite(.serialized, .enabled(if: ServerTestPostgres.enabled, "set BONSAI_TEST_POSTGRES_URL (scripts/test-postgres.sh start)"))
struct PostgresServerTests {
    @Test func submitHereTrainThereStreamAndDownloadHere() async throws {
        let url = try ServerTestPostgres.scratchDatabase()
        let front = try TestServer(workers: 0) { $0.store = url.connectionString }
        var backConfig = front.server.config
        backConfig.workers.workers = 1
        let back = try BonsaiServer(config: backConfig)
        let pool = try #require(back.pool)
        try pool.start()
        defer { pool.drain() }

        try await front.server.testLive { client in
            let headers = front.headers(front.acme, ["Idempotency-Key": "pg-1"])
            let created = try await client.execute(uri: "/v1/jobs", method: .post, headers: headers, body: ByteBuffer(string: tinySpec()))
            #expect(created.status == .accepted)
            let id = try #require(json(created.body)["id"] as? String)
            let replay = try await client.execute(uri: "/v1/jobs", method: .post, headers: headers, body: ByteBuffer(string: tinySpec()))
            #expect(json(replay.body)["id"] as? String == id && replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")

            // The feed ends when the job does; every event of the other process's run is in it.
            let start = Date()
            let feed = try await client.execute(uri: "/v1/jobs/\(id)/events", method: .get, headers: front.headers(front.acme))
            let text = String(buffer: feed.body)
            #expect(text.contains("event: phase_started") && text.contains("event: pruned") && text.contains("\"succeeded\""), "\(text.prefix(400))")
            #expect(Date().timeIntervalSince(start) < 120)

            let job = try #require(try front.server.store.job(id: id))
            #expect(job.status == .succeeded && job.attempts == 1)
            #expect(job.leaseOwner == nil)
            let artifact = try #require(try front.server.store.artifact(jobSeq: job.seq, kind: "weights"))
            let weights = try await client.execute(uri: "/v1/jobs/\(id)/weights", method: .get, headers: front.headers(front.acme))
            #expect(weights.status == .ok)
            #expect(SHA256.hex(Data(weights.body.readableBytesView)) == artifact.sha256)
            // Tenant isolation holds on this store too.
            let other = try await client.execute(uri: "/v1/jobs/\(id)", method: .get, headers: front.headers(front.globex))
            #expect(other.status == .notFound)
        }
    }
}
