import Foundation
import GRDB

/// Applies the SQL files of `migrations/` (embedded in the binary, see `EmbeddedMigrations.swift`)
/// in order, each in its own transaction, recording name and SHA-256 in `schema_migrations`. A
/// migration already applied whose text changed is an error: shipped migrations are immutable,
/// so a database never silently diverges from the files that describe it.
public enum Migrations {
    public static func apply(to writer: any DatabaseWriter, migrations: [(name: String, sql: String)] = embedded) throws {
        try writer.writeWithoutTransaction { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at REAL NOT NULL)
                """)
            let applied = try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT name, checksum FROM schema_migrations")
                .map { (row: Row) -> (String, String) in (row["name"], row["checksum"]) })
            for migration in migrations.sorted(by: { $0.name < $1.name }) {
                let checksum = SHA256.hex(migration.sql)
                if let recorded = applied[migration.name] {
                    guard recorded == checksum else { throw StoreError.migrationChanged(name: migration.name) }
                    continue
                }
                try db.inTransaction(.immediate) {
                    try db.execute(sql: migration.sql)
                    try db.execute(sql: "INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (?, ?, ?)",
                                   arguments: [migration.name, checksum, Date().timeIntervalSince1970])
                    return .commit
                }
            }
        }
    }
}
