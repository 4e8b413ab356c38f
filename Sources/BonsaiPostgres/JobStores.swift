import BonsaiStore
import Foundation
import Logging

/// Opens the job store a server is configured with: `"sqlite"` (the default: one file under the
/// data directory, one machine) or a `postgres://user:password@host:port/database` URL (several
/// `bonsai serve` processes, possibly on several machines, sharing one queue; their data
/// directories must then be one shared filesystem, since artifacts and uploads live there).
public enum JobStores {
    public static func open(_ setting: String, sqlitePath: String, logger: Logger = Logger(label: "bonsai.store")) throws -> any JobStore {
        if setting == "sqlite" { return try Store(path: sqlitePath) }
        if setting.hasPrefix("postgres://") || setting.hasPrefix("postgresql://") {
            return try PostgresStore(url: PostgresURL(setting), logger: logger)
        }
        throw StoreURLError(detail: "expected \"sqlite\" or a postgres://user:password@host:port/database URL")
    }

    /// Whether `setting` names a valid store (without connecting).
    public static func validate(_ setting: String) throws {
        if setting == "sqlite" { return }
        guard setting.hasPrefix("postgres://") || setting.hasPrefix("postgresql://") else {
            throw StoreURLError(detail: "expected \"sqlite\" or a postgres://user:password@host:port/database URL")
        }
        _ = try PostgresURL(setting)
    }
}
