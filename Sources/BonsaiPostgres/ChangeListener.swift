import Foundation
import Logging
import PostgresNIO

/// Keeps one dedicated connection in `LISTEN bonsai_changes` and calls `onNotify` with each
/// notification's payload (on a NIO thread: it must be cheap). When the connection drops (server
/// restart, network), it reconnects with a growing delay (0.1 s … 5 s) and calls `onNotify("queue")`
/// once listening again, since notifications sent meanwhile are lost: waiters then re-check the
/// database, which is the source of truth (the bell is only a hint to look now).
///
/// The loop runs on a thread of its own, blocking on futures, and uses postgres-nio's
/// future-based `addListener`: not a Swift concurrency task, because the store's synchronous
/// callers may occupy every thread of the cooperative pool while they wait for a wake-up.
final class ChangeListener: @unchecked Sendable {
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var stopped = false
    private let pool: BlockingPool
    private let channel: String
    private let logger: Logger
    private let onNotify: @Sendable (String) -> Void
    private let ready = DispatchSemaphore(value: 0)

    /// Returns once the first LISTEN is active (or after 10 s of failing to get there, logging;
    /// the loop keeps trying), so a write committed after `init` is never missed.
    init(pool: BlockingPool, channel: String, logger: Logger, onNotify: @escaping @Sendable (String) -> Void) {
        self.pool = pool; self.channel = channel; self.logger = logger; self.onNotify = onNotify
        let thread = Thread { [self] in run() }
        thread.name = "bonsai.postgres.listen"
        thread.start()
        if ready.wait(timeout: .now() + 10) == .timedOut {
            logger.warning("PostgreSQL listener not active yet; other processes' changes are seen by polling until it is",
                           metadata: ["url": "\(pool.url)"])
        }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func run() {
        var delay = 0.1
        var first = true
        while !isStopped {
            do {
                let connection = try pool.connect()
                let keep = lock.withLock { () -> Bool in
                    guard !stopped else { return false }
                    self.connection = connection
                    return true
                }
                guard keep else { connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }; break }
                let onNotify = self.onNotify
                _ = connection.addListener(channel: channel) { _, notification in onNotify(notification.payload) }
                // Tasks run in order on the connection: once this query answers, LISTEN is active.
                _ = try connection.query("SELECT 1", logger: logger).wait()
                if first { first = false; ready.signal() } else { onNotify("queue") }
                delay = 0.1
                try? connection.closeFuture.wait()
            } catch {
                if isStopped { break }
                logger.warning("PostgreSQL listener lost; reconnecting",
                               metadata: ["url": "\(pool.url)", "error": "\(error)", "retry_in": "\(delay)"])
            }
            if isStopped { break }
            Thread.sleep(forTimeInterval: delay)
            delay = min(5, delay * 2)
        }
    }

    func stop() {
        let c = lock.withLock { () -> PostgresConnection? in
            stopped = true
            return connection
        }
        if let c { c.close().whenComplete { _ in withExtendedLifetime(c) {} } }
    }
}
