import Foundation
import Logging
import PostgresNIO

/// Keeps one dedicated connection in `LISTEN bonsai_changes` and calls `onNotify` with each
/// notification's payload (on a NIO thread: it must be cheap). When the connection drops (server
/// restart, network), it reconnects with a growing delay (0.1 s … 5 s) and calls `onNotify("queue")`
/// once listening again, since notifications sent meanwhile are lost: waiters then re-check the
/// database, which is the source of truth (the bell is only a hint to look now).
final class ChangeListener: @unchecked Sendable {
    private var task: Task<Void, Never>?
    private let lock = NSLock()
    private var connection: PostgresConnection?

    /// Returns once the first LISTEN is active (or after 10 s of failing to get there, logging;
    /// the loop keeps trying), so a write committed after `init` is never missed.
    init(pool: BlockingPool, channel: String, logger: Logger, onNotify: @escaping @Sendable (String) -> Void) throws {
        let ready = DispatchSemaphore(value: 0)
        let configuration = pool.configuration, group = pool.group, url = pool.url
        task = Task.detached { [weak self] in
            var delay = 0.1
            var first = true
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(on: group.next(), configuration: configuration, id: 0, logger: logger)
                    self?.setConnection(connection)
                    if Task.isCancelled { try? await connection.close(); break }
                    try await connection.listen(on: channel) { notifications in
                        if first { first = false; ready.signal() } else { onNotify("queue") }
                        delay = 0.1
                        for try await notification in notifications { onNotify(notification.payload) }
                    }
                    try? await connection.close()
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("PostgreSQL listener lost; reconnecting",
                                   metadata: ["url": "\(url)", "error": "\(error)", "retry_in": "\(delay)"])
                }
                try? await Task.sleep(for: .seconds(delay))
                delay = min(5, delay * 2)
            }
        }
        if ready.wait(timeout: .now() + 10) == .timedOut {
            logger.warning("PostgreSQL listener not active yet; other processes' changes are seen by polling until it is",
                           metadata: ["url": "\(url)"])
        }
    }

    private func setConnection(_ c: PostgresConnection) { lock.withLock { connection = c } }

    func stop() {
        lock.withLock { task }?.cancel()
        if let c = lock.withLock({ connection }) { c.close().whenComplete { _ in } }
    }
}

