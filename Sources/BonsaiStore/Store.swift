import Foundation
import GRDB

/// The job server's database: one `DatabasePool` (WAL, `synchronous=FULL`, foreign keys on) over
/// one SQLite file, migrated on open. Every job state change happens in one transaction; writes
/// of a running job's effects carry its lease token (see `JobStore+Lease.swift`).
public final class Store: Sendable {
    public let pool: DatabasePool
    public let path: String
    /// Rung after every committed write transaction (see ``ChangeBell``).
    public let changes = ChangeBell()

    public init(path: String) throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: config)
        self.path = path
        try Migrations.apply(to: pool)
    }

    /// The current time as stored (Unix seconds).
    public static func now() -> Double { Date().timeIntervalSince1970 }

    /// A random identifier of `bytes` random bytes in lowercase hex.
    public static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so two
    /// processes sharing the file serialise here instead of failing on lock upgrade.
    public func immediate<T>(_ body: (Database) throws -> T) throws -> T {
        let value: T
        do {
            value = try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    try FaultPoint.hit("store-commit")
                    return .commit
                }
                return result!
            }
        } catch {
            if error is DatabaseError || StoreHealth.isDiskFault(error) { StoreHealth.recordWriteError(error) }
            throw error
        }
        changes.ring()
        return value
    }

    public func read<T>(_ body: (Database) throws -> T) throws -> T { try pool.read(body) }
}

extension Store: JobStore {}
