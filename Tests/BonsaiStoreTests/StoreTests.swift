import Foundation
import GRDB
import Testing
@testable import BonsaiStore

@Suite struct MigrationTests {
    @Test func migratesFromEmptyAndIsIdempotent() throws {
        let (store, path) = try temporaryStore()
        let tables = try store.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") }
        for t in ["jobs", "metrics", "pruning_events", "job_events", "snapshots", "artifacts", "tenants", "tokens", "idempotency_keys", "schema_migrations"] {
            #expect(tables.contains(t), "table \(t) missing")
        }
        let recorded = try store.read { db in try Row.fetchAll(db, sql: "SELECT name, checksum FROM schema_migrations") }
        #expect(recorded.count == Migrations.embedded.count)
        // Re-opening applies nothing new and accepts the recorded checksums.
        _ = try Store(path: path)
        let mode = try store.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test func editedMigrationIsRejected() throws {
        let (store, _) = try temporaryStore()
        let edited = Migrations.embedded.map { (name: $0.name, sql: $0.sql + "\n-- edited") }
        #expect(throws: StoreError.migrationChanged(name: "0001_init.sql")) { try Migrations.apply(to: store.pool, migrations: edited) }
    }

    /// The embedded copy must equal the files in migrations/ (run scripts/embed-migrations.sh).
    @Test func embeddedMigrationsMatchFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == Migrations.embedded.map(\.name))
        for (name, sql) in Migrations.embedded {
            let onDisk = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            #expect(onDisk.trimmingCharacters(in: .newlines) == sql.trimmingCharacters(in: .newlines), "\(name) differs from its embedded copy")
        }
    }

    @Test func sha256Vectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        #expect(SHA256.hex(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Streaming in odd-sized pieces gives the same digest as one piece.
        var s = SHA256()
        let bytes = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var i = 0
        for size in [1, 63, 64, 65, 7, 300] where i < bytes.count { s.update(bytes[i..<min(bytes.count, i + size)]); i += size }
        s.update(bytes[i...])
        #expect(s.hexDigest() == SHA256.hex(bytes))
    }
}

@Suite struct LeaseTests {
    @Test(arguments: storeKinds) func twoWorkersRaceForOneJobExactlyOneWins(_ kind: StoreKind) async throws {
        let t = try TestStore(kind)
        let store = t.store
        // A second pool on the same database plays a second process.
        let other = try t.another()
        for _ in 0..<20 {
            _ = try store.submit(NewJob(tenant: "acme", spec: sampleSpec))
            try store.setLimits(tenant: "acme", maxRunning: 100, maxQueued: 100)
            let wins = try await withThrowingTaskGroup(of: Lease?.self) { group in
                for (i, s) in [store, other, store, other].enumerated() {
                    group.addTask { try s.claim(owner: "w\(i)", leaseSeconds: 30) }
                }
                var got: [Lease] = []
                for try await lease in group { if let lease { got.append(lease) } }
                return got
            }
            #expect(wins.count == 1)
            if let lease = wins.first { try store.succeed(lease, result: "{}", artifacts: []) }
        }
    }

    @Test(arguments: storeKinds) func claimOrderAndTenantLimit(_ kind: StoreKind) throws {
        let t = try TestStore(kind)
        let store = t.store
        try store.setLimits(tenant: "acme", maxRunning: 1, maxQueued: 10)
        let low = try store.submit(NewJob(tenant: "acme", spec: sampleSpec, priority: 0))
        let high = try store.submit(NewJob(tenant: "acme", spec: sampleSpec, priority: 5))
        let other = try store.submit(NewJob(tenant: "globex", spec: sampleSpec))
        #expect(try store.claim(owner: "w", leaseSeconds: 30)?.job.id == high.id)
        // acme is at its running limit: globex's job goes next, then nothing.
        #expect(try store.claim(owner: "w", leaseSeconds: 30)?.job.id == other.id)
        #expect(try store.claim(owner: "w", leaseSeconds: 30) == nil)
        _ = low
    }

    @Test(arguments: storeKinds) func leaseExpiryRequeuesAndCountsTheAttempt(_ kind: StoreKind) throws {
        let t = try TestStore(kind)
        let store = t.store
        let job = try store.submit(NewJob(tenant: "acme", spec: sampleSpec, maxAttempts: 2))
        let t0 = Store.now()
        let first = try #require(try store.claim(owner: "w1", leaseSeconds: 10, now: t0))
        #expect(try store.requeueExpired(now: t0 + 5).isEmpty)
        #expect(try store.requeueExpired(now: t0 + 11) == [job.id])
        let requeued = try #require(try store.job(id: job.id))
        #expect(requeued.status == .queued && requeued.attempts == 1 && requeued.leaseToken == nil)
        // The stale worker's writes change nothing.
        #expect(throws: StoreError.leaseLost(job: job.id)) { try store.record(first, ProgressUpdate(completedSteps: 3)) }
        #expect(throws: StoreError.leaseLost(job: job.id)) { try store.succeed(first, result: "{}", artifacts: []) }
        #expect(throws: StoreError.leaseLost(job: job.id)) { _ = try store.heartbeat(first, leaseSeconds: 10) }
        // Second attempt expires too: out of attempts, the job fails.
        _ = try #require(try store.claim(owner: "w2", leaseSeconds: 10, now: t0 + 12))
        try store.requeueExpired(now: t0 + 30)
        let failed = try #require(try store.job(id: job.id))
        #expect(failed.status == .failed && failed.attempts == 2 && failed.error?.contains("lease expired") == true)
    }

    @Test(arguments: storeKinds) func staleTokenWritesAreRejectedAfterReclaim(_ kind: StoreKind) throws {
        let t = try TestStore(kind)
        let store = t.store
        let job = try store.submit(NewJob(tenant: "acme", spec: sampleSpec))
        let t0 = Store.now()
        let stale = try #require(try store.claim(owner: "w1", leaseSeconds: 1, now: t0))
        try store.requeueExpired(now: t0 + 2)
        let fresh = try #require(try store.claim(owner: "w2", leaseSeconds: 30, now: t0 + 2))
        var update = ProgressUpdate(phase: "train", plannedSteps: 10, completedSteps: 4)
        update.metrics = [MetricSample(key: "loss", step: 4, value: 1.5, time: t0)]
        #expect(throws: StoreError.leaseLost(job: job.id)) { try store.record(stale, update) }
        #expect(throws: StoreError.leaseLost(job: job.id)) { _ = try store.saveSnapshot(stale, path: "x", pipelineStep: 1, phase: nil, bytes: 0) }
        #expect(try store.metrics(jobSeq: job.seq).isEmpty)
        try store.record(fresh, update)
        let row = try #require(try store.job(id: job.id))
        #expect(row.completedSteps == 4 && abs(row.progress - 0.4) < 1e-12 && row.phase == "train")
        #expect(try store.metrics(jobSeq: job.seq).count == 1)
    }

    @Test(arguments: storeKinds) func retriesBackOffAndDeterministicFailuresFailOnce(_ kind: StoreKind) throws {
        let t = try TestStore(kind)
        let store = t.store
        let job = try store.submit(NewJob(tenant: "acme", spec: sampleSpec, maxAttempts: 3))
        let t0 = Store.now()
        let l1 = try #require(try store.claim(owner: "w", leaseSeconds: 30, now: t0))
        #expect(try store.fail(l1, error: "io", retryable: true, backoff: 5, now: t0) == .queued)
        #expect(try store.claim(owner: "w", leaseSeconds: 30, now: t0 + 1) == nil, "backing off")
        let l2 = try #require(try store.claim(owner: "w", leaseSeconds: 30, now: t0 + 6))
        #expect(try store.fail(l2, error: "diverged", retryable: false, backoff: 5, now: t0 + 6) == .failed)
        let row = try #require(try store.job(id: job.id))
        #expect(row.status == .failed && row.attempts == 2 && row.error == "diverged")
    }

    @Test(arguments: storeKinds) func drainReleaseRefundsTheAttempt(_ kind: StoreKind) throws {
        let t = try TestStore(kind)
        let store = t.store
        let job = try store.submit(NewJob(tenant: "acme", spec: sampleSpec))
        let lease = try #require(try store.claim(owner: "w", leaseSeconds: 30))
        try store.release(lease)
        let row = try #require(try store.job(id: job.id))
        #expect(row.status == .queued && row.attempts == 0)
    }

    @Test(arguments: storeKinds) func rollbackDropsMetricsAfterTheCheckpoint(_ kind: StoreKind) throws {
        let t = try TestStore(kind)
        let store = t.store
        let job = try store.submit(NewJob(tenant: "acme", spec: sampleSpec))
        let lease = try #require(try store.claim(owner: "w", leaseSeconds: 30))
        var update = ProgressUpdate(completedSteps: 10)
        update.metrics = (1...10).map { MetricSample(key: "loss", step: $0, value: Double($0), time: 0) }
        try store.record(lease, update)
        try store.rollback(lease, afterStep: 6, keepEvents: 0)
        #expect(try store.metrics(jobSeq: job.seq).map(\.step) == Array(1...6))
        #expect(try store.metrics(jobSeq: job.seq, key: "loss", sinceStep: 5).map(\.step) == [5, 6])
    }
}

@Suite struct SubmissionTests {
    @Test(arguments: storeKinds) func idempotencyUnderConcurrentIdenticalSubmissions(_ kind: StoreKind) async throws {
        let t = try TestStore(kind)
        let store = t.store
        let hash = SHA256.hex(sampleSpec)
        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        switch try store.reserveIdempotencyKey(tenant: "acme", key: "k1", requestHash: hash) {
                        case .existing(let id): return id
                        case .reserved: return try store.submit(NewJob(tenant: "acme", spec: sampleSpec), idempotencyKey: "k1").id
                        }
                    } catch StoreError.idempotencyInProgress { return "409" }
                }
            }
            var all: [String] = []
            for try await o in group { all.append(o) }
            return all
        }
        let ids = Set(outcomes.filter { $0 != "409" })
        #expect(ids.count == 1)
        #expect(try store.jobs(tenant: "acme").count == 1)
        // After commit, the same key and body return the same job; another body is refused.
        #expect(try store.reserveIdempotencyKey(tenant: "acme", key: "k1", requestHash: hash) == .existing(jobID: ids.first!))
        #expect(throws: StoreError.idempotencyMismatch(key: "k1")) {
            try store.reserveIdempotencyKey(tenant: "acme", key: "k1", requestHash: SHA256.hex("other"))
        }
        // Keys are per tenant.
        #expect(try store.reserveIdempotencyKey(tenant: "globex", key: "k1", requestHash: hash) == .reserved)
    }

    @Test(arguments: storeKinds) func queueLimitTenantIsolationCancelAndDelete(_ kind: StoreKind) throws {
        let t = try TestStore(kind)
        let store = t.store
        try store.setLimits(tenant: "acme", maxRunning: 1, maxQueued: 2)
        let a = try store.submit(NewJob(tenant: "acme", spec: sampleSpec))
        _ = try store.submit(NewJob(tenant: "acme", spec: sampleSpec))
        #expect(throws: StoreError.queueFull(tenant: "acme", limit: 2)) { try store.submit(NewJob(tenant: "acme", spec: sampleSpec)) }
        #expect(throws: StoreError.notFound("job \(a.id)")) { try store.job(id: a.id, tenant: "globex") }
        #expect(throws: StoreError.notFound("job \(a.id)")) { try store.requestCancel(id: a.id, tenant: "globex") }
        #expect(throws: StoreError.self) { try store.delete(id: a.id, tenant: "acme") }
        #expect(try store.requestCancel(id: a.id, tenant: "acme").status == .cancelled)
        #expect(throws: StoreError.self) { try store.requestCancel(id: a.id, tenant: "acme") }
        _ = try store.delete(id: a.id, tenant: "acme")
        #expect(try store.job(id: a.id) == nil)
        // Pagination: newest first, cursor by seq.
        for _ in 0..<1 { _ = try store.submit(NewJob(tenant: "acme", spec: sampleSpec)) }
        let page1 = try store.jobs(tenant: "acme", limit: 1)
        let page2 = try store.jobs(tenant: "acme", before: page1.last!.seq, limit: 10)
        #expect(page1.count == 1 && page2.count == 1 && page2[0].seq < page1[0].seq)
    }

    @Test(arguments: storeKinds) func tokensAreStoredHashed(_ kind: StoreKind) throws {
        let t = try TestStore(kind)
        let store = t.store
        let token = try store.createToken(tenant: "acme")
        #expect(try store.principal(forToken: token) == Principal(tenant: "acme", admin: false))
        #expect(try store.principal(forToken: token + "x") == nil)
        let stored = try t.tokenHashes()
        #expect(!stored.contains(token) && stored.contains(SHA256.hex(token)))
    }

    @Test(arguments: storeKinds) func tokensCarryTheirExpiry(_ kind: StoreKind) throws {
        let t = try TestStore(kind)
        let store = t.store
        let expiring = try store.createToken(tenant: "acme", expiresAt: 1_000)
        let principal = try #require(try store.principal(forToken: expiring))
        #expect(principal.expiresAt == 1_000 && principal.isExpired(now: 1_000) && !principal.isExpired(now: 999))
        let forever = try store.createToken(tenant: "acme")
        #expect(try store.principal(forToken: forever)?.expiresAt == nil)
        #expect(try store.principal(forToken: forever)?.isExpired() == false)
    }
}
