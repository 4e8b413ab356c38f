import Foundation

/// A counter bumped after every committed write transaction of this process's ``Store``.
///
/// Readers that poll the store for news (the SSE streams) remember the generation *before* they
/// query and then wait only until it changes, checking a cheap in-memory counter instead of the
/// database: events written by this process's workers reach subscribers within milliseconds
/// rather than a polling interval. Writes by other processes sharing the file do not ring it, so
/// readers keep a slow periodic poll as the fallback.
public final class ChangeBell: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64 = 0

    public init() {}

    /// The number of committed writes so far.
    public var generation: UInt64 { lock.withLock { value } }

    func ring() { lock.withLock { value &+= 1 } }

    /// Waits until the generation differs from `seen` or `timeout` passes; true when it changed.
    /// Sleeps in short steps, so it suits async callers that must not block a thread.
    public func wait(after seen: UInt64, timeout: Duration, step: Duration = .milliseconds(5)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while generation == seen {
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: step)
        }
        return true
    }
}
