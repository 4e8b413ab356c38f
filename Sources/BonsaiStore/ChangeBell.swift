import Foundation

/// A counter bumped after every committed write transaction of the store.
///
/// Readers that poll the store for news (the SSE streams) remember the generation *before* they
/// query and then wait only until it changes, checking a cheap in-memory counter instead of the
/// database: events written by this process's workers reach subscribers within milliseconds
/// rather than a polling interval. With SQLite, writes by other processes sharing the file do not
/// ring it, so readers keep a slow periodic poll as the fallback; the PostgreSQL store also rings
/// it on every other process's commit (LISTEN/NOTIFY).
///
/// Queue observers (``onQueueChange(_:)``) are called when a write may have made a job claimable
/// (a submission, a re-queue, a freed running slot) — idle workers use it to claim at once.
public final class ChangeBell: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64 = 0
    private var queueObservers: [@Sendable () -> Void] = []

    public init() {}

    /// The number of committed writes so far.
    public var generation: UInt64 { lock.withLock { value } }

    public func ring() { lock.withLock { value &+= 1 } }

    /// Rings and tells the queue observers that a job may have become claimable.
    public func ringQueue() {
        let observers = lock.withLock { value &+= 1; return queueObservers }
        for observer in observers { observer() }
    }

    /// Registers `observer` (called on the ringing thread; it must be cheap and must not block).
    public func onQueueChange(_ observer: @escaping @Sendable () -> Void) {
        lock.withLock { queueObservers.append(observer) }
    }

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
