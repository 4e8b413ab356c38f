import BonsaiPostgres
import BonsaiStore
import Foundation
import Testing

/// The PostgreSQL test server (`BONSAI_TEST_POSTGRES_URL`, from `scripts/test-postgres.sh start`);
/// with `BONSAI_REQUIRE_POSTGRES=1` (.ci/run) a missing or unreachable server fails the suite.
enum ServerTestPostgres {
    static let environment = ProcessInfo.processInfo.environment
    static var url: String? { environment["BONSAI_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    static var enabled: Bool { url != nil || environment["BONSAI_REQUIRE_POSTGRES"] == "1" }

    struct Unavailable: Error, CustomStringConvertible { var description: String }

    static func scratchDatabase() throws -> PostgresURL {
        guard let url else { throw Unavailable(description: "BONSAI_REQUIRE_POSTGRES=1 but BONSAI_TEST_POSTGRES_URL is not set") }
        do { return try PostgresURL(url).createDatabase(named: "bonsai_e2e_" + Store.randomHex(8)) } catch {
            throw Unavailable(description: "PostgreSQL test server \(url) unreachable: \(error)")
        }
    }
}

/// Two real `bonsai serve` processes on one PostgreSQL database and one data directory: both
/// train jobs from the shared queue; one is killed with SIGKILL mid-job; its job's lease expires,
/// the survivor resumes it from the snapshot in the shared directory, and every job finishes
/// exactly once with the same result as the others (they are identical, seeded specs).
@Suite(.serialized, .enabled(if: ServerTestPostgres.enabled, "set BONSAI_TEST_POSTGRES_URL (scripts/test-postgres.sh start)"))
struct TwoServersPostgresTests {
    let spec = tinySpec(steps: 1000, finetune: 60, sparsity: 0.8, seed: 3, checkpointEvery: 100)

    @Test func twoServersShareTheQueueAndSurviveAKill() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServerProcess.binary.path), "no bonsai binary: run `swift build` first")
        let url = try ServerTestPostgres.scratchDatabase()
        let dataDir = NSTemporaryDirectory() + "bonsai-two-servers-\(UUID().uuidString)"
        let config = dataDir + "-config.json"
        try Data(#"""
            {"admin_token": "\#(ServerProcess.token)", "store": "\#(url.connectionString)",
             "workers": {"workers": 1, "lease_seconds": 5, "heartbeat_seconds": 1, "metrics_flush_steps": 5}}
            """#.utf8).write(to: URL(fileURLWithPath: config))
        let a = try ServerProcess(dataDir: dataDir, config: config)
        defer { a.stop() }
        let b = try ServerProcess(dataDir: dataDir, config: config)
        defer { b.stop() }
        let store = try PostgresStore(url: url, listen: false)
        defer { store.close() }

        var ids: [String] = []
        for (i, server) in [a, b, a, b].enumerated() {
            let (status, _, data) = try await server.call("POST", "/v1/jobs", body: spec)
            #expect(status == 202, "submission \(i)")
            ids.append(try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["id"] as? String))
        }

        // Wait until both servers train, then kill b mid-job.
        func owner(_ job: JobRecord, _ server: ServerProcess) -> Bool { job.leaseOwner?.contains(":\(server.process.processIdentifier)/") == true }
        var killed: JobRecord?
        var aTrained = false
        let deadline = Date().addingTimeInterval(120)
        while killed == nil && Date() < deadline {
            let jobs = try ids.compactMap { try store.job(id: $0) }
            aTrained = aTrained || jobs.contains { owner($0, a) }
            if aTrained, let onB = jobs.first(where: { owner($0, b) && $0.completedSteps >= 100 }) {
                b.kill9()
                killed = onB
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let victim = try #require(killed, "both servers never trained at once")
        #expect(victim.completedSteps < 1060, "killed at step \(victim.completedSteps): the kill must land mid-job")

        var finished: [[String: Any]] = []
        for id in ids { finished.append(try await a.waitDone(id, seconds: 400)) }
        for job in finished { #expect(job["status"] as? String == "succeeded", "\(job)") }
        for (id, job) in zip(ids, finished) {
            let attempts = job["attempts"] as? Int
            #expect(attempts == (id == victim.id ? 2 : 1), "job \(id) (victim \(victim.id)) took \(attempts ?? -1) attempts")
        }

        // Exactly once: one terminal status event per job, one loss row per step, the same steps everywhere.
        var lossSteps: [[Int]] = []
        for id in ids {
            let row = try #require(try store.job(id: id))
            let statuses = try store.events(jobSeq: row.seq, after: 0).filter { $0.kind == "status" }.map(\.data)
            #expect(statuses.filter { $0.contains("\"succeeded\"") }.count == 1, "\(id): \(statuses)")
            #expect(statuses.filter { $0.contains("\"running\"") }.count == row.attempts, "\(id): \(statuses)")
            let steps = try store.metrics(jobSeq: row.seq, key: "loss").map(\.step)
            #expect(steps.count == Set(steps).count && !steps.isEmpty, "\(id): duplicate loss steps")
            lossSteps.append(steps)
        }
        #expect(Set(lossSteps.map { $0 }).count == 1, "every job recorded the same loss steps")

        // Identical seeded specs: identical results and masks, the resumed job included.
        let results = finished.compactMap { $0["result"] as? [String: Any] }.map { NSDictionary(dictionary: $0) }
        #expect(results.count == ids.count && Set(results).count == 1, "results differ: \(results)")
        var masks: [String?] = []
        for id in ids { masks.append(try await a.call("GET", "/v1/jobs/\(id)/masks").1["x-content-sha256"]) }
        #expect(Set(masks).count == 1 && masks[0] != nil, "mask digests differ: \(masks)")
    }
}
