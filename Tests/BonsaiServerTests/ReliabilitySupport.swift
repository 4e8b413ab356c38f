import BonsaiJobs
import BonsaiStore
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `bonsai serve` child for the reliability tests. Unlike ``ServerProcess`` it may die at any
/// moment (the fault hook kills it by design), so starting it waits for nothing; `url` waits for
/// the listening line when a test needs HTTP.
final class BonsaiChild {
    let process = Process()
    let log: URL

    init(dataDir: String, config: String, fault: String? = nil) throws {
        log = URL(fileURLWithPath: NSTemporaryDirectory() + "bonsai-child-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = ServerProcess.binary
        process.arguments = ["serve", "--port", "0", "--data-dir", dataDir, "--config", config]
        var environment = ProcessInfo.processInfo.environment
        environment["BONSAI_DATA_DIR"] = repositoryRoot.appendingPathComponent("data").path
        environment["BONSAI_FAULT"] = fault
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits until the process exits; returns whether it did within `seconds`.
    func waitExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return !process.isRunning
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// SIGTERM (graceful drain) and wait.
    func terminate() {
        if process.isRunning { signal(SIGCONT); signal(SIGTERM) }
        process.waitUntilExit()
    }

    func kill9() {
        signal(SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        if process.isRunning { signal(SIGCONT); signal(SIGKILL) }
        process.waitUntilExit()
    }

    /// Whether the process is stopped (state `T` in /proc/<pid>/stat): frozen by SIGSTOP.
    var isStopped: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)] == "T"
    }

    /// The base URL once the server listens.
    func url(seconds: Double = 30) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let range = text.range(of: #"http://[0-9.]+:[0-9]+"#, options: .regularExpression) { return String(text[range]) }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CrashTestError.serverDidNotStart(text)
    }
}

/// One job's observable outcome: what the crash, freeze and disk tests compare with an
/// uninterrupted run. Metric rows are compared exactly, `(key, step, value)`, for every key except
/// `examples_per_second` (wall-clock speed, different on every run).
struct JobOutcome: Equatable, CustomStringConvertible {
    var status: String
    var result: NSDictionary
    var masks: String?
    var weights: String?
    var metrics: [String]
    var lossSteps: [Int]

    var description: String { "\(status) masks=\(masks ?? "-") weights=\(weights ?? "-") metrics=\(metrics.count) result=\(result)" }

    static let timedKeys: Set<String> = ["examples_per_second"]

    /// Up to six metric rows in one history and not the other ("+" only here, "-" only there);
    /// empty when the histories are equal.
    func metricDiff(_ other: JobOutcome) -> [String] {
        let mine = Set(metrics), theirs = Set(other.metrics)
        return Array((mine.subtracting(theirs).map { "+" + $0 } + theirs.subtracting(mine).map { "-" + $0 }).sorted().prefix(6))
    }

    /// Reads the outcome from the store, checking that every artifact file exists and hashes to its row.
    static func read(_ store: Store, root: String, id: String) throws -> JobOutcome {
        let job = try #require(try store.job(id: id))
        let result = (job.result.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]) ?? [:]
        func digest(_ kind: String) throws -> String? {
            guard let row = try store.artifact(jobSeq: job.seq, kind: kind) else { return nil }
            let actual = try SHA256.hex(fileAt: root + "/" + row.path)
            #expect(actual == row.sha256, "\(kind) of \(id): file \(row.path) hashes to \(actual), row says \(row.sha256)")
            return row.sha256
        }
        let rows = try store.metrics(jobSeq: job.seq, limit: 1_000_000).filter { !timedKeys.contains($0.key) }
        return JobOutcome(status: job.status.rawValue, result: NSDictionary(dictionary: result), masks: try digest("masks"),
                          weights: try digest("weights"),
                          metrics: rows.map { "\($0.key)|\($0.step)|\($0.value.map { "\($0.bitPattern)" } ?? "nil")" }.sorted(),
                          lossSteps: rows.filter { $0.key == "loss" }.map(\.step).sorted())
    }
}

enum Reliability {
    static let token = "bns_reliability_admin_token_01"

    /// A small lenet300 job on digits; `seed` and `sparsity` make the four jobs of a run differ.
    static func spec(seed: Int, sparsity: Double, steps: Int, finetune: Int, checkpointEvery: Int) -> String {
        """
        {"model": {"architecture": "lenet300", "options": {"hidden": [16]}}, "dataset": {"name": "digits"},
         "method": {"name": "magnitude", "sparsity": \(sparsity)},
         "train": {"steps": \(steps), "batch_size": 16, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}, "checkpoint_every": \(checkpointEvery)},
         "finetune": {"steps": \(finetune)}, "seed": \(seed), "threads": 1}
        """
    }

    /// A config file: short leases so a dead worker's job is taken over within seconds, one metric
    /// row flushed per step (so the rows show exactly how far a killed attempt got).
    static func config(workers: Int, leaseSeconds: Double = 3, heartbeatSeconds: Double = 0.5) throws -> String {
        let path = NSTemporaryDirectory() + "bonsai-reliability-config-\(UUID().uuidString).json"
        let text = """
            {"admin_token": "\(token)", "tenant_max_running": 8,
             "workers": {"workers": \(workers), "lease_seconds": \(leaseSeconds), "heartbeat_seconds": \(heartbeatSeconds),
                         "metrics_flush_steps": 1, "retry_backoff_seconds": 0.5, "poll_seconds": 0.1}}
            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Creates the store under `root` and submits `specs` directly (as the API would, canonical
    /// JSON), with attempts enough for a run that is killed many times.
    static func submit(root: String, specs: [String]) throws -> (Store, [String]) {
        let layout = try DataLayout(root: root)
        let store = try Store(path: layout.databasePath)
        try store.ensureTenant("acme", maxRunning: 8, maxQueued: 1000)
        let ids = try specs.map { text in
            try store.submit(NewJob(tenant: "acme", spec: try SubmittedSpec.parse(Data(text.utf8)).canonicalJSON, maxAttempts: 100)).id
        }
        return (store, ids)
    }

    /// Whether every job has ended.
    static func allDone(_ store: Store, _ ids: [String]) -> Bool {
        ids.allSatisfy { (try? store.job(id: $0))?.status.isTerminal ?? false }
    }

    /// Polls until every job ended or `seconds` pass (the server keeps running); returns whether they did.
    static func waitAllDone(_ store: Store, _ ids: [String], seconds: Double) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if allDone(store, ids) { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return allDone(store, ids)
    }

    /// Runs `specs` uninterrupted in a fresh `bonsai serve` and returns their outcomes.
    static func baseline(specs: [String], workers: Int) async throws -> [JobOutcome] {
        let root = NSTemporaryDirectory() + "bonsai-baseline-\(UUID().uuidString)"
        let (store, ids) = try submit(root: root, specs: specs)
        let server = try BonsaiChild(dataDir: root, config: try config(workers: workers))
        defer { server.stop() }
        let done = try await waitAllDone(store, ids, seconds: 300)
        try #require(done, "baseline did not finish: \(server.text.suffix(2000))")
        return try ids.map { try JobOutcome.read(store, root: root, id: $0) }
    }

    /// An HTTP request with the admin token: status and body.
    static func call(_ base: String, _ path: String) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, data)
    }
}
