import BonsaiStore
import BonsaiJobs
import Foundation
import Testing

/// The crash matrix (docs/reliability.md): four jobs in flight in a real `bonsai serve`, killed with
/// SIGKILL at every named fault point of a job's life — phase starts, between steps, before and
/// after a snapshot file, before and after the artifacts' rename, inside a store transaction before
/// COMMIT — and at random moments from outside, then restarted on the same data directory each
/// time. Every job must finish with the result, artifact digests and metric history (exact
/// `(key, step, value)` rows, one per step) of an uninterrupted run, and no crash may lose more
/// than one checkpoint interval of steps.
///
/// `BONSAI_CRASH_SCALE=k` (default 1) runs the long version: jobs k times longer and the kills
/// during pretraining repeated k times (a fault fires at its count within the restart it is armed for).
@Suite(.serialized) struct CrashMatrixTests {
    static let scale = max(1, Int(ProcessInfo.processInfo.environment["BONSAI_CRASH_SCALE"] ?? "") ?? 1)
    static let checkpointEvery = 20
    static let pretrain = 240 * scale, finetune = 80 * scale
    static let specs = zip([1, 2, 3, 4], [0.5, 0.7, 0.8, 0.9]).map {
        Reliability.spec(seed: $0, sparsity: $1, steps: pretrain, finetune: finetune, checkpointEvery: checkpointEvery)
    }
    /// The kills in order; nil = SIGKILL from outside at a random moment after the jobs were claimed.
    static let kills: [String?] = Array(repeating: duringPretraining, count: scale).flatMap { $0 } + afterPretraining
    static let duringPretraining: [String?] = [
        "crash:step:40", "crash:snapshot-commit:6", "crash:phase-pretrain:3", nil, "crash:store-commit:150",
        "crash:snapshot-write:9", nil,
    ]
    static let afterPretraining: [String?] = [
        "crash:phase-prune-1:1", "crash:phase-finetune-1:2", nil,
        "crash:artifact-write:1", "crash:artifact-rename:1", "crash:artifact-renamed:1", nil,
    ]

    struct Kill: CustomStringConvertible {
        var fault: String
        var fired: Bool
        var lost: [Int]
        var description: String { "\(fault): \(fired ? "fired" : "NOT FIRED"), steps redone \(lost)" }
    }

    @Test func killNineAtEveryPhaseMatchesAnUninterruptedRun() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServerProcess.binary.path), "no bonsai binary: run `swift build` first")
        let started = Date()
        let expected = try await Reliability.baseline(specs: Self.specs, workers: 4)
        let baselineSeconds = Date().timeIntervalSince(started)

        let root = NSTemporaryDirectory() + "bonsai-crash-matrix-\(UUID().uuidString)"
        let (store, firstIDs) = try Reliability.submit(root: root, specs: Self.specs)
        let config = try Reliability.config(workers: 4)
        var rng = SplitMix(seed: 20261129)
        var kills: [Kill] = []
        var attemptsSeen = [String: Int]()
        // Jobs that finish before the schedule of kills is through are followed by a fresh batch of the
        // same specs, so every fault point is reached however fast this machine trains.
        var ids = firstIDs
        var current = firstIDs
        func refill() throws {
            guard Reliability.allDone(store, current) else { return }
            current = try Self.specs.map { text in
                try store.submit(NewJob(tenant: "acme", spec: try SubmittedSpec.parse(Data(text.utf8)).canonicalJSON, maxAttempts: 100)).id
            }
            ids += current
        }
        for fault in Self.kills {
            try refill()
            let child = try BonsaiChild(dataDir: root, config: config, fault: fault)
            let label: String
            if let fault {
                label = fault
                let deadline = Date().addingTimeInterval(300)  // ends as soon as the fault fires
                while child.process.isRunning && Date() < deadline {
                    try refill()
                    try await Task.sleep(for: .milliseconds(20))
                }
            } else {
                // Random moment: once this process holds a lease, wait 0–1.5 s more, then SIGKILL.
                // Its log line or its lease row, whichever shows first: a store read that fails under
                // load must not let the child run on to finish every job before the kill.
                let deadline = Date().addingTimeInterval(15)
                while Date() < deadline && child.process.isRunning && !child.text.contains("job started")
                        && !holdsLease(store, current, pid: child.pid) {
                    try refill()
                    try await Task.sleep(for: .milliseconds(20))
                }
                let delay = Double(rng.next() % 1500) / 1000
                try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                label = String(format: "random SIGKILL %.2f s after the first claim", delay)
            }
            let fired = fault.map { child.text.contains("BONSAI_FAULT: crash at \($0.split(separator: ":")[1])") } ?? child.process.isRunning
            child.kill9()
            var lost: [Int] = []
            for id in current {
                guard let job = try store.job(id: id), !job.status.isTerminal, job.attempts > attemptsSeen[id, default: 0] else { continue }
                attemptsSeen[id] = job.attempts
                let reached = try store.metrics(jobSeq: job.seq, key: "loss", limit: 1_000_000).map(\.step).max() ?? 0
                let saved = try store.snapshot(jobSeq: job.seq)?.pipelineStep ?? 0
                lost.append(max(0, reached - saved))
            }
            kills.append(Kill(fault: label, fired: fired, lost: lost))
        }
        let final = try BonsaiChild(dataDir: root, config: config)
        defer { final.stop() }
        let done = try await Reliability.waitAllDone(store, ids, seconds: 240)
        try #require(done, "jobs did not finish after the last restart: \(final.text.suffix(3000))")
        final.stop()

        let summary = kills.map(\.description).joined(separator: "\n")
        print("crash matrix: baseline \(String(format: "%.1f", baselineSeconds)) s, whole test \(String(format: "%.1f", Date().timeIntervalSince(started))) s\n\(summary)")
        #expect(kills.filter(\.fired).count >= Self.kills.count - 1, "fewer than \(Self.kills.count - 1) kills landed:\n\(summary)")
        for point in ["step", "snapshot-commit", "phase-pretrain", "store-commit", "snapshot-write", "phase-prune-1", "phase-finetune-1",
                      "artifact-write", "artifact-rename", "artifact-renamed"] {
            #expect(kills.contains { $0.fired && $0.fault.contains(":\(point):") }, "the kill at \(point) never landed:\n\(summary)")
        }
        for kill in kills { #expect(kill.lost.allSatisfy { $0 <= Self.checkpointEvery }, "more than one checkpoint interval lost: \(kill)") }
        for (position, id) in ids.enumerated() {
            let index = position % Self.specs.count
            let actual = try JobOutcome.read(store, root: root, id: id)
            #expect(actual.status == "succeeded", "job \(index): \(actual)")
            #expect(actual.result == expected[index].result, "job \(index) result: \(actual.result) vs \(expected[index].result)")
            #expect(actual.masks == expected[index].masks && actual.masks != nil, "job \(index) masks differ")
            #expect(actual.weights == expected[index].weights && actual.weights != nil, "job \(index) weights differ")
            let onePerStep = actual.lossSteps == Array(1...(Self.pretrain + Self.finetune))
            #expect(onePerStep, "job \(index): loss rows are not one per step (\(actual.lossSteps.count) rows)")
            let diff = actual.metricDiff(expected[index])
            #expect(diff.isEmpty, "job \(index): metric history differs from an uninterrupted run: \(diff)")
            let folders = try FileManager.default.contentsOfDirectory(atPath: root + "/jobs/\(id)/artifacts")
            #expect(folders.count == 1, "job \(index): leftover artifact folders \(folders)")
            let snapshots = try FileManager.default.contentsOfDirectory(atPath: root + "/jobs/\(id)").filter { $0.hasPrefix("snapshot-") }
            #expect(snapshots.count <= 1, "job \(index): leftover snapshot files \(snapshots)")
        }
    }

    /// Whether a worker of process `pid` holds the lease of one of `ids` (owner "host:pid/worker").
    func holdsLease(_ store: Store, _ ids: [String], pid: Int32) -> Bool {
        ids.contains { (try? store.job(id: $0))?.leaseOwner?.contains(":\(pid)/") ?? false }
    }
}

/// A small seeded generator (SplitMix64), so the random kill moments repeat from run to run as far
/// as scheduling allows.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
