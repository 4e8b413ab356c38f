import BonsaiStore
import Foundation
import Testing

/// A frozen worker (docs/reliability.md): a `bonsai serve` process stops itself with SIGSTOP while
/// it holds a job's lease (fault hook `stop:<point>:n`), a second process on the same data
/// directory takes the job over once the lease expires and finishes it; then the first one gets
/// SIGCONT. The stale worker must change nothing — no row (every write carries its lease token) and
/// no file: not the artifacts the store points at, not the snapshot row's file.
@Suite(.serialized) struct FrozenWorkerTests {
    static let spec = Reliability.spec(seed: 11, sparsity: 0.8, steps: 200, finetune: 60, checkpointEvery: 20)

    /// Freezes at `point`, takes over, thaws; returns the takeover delay (freeze → second claim).
    func freezeTakeOverThaw(at point: String) async throws -> Double {
        try #require(FileManager.default.isExecutableFile(atPath: ServerProcess.binary.path), "no bonsai binary: run `swift build` first")
        let expected = try await Reliability.baseline(specs: [Self.spec], workers: 1)[0]
        let root = NSTemporaryDirectory() + "bonsai-frozen-\(UUID().uuidString)"
        let (store, ids) = try Reliability.submit(root: root, specs: [Self.spec])
        let id = ids[0]
        let config = try Reliability.config(workers: 1, leaseSeconds: 3, heartbeatSeconds: 0.5)

        let stale = try BonsaiChild(dataDir: root, config: config, fault: "stop:\(point)")
        defer { stale.stop() }
        var deadline = Date().addingTimeInterval(120)
        while !stale.isStopped && Date() < deadline && stale.process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        try #require(stale.isStopped, "the first server never froze at \(point): \(stale.text.suffix(2000))")
        let frozenAt = Date().timeIntervalSince1970
        let frozenJob = try #require(try store.job(id: id))
        #expect(frozenJob.status == .running && frozenJob.attempts == 1)

        let owner = try BonsaiChild(dataDir: root, config: config)
        defer { owner.stop() }
        // Generous: under a loaded `swift test` the new owner may itself lose a 3 s lease once
        // (attempt 3), and this loop may be scheduled late; neither is what the test is about.
        deadline = Date().addingTimeInterval(120)
        var claimedAt: Double?
        while claimedAt == nil && Date() < deadline {
            if let job = try store.job(id: id), job.attempts >= 2 { claimedAt = Date().timeIntervalSince1970 }
            try await Task.sleep(for: .milliseconds(10))
        }
        let takeover = try #require(claimedAt, "the second server never took the job over") - frozenAt
        let done = try await Reliability.waitAllDone(store, [id], seconds: 120)
        try #require(done, "the second server did not finish the job: \(owner.text.suffix(2000))")
        owner.terminate()
        let finished = try #require(try store.job(id: id))
        let before = try JobOutcome.read(store, root: root, id: id)
        let filesBefore = try files(root, id)

        stale.signal(SIGCONT)
        // Give the thawed worker time to notice (its heartbeat or its next write sees `leaseLost`).
        try await Task.sleep(for: .seconds(3))
        let stillAlive = stale.process.isRunning
        stale.stop()

        let after = try JobOutcome.read(store, root: root, id: id)
        let job = try #require(try store.job(id: id))
        #expect(job.version == finished.version && job.updatedAt == finished.updatedAt, "the stale worker changed the job row")
        #expect(after == before, "the stale worker changed what the store serves: \(before) → \(after)")
        #expect(after.status == "succeeded" && job.attempts >= 2, "\(after) after \(job.attempts) attempts")
        #expect(after.result == expected.result && after.masks == expected.masks && after.weights == expected.weights,
                "result differs from an uninterrupted run: \(after) vs \(expected)")
        let diff = after.metricDiff(expected)
        #expect(diff.isEmpty, "metric history differs from an uninterrupted run: \(diff)")
        // The only files that may change are the stale worker's own artifact leftovers (a folder named
        // after its lease token), which it deletes; everything else must be untouched — including a
        // snapshot file the stale worker wrote before it froze, which the new owner resumed from.
        let staleArtifacts = "artifacts/" + String(try #require(frozenJob.leaseToken).prefix(16))
        let filesAfter = try files(root, id)
        #expect(filesAfter == filesBefore.filter { !$0.key.hasPrefix(staleArtifacts) },
                "files under jobs/\(id) changed after SIGCONT: \(filesBefore.keys.sorted()) → \(filesAfter.keys.sorted())")
        #expect(!filesAfter.keys.contains { $0.hasPrefix(staleArtifacts) }, "the stale worker left files: \(filesAfter.keys.sorted())")
        #expect(stillAlive, "the thawed server died: \(stale.text.suffix(2000))")
        #expect(stale.text.contains("lease lost"), "the thawed worker never noticed it lost its lease: \(stale.text.suffix(2000))")
        print("frozen worker at \(point): takeover after \(String(format: "%.2f", takeover)) s (lease 3 s, heartbeat 0.5 s)")
        return takeover
    }

    /// Every file under the job's folder with its SHA-256.
    func files(_ root: String, _ id: String) throws -> [String: String] {
        let folder = root + "/jobs/\(id)"
        var out: [String: String] = [:]
        for case let path as String in FileManager.default.enumerator(atPath: folder)?.allObjects ?? [] {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                out[path] = try SHA256.hex(fileAt: folder + "/" + path)
            }
        }
        return out
    }

    /// Frozen with the artifacts written to its staging folder, about to rename them into place:
    /// thawed after the new owner's success, it must not replace the served files.
    @Test func frozenBeforeArtifactRenameChangesNothing() async throws {
        let takeover = try await freezeTakeOverThaw(at: "artifact-rename")
        // Lease 3 s + heartbeat 0.5 s (measured 2.8–3.2 s on a quiet machine); the bound only
        // absorbs a loaded CI machine, where this test's own polling can run late.
        #expect(takeover < 60, "takeover took \(takeover) s")
    }

    /// Frozen between training steps: thawed, its next progress write is refused and it stops.
    @Test func frozenMidTrainingChangesNothing() async throws {
        let takeover = try await freezeTakeOverThaw(at: "step:60")
        // Lease 3 s + heartbeat 0.5 s (measured 2.8–3.2 s on a quiet machine); the bound only
        // absorbs a loaded CI machine, where this test's own polling can run late.
        #expect(takeover < 60, "takeover took \(takeover) s")
    }
}
