import Dispatch
import Foundation

/// How the worker pool runs jobs. Part of the server's config file (`workers` section).
public struct JobsConfig: Codable, Sendable, Equatable {
    /// Jobs trained at once (one Dispatch-owned thread each).
    public var workers: Int = 1
    /// Engine threads per job (`Engine.setThreads` on the worker thread), unless the spec says `threads`.
    public var threadsPerJob: Int = 1
    /// A lease not renewed for this long is considered lost and its job re-queued.
    public var leaseSeconds: Double = 30
    /// How often running jobs renew their lease (and notice cancellation requests from other processes).
    public var heartbeatSeconds: Double = 5
    /// Metric rows are written in batches: every this many steps …
    public var metricsFlushSteps: Int = 25
    /// … or after this many seconds, whichever comes first.
    public var metricsFlushSeconds: Double = 1
    /// Attempts before a job with transient failures fails for good.
    public var maxAttempts: Int = 3
    /// Backoff before retry k is `retryBackoffSeconds · 2^(k−1)`.
    public var retryBackoffSeconds: Double = 2
    /// How often an idle worker looks for work (submissions in this process wake it at once).
    public var pollSeconds: Double = 0.5
    /// Scheduling priority of the training threads relative to the HTTP server's threads.
    public var trainingPriority: TrainingPriority = .background

    enum CodingKeys: String, CodingKey {
        case workers
        case threadsPerJob = "threads_per_job"
        case leaseSeconds = "lease_seconds"
        case heartbeatSeconds = "heartbeat_seconds"
        case metricsFlushSteps = "metrics_flush_steps"
        case metricsFlushSeconds = "metrics_flush_seconds"
        case maxAttempts = "max_attempts"
        case retryBackoffSeconds = "retry_backoff_seconds"
        case pollSeconds = "poll_seconds"
        case trainingPriority = "training_priority"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = JobsConfig()
        workers = try c.decodeIfPresent(Int.self, forKey: .workers) ?? d.workers
        threadsPerJob = try c.decodeIfPresent(Int.self, forKey: .threadsPerJob) ?? d.threadsPerJob
        leaseSeconds = try c.decodeIfPresent(Double.self, forKey: .leaseSeconds) ?? d.leaseSeconds
        heartbeatSeconds = try c.decodeIfPresent(Double.self, forKey: .heartbeatSeconds) ?? d.heartbeatSeconds
        metricsFlushSteps = try c.decodeIfPresent(Int.self, forKey: .metricsFlushSteps) ?? d.metricsFlushSteps
        metricsFlushSeconds = try c.decodeIfPresent(Double.self, forKey: .metricsFlushSeconds) ?? d.metricsFlushSeconds
        maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? d.maxAttempts
        retryBackoffSeconds = try c.decodeIfPresent(Double.self, forKey: .retryBackoffSeconds) ?? d.retryBackoffSeconds
        pollSeconds = try c.decodeIfPresent(Double.self, forKey: .pollSeconds) ?? d.pollSeconds
        trainingPriority = try c.decodeIfPresent(TrainingPriority.self, forKey: .trainingPriority) ?? d.trainingPriority
    }

    /// Throws `JobsConfigError` naming the field.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ detail: String) throws { if !ok { throw JobsConfigError(field: "workers.\(field)", detail: detail) } }
        try check((0...64).contains(workers), "workers", "must be in 0…64 (0 = accept jobs but run none)")
        try check((1...64).contains(threadsPerJob), "threads_per_job", "must be in 1…64")
        try check(leaseSeconds >= 1, "lease_seconds", "must be ≥ 1")
        try check(heartbeatSeconds > 0 && heartbeatSeconds < leaseSeconds, "heartbeat_seconds", "must be > 0 and < lease_seconds")
        try check(metricsFlushSteps >= 1, "metrics_flush_steps", "must be ≥ 1")
        try check(metricsFlushSeconds > 0, "metrics_flush_seconds", "must be > 0")
        try check((1...100).contains(maxAttempts), "max_attempts", "must be in 1…100")
        try check(retryBackoffSeconds >= 0, "retry_backoff_seconds", "must be ≥ 0")
        try check(pollSeconds > 0, "poll_seconds", "must be > 0")
    }
}

/// The Dispatch quality of service of the worker queues. On Linux, libdispatch maps it to the
/// thread's nice value: `background` 10, `utility` 2, `default` 0, `user-initiated` −2 (measured).
/// Hummingbird's event loops run at nice 0 and the server's blocking queue at −2, so with
/// `background` a CPU-bound training thread yields the core to request handling at once (CFS weights
/// 110 vs 1024): status polls stay fast while every worker trains, and training runs at full speed
/// when the server is idle. `user-initiated` (the old behaviour) ranks training *above* the event loops.
public enum TrainingPriority: String, Codable, Sendable, CaseIterable {
    case background
    case utility
    case `default`
    case userInitiated = "user-initiated"

    public var qos: DispatchQoS {
        switch self {
        case .background: return .background
        case .utility: return .utility
        case .default: return .default
        case .userInitiated: return .userInitiated
        }
    }
}

public struct JobsConfigError: Error, CustomStringConvertible, Sendable {
    public var field: String
    public var detail: String
    public var description: String { "\(field): \(detail)" }
}
