import Foundation
import Logging
import PostgresNIO

/// A small pool of PostgreSQL connections used synchronously: the calling Dispatch thread blocks
/// on each query's `EventLoopFuture` while the connection's I/O runs on a NIO event loop.
///
/// Why not `PostgresClient`: it is async-only and needs a long-running `run()` task; the job
/// store's API is synchronous (workers are Dispatch threads, routes hop to a blocking queue), so a
/// lock, an array of idle connections and a semaphore bounding how many are open are all that is
/// needed. Blocking an event loop thread would deadlock it (the reply is read on that very loop),
/// so every entry point checks it is not running on one.
final class BlockingPool: @unchecked Sendable {
    let url: PostgresURL
    let logger: Logger
    let group: any EventLoopGroup
    let configuration: PostgresConnection.Configuration
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var nextID = 0
    private var closed = false
    private let slots: DispatchSemaphore

    init(url: PostgresURL, size: Int, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        precondition(size >= 1, "BlockingPool: size \(size) must be ≥ 1")
        self.url = url; self.logger = logger; self.group = group
        configuration = try url.configuration()
        slots = DispatchSemaphore(value: size)
    }

    /// Traps when called on a NIO event loop: the query's reply would be read by the blocked thread.
    static func checkNotOnEventLoop(_ function: String = #function) {
        precondition(MultiThreadedEventLoopGroup.currentEventLoop == nil,
                     "PostgresStore.\(function) called on a NIO event loop; hop to a Dispatch queue first (see Blocking.run)")
    }

    /// Opens a new connection (blocking).
    func connect() throws -> PostgresConnection {
        Self.checkNotOnEventLoop()
        let id = lock.withLock { nextID += 1; return nextID }
        do {
            return try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger).wait()
        } catch {
            throw PostgresStoreError.unreachable(url: url.description, detail: String(reflecting: error))
        }
    }

    /// Lends a connection for `body`. A connection that closed (server restart, network) is
    /// dropped instead of returned, so the next call opens a fresh one.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        Self.checkNotOnEventLoop()
        slots.wait()
        defer { slots.signal() }
        let reused = lock.withLock { idle.popLast() }
        let connection = try reused.flatMap { $0.isClosed ? nil : $0 } ?? connect()
        do {
            let value = try body(connection)
            giveBack(connection)
            return value
        } catch {
            giveBack(connection)
            throw error
        }
    }

    private func giveBack(_ connection: PostgresConnection) {
        let keep = lock.withLock { () -> Bool in
            guard !closed, !connection.isClosed else { return false }
            idle.append(connection)
            return true
        }
        if !keep { connection.close().whenComplete { _ in withExtendedLifetime(connection) {} } }
    }

    /// Closes the idle connections (connections lent out are closed when given back). Does not
    /// wait: the close completes on the event loop, which keeps each connection alive until then.
    func close() {
        let connections = lock.withLock { () -> [PostgresConnection] in
            closed = true
            defer { idle = [] }
            return idle
        }
        for c in connections { c.close().whenComplete { _ in withExtendedLifetime(c) {} } }
    }

    deinit { close() }
}

/// One connection lent to a store operation, with blocking query helpers.
struct PGSession {
    let connection: PostgresConnection
    let logger: Logger

    @discardableResult
    func query(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try connection.query(query, logger: logger).wait()
    }

    /// Runs a statement and returns the number of rows it changed.
    @discardableResult
    func execute(_ query: PostgresQuery) throws -> Int {
        try connection.query(query, logger: logger).wait().metadata.rows ?? 0
    }

    func one(_ query: PostgresQuery) throws -> PGRow? {
        try self.query(query).first.map(PGRow.init)
    }

    func all(_ query: PostgresQuery) throws -> [PGRow] {
        try self.query(query).map(PGRow.init)
    }
}

/// A result row read by column name.
struct PGRow {
    let row: PostgresRandomAccessRow
    init(_ row: PostgresRow) { self.row = row.makeRandomAccess() }

    func string(_ c: String) throws -> String { try row[c].decode(String.self) }
    func optionalString(_ c: String) throws -> String? { try row[c].decode(String?.self) }
    func int(_ c: String) throws -> Int { try row[c].decode(Int.self) }
    func int64(_ c: String) throws -> Int64 { try row[c].decode(Int64.self) }
    func double(_ c: String) throws -> Double { try row[c].decode(Double.self) }
    func optionalDouble(_ c: String) throws -> Double? { try row[c].decode(Double?.self) }
    func bool(_ c: String) throws -> Bool { try row[c].decode(Bool.self) }
}

/// Failures specific to the PostgreSQL store (everything the API promises stays a ``StoreError``).
public enum PostgresStoreError: Error, CustomStringConvertible, Sendable {
    case unreachable(url: String, detail: String)
    /// A serializable transaction kept conflicting with concurrent ones.
    case contention(operation: String, attempts: Int)

    public var description: String {
        switch self {
        case let .unreachable(url, detail): return "cannot connect to PostgreSQL at \(url): \(detail)"
        case let .contention(operation, attempts): return "\(operation): serialization conflicts \(attempts) times in a row"
        }
    }
}
