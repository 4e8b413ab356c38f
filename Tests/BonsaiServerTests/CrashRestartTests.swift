import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `bonsai serve` child process on a free port (the real binary, so `kill -9` is a real crash).
final class ServerProcess {
    static let token = "bns_crash_test_admin_token_0001"
    let process = Process()
    let log: URL
    private(set) var url = ""

    /// The `bonsai` executable next to the test bundle (built by `swift test` with everything else).
    static var binary: URL {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let beside = products.appendingPathComponent("bonsai")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return repositoryRoot.appendingPathComponent(".build/debug/bonsai")
    }

    init(dataDir: String, config: String) throws {
        log = URL(fileURLWithPath: dataDir + "-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = Self.binary
        process.arguments = ["serve", "--port", "0", "--data-dir", dataDir, "--config", config]
        var environment = ProcessInfo.processInfo.environment
        environment["BONSAI_DATA_DIR"] = repositoryRoot.appendingPathComponent("data").path
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"http://[0-9.]+:[0-9]+"#, options: .regularExpression) {
                url = String(text[range])
                return
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.terminate()
        throw CrashTestError.serverDidNotStart((try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends SIGTERM and waits for the exit; returns the seconds it took.
    func terminate() -> Double {
        let start = Date()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return Date().timeIntervalSince(start)
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// A request with the admin token: status, headers and body.
    func call(_ method: String, _ path: String, body: String? = nil) async throws -> (Int, [String: String], Data) {
        var request = URLRequest(url: URL(string: url + path)!)
        request.httpMethod = method
        request.setValue("Bearer \(Self.token)", forHTTPHeaderField: "Authorization")
        if let body { request.httpBody = Data(body.utf8); request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
        return (http.statusCode, headers, data)
    }

    func object(_ path: String) async throws -> [String: Any] {
        let (_, _, data) = try await call("GET", path)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// Polls until the job ends; returns the job object.
    func waitDone(_ id: String, seconds: Double = 240) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let job = try await object("/v1/jobs/\(id)")
            if ["succeeded", "failed", "cancelled"].contains(job["status"] as? String ?? "") { return job }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CrashTestError.timeout(id)
    }
}

enum CrashTestError: Error { case serverDidNotStart(String), timeout(String) }

/// `kill -9` of a real `bonsai serve` while a job trains, restart on the same data directory: the
/// job resumes from its last snapshot and ends with the same result, mask and weight digests as an
/// uninterrupted run, with one loss row per step.
@Suite(.serialized) struct CrashRestartTests {
    let spec = """
        {"model": {"architecture": "lenet300", "options": {"hidden": [32]}}, "dataset": {"name": "digits"},
         "method": {"name": "magnitude", "sparsity": 0.8},
         "train": {"steps": 2000, "batch_size": 32, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}, "checkpoint_every": 100},
         "finetune": {"steps": 200}, "seed": 7}
        """

    func config() throws -> String {
        let path = NSTemporaryDirectory() + "bonsai-crash-config-\(UUID().uuidString).json"
        try Data(#"{"admin_token": "\#(ServerProcess.token)", "workers": {"lease_seconds": 3, "heartbeat_seconds": 1, "metrics_flush_steps": 5, "training_priority": "default"}}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        return path
    }

    func submit(_ server: ServerProcess) async throws -> String {
        let (status, _, data) = try await server.call("POST", "/v1/jobs", body: spec)
        #expect(status == 202)
        return try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["id"] as? String)
    }

    func digest(_ server: ServerProcess, _ id: String, _ artifact: String) async throws -> String? {
        try await server.call("GET", "/v1/jobs/\(id)/\(artifact)").1["x-content-sha256"]
    }

    @Test func killNineMidTrainingResumesToTheSameResult() async throws {
        let binary = ServerProcess.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "no bonsai binary at \(binary.path): run `swift build` first")
        let config = try config()
        let root = NSTemporaryDirectory() + "bonsai-crash-\(UUID().uuidString)"

        let a = try ServerProcess(dataDir: root + "-a", config: config)
        defer { a.stop() }
        let idA = try await submit(a)
        let jobA = try await a.waitDone(idA)
        #expect(jobA["status"] as? String == "succeeded", "\(jobA)")
        let masksA = try await digest(a, idA, "masks"), weightsA = try await digest(a, idA, "weights")
        a.stop()

        let b = try ServerProcess(dataDir: root + "-b", config: config)
        let idB = try await submit(b)
        var step = 0
        let deadline = Date().addingTimeInterval(120)
        while step < 150 && Date() < deadline {
            step = ((try await b.object("/v1/jobs/\(idB)"))["progress"] as? [String: Any])?["completed_steps"] as? Int ?? 0
            try await Task.sleep(for: .milliseconds(20))
        }
        b.kill9()
        #expect(step >= 150 && step < 2200, "killed at step \(step): the kill must land mid-run")

        let b2 = try ServerProcess(dataDir: root + "-b", config: config)
        defer { b2.stop() }
        let jobB = try await b2.waitDone(idB)
        #expect(jobB["status"] as? String == "succeeded", "\(jobB)")
        #expect(jobB["attempts"] as? Int == 2, "the crashed attempt is counted: \(jobB)")
        let resultA = try #require(jobA["result"] as? [String: Any]), resultB = try #require(jobB["result"] as? [String: Any])
        #expect(NSDictionary(dictionary: resultA) == NSDictionary(dictionary: resultB), "\(resultA) vs \(resultB)")
        #expect(try await digest(b2, idB, "masks") == masksA && masksA != nil)
        #expect(try await digest(b2, idB, "weights") == weightsA && weightsA != nil)
        let losses = try #require((try await b2.object("/v1/jobs/\(idB)/metrics?key=loss"))["metrics"] as? [[String: Any]])
        let steps = losses.compactMap { $0["step"] as? Int }
        #expect(steps.count == Set(steps).count, "a step has two loss rows after the restart")
        #expect(!steps.isEmpty)
    }

    /// SIGTERM while a job trains: the server stops claiming, snapshots, gives the job back without
    /// spending an attempt and exits within the drain deadline; the next start finishes it with the
    /// same result as an uninterrupted run.
    @Test func sigtermDrainsRequeuesAndResumes() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServerProcess.binary.path), "no bonsai binary: run `swift build` first")
        let config = try config()
        let root = NSTemporaryDirectory() + "bonsai-drain-\(UUID().uuidString)"
        let a = try ServerProcess(dataDir: root, config: config)
        let id = try await submit(a)
        var step = 0
        let deadline = Date().addingTimeInterval(120)
        while step < 100 && Date() < deadline {
            step = ((try await a.object("/v1/jobs/\(id)"))["progress"] as? [String: Any])?["completed_steps"] as? Int ?? 0
            try await Task.sleep(for: .milliseconds(20))
        }
        let seconds = a.terminate()
        #expect(seconds < 25, "drain took \(seconds) s, over the 25 s deadline")
        #expect(a.process.terminationStatus == 0, "exit status \(a.process.terminationStatus) after SIGTERM")
        let b = try ServerProcess(dataDir: root, config: config)
        defer { b.stop() }
        let job = try await b.waitDone(id)
        #expect(job["status"] as? String == "succeeded", "\(job)")
        #expect(job["attempts"] as? Int == 1, "a drained attempt must be refunded: \(job)")
    }
}
