import BonsaiStore
import Foundation
import Testing

/// Disk faults (docs/reliability.md): a full or read-only data directory while a job trains. The
/// store stays consistent, the job is given back (attempt refunded, delayed) rather than failed, the
/// server reports the condition on `/healthz` (503 degraded) and `/metrics`, and once the disk
/// accepts writes again the job resumes and ends exactly like an uninterrupted run.
@Suite(.serialized) struct DiskFaultTests {
    static let spec = Reliability.spec(seed: 5, sparsity: 0.7, steps: 200, finetune: 60, checkpointEvery: 20)

    /// Whether this process may mount a tmpfs (root in a container usually may).
    static let canMount: Bool = {
        let dir = NSTemporaryDirectory() + "bonsai-mount-probe-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]) == 0 else { return false }
        _ = run("/bin/umount", [dir])
        return true
    }()

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// A fresh tmpfs of `megabytes` (unmounted by the caller).
    static func mountTmpfs(megabytes: Int) throws -> String {
        let dir = NSTemporaryDirectory() + "bonsai-tmpfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try #require(run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", dir]) == 0, "mount -t tmpfs failed")
        return dir
    }

    /// Fills the file system of `dir` to the last byte; returns the filler's path.
    static func fill(_ dir: String) -> String {
        let path = dir + "/filler"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        for size in [1 << 20, 1 << 12, 1 << 9] {
            let block = [UInt8](repeating: 1, count: size)
            while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == size {}
        }
        return path
    }

    /// A full disk in the middle of training: degraded health, writes refused, job not failed; freed,
    /// the job resumes to the uninterrupted result without spending its attempts.
    @Test(.enabled(if: DiskFaultTests.canMount, "needs permission to mount a tmpfs"))
    func fullDiskDegradesThenResumes() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServerProcess.binary.path), "no bonsai binary: run `swift build` first")
        let expected = try await Reliability.baseline(specs: [Self.spec], workers: 1)[0]
        let root = try Self.mountTmpfs(megabytes: 24)
        defer { Self.run("/bin/umount", ["-l", root]) }
        let (store, ids) = try Reliability.submit(root: root, specs: [Self.spec])
        let id = ids[0]
        // The child freezes itself at its 40th step, so the disk fills mid-training however late this
        // test's own polling runs (under `swift test` other suites can hold the cooperative threads).
        let server = try BonsaiChild(dataDir: root, config: try Reliability.config(workers: 1), fault: "stop:step:40")
        defer { server.stop() }
        let url = try server.url()
        let frozenBy = Date().addingTimeInterval(120)
        while !server.isStopped && server.process.isRunning && Date() < frozenBy { try await Task.sleep(for: .milliseconds(10)) }
        try #require(server.isStopped, "the child never reached step 40: \(server.text.suffix(2000))")

        let filler = Self.fill(root)
        server.signal(SIGCONT)
        var health: [String: Any] = [:], status = 0
        var deadline = Date().addingTimeInterval(20)
        while status != 503 && Date() < deadline {
            let (code, body) = try await Reliability.call(url, "/healthz")
            status = code
            health = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(status == 503 && health["status"] as? String == "degraded", "\(status) \(health)")
        let checks = health["checks"] as? [String: Any] ?? [:]
        #expect(checks["data_dir_writable"] as? Bool == false, "\(checks)")
        #expect((checks["free_bytes"] as? Int ?? -1) < 4096, "\(checks)")
        // The job's writes now fail; give the worker time to hit the wall, then look at the metrics.
        var metrics = ""
        deadline = Date().addingTimeInterval(20)
        while !metrics.contains("bonsai_data_dir_writable 0") || writeErrors(metrics) == 0, Date() < deadline {
            metrics = String(decoding: try await Reliability.call(url, "/metrics").1, as: UTF8.self)
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(metrics.contains("bonsai_data_dir_writable 0"), "\(metrics.suffix(800))")
        #expect(writeErrors(metrics) > 0, "no store write error counted: \(metrics.suffix(800))")
        try await Task.sleep(for: .seconds(4))
        let during = try #require(try store.job(id: id))
        #expect(during.status == .running || during.status == .queued, "a full disk must not end the job: \(during.status) \(during.error ?? "")")

        #expect(server.text.contains("disk fault; giving the job back"), "the worker never treated the full disk as a disk fault")
        let freed = Date()
        try FileManager.default.removeItem(atPath: filler)
        let done = try await Reliability.waitAllDone(store, [id], seconds: 120)
        try #require(done, "the job did not finish after the disk freed up: \(server.text.suffix(3000))")
        #expect(try await Reliability.call(url, "/healthz").0 == 200)
        let job = try #require(try store.job(id: id))
        #expect(job.attempts <= 2, "the disk fault spent attempts: \(job.attempts)")
        let actual = try JobOutcome.read(store, root: root, id: id)
        #expect(actual.status == "succeeded", "\(actual) \(job.error ?? "")")
        #expect(actual.result == expected.result && actual.masks == expected.masks && actual.weights == expected.weights,
                "\(actual) vs \(expected)")
        let diff = actual.metricDiff(expected)
        #expect(diff.isEmpty, "metric history differs from an uninterrupted run: \(diff)")
        let resumed = String(format: "%.1f", Date().timeIntervalSince(freed))
        let giveBacks = server.text.components(separatedBy: "disk fault; giving the job back").count - 1
        print("full disk: \(giveBacks) give-back(s), attempts \(job.attempts), store write errors \(writeErrors(metrics)), finished \(resumed) s after the disk freed, health during: \(checks)")
    }

    func writeErrors(_ metrics: String) -> Int {
        metrics.split(separator: "\n").first { $0.hasPrefix("bonsai_store_write_errors_total ") }
            .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
    }

    /// A read-only data directory (injected with the fault hook: Linux refuses to remount a file
    /// system read-only while SQLite holds files open for writing): the snapshot writes 2–4 fail
    /// with EROFS; the job is given back three times without spending attempts and ends as an
    /// uninterrupted run does.
    @Test func readOnlySnapshotWritesGiveTheJobBack() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServerProcess.binary.path), "no bonsai binary: run `swift build` first")
        let expected = try await Reliability.baseline(specs: [Self.spec], workers: 1)[0]
        let root = NSTemporaryDirectory() + "bonsai-erofs-\(UUID().uuidString)"
        let (store, ids) = try Reliability.submit(root: root, specs: [Self.spec])
        let server = try BonsaiChild(dataDir: root, config: try Reliability.config(workers: 1), fault: "erofs:snapshot-write:2-4")
        defer { server.stop() }
        let done = try await Reliability.waitAllDone(store, ids, seconds: 120)
        try #require(done, "\(server.text.suffix(3000))")
        let job = try #require(try store.job(id: ids[0]))
        #expect(job.attempts == 1, "read-only faults spent attempts: \(job.attempts)")
        let deferrals = try store.events(jobSeq: job.seq, after: 0, limit: 10_000).filter { $0.data.contains("data directory fault") }
        #expect(deferrals.count == 3, "expected three give-backs, saw \(deferrals.count)")
        let actual = try JobOutcome.read(store, root: root, id: ids[0])
        #expect(actual.status == "succeeded" && actual.result == expected.result && actual.masks == expected.masks
                && actual.weights == expected.weights, "\(actual) vs \(expected)")
        let diff = actual.metricDiff(expected)
        #expect(diff.isEmpty, "metric history differs from an uninterrupted run: \(diff)")
    }

    /// The health probe itself: a read-only and a full file system both read as not writable.
    @Test(.enabled(if: DiskFaultTests.canMount, "needs permission to mount a tmpfs"))
    func probeSeesReadOnlyAndFullFileSystems() throws {
        let dir = try Self.mountTmpfs(megabytes: 1)
        defer { Self.run("/bin/umount", ["-l", dir]) }
        #expect(DataDirStatus.probe(dir).writable)
        let filler = Self.fill(dir)
        let full = DataDirStatus.probe(dir)
        #expect(!full.writable && full.freeBytes == 0, "\(full)")
        try FileManager.default.removeItem(atPath: filler)
        #expect(Self.run("/bin/mount", ["-o", "remount,ro", dir]) == 0)
        let readOnly = DataDirStatus.probe(dir)
        #expect(!readOnly.writable && readOnly.problem?.contains(String(cString: strerror(EROFS))) == true, "\(readOnly)")
        #expect(StoreHealth.isDiskFault(POSIXError(.ENOSPC)) && StoreHealth.isDiskFault(POSIXError(.EROFS)))
        #expect(!StoreHealth.isDiskFault(StoreError.leaseLost(job: "j")))
    }
}
