import BonsaiStore
import Foundation
import PostgresNIO

/// Applies the SQL files of `migrations/postgres/` (embedded, see `EmbeddedPostgresMigrations.swift`)
/// in order, each in its own transaction, recording name and SHA-256 in `schema_migrations`, like
/// the SQLite ``Migrations``: an applied migration whose text changed is
/// `StoreError.migrationChanged` (shipped migrations are immutable).
///
/// Several servers may start at once against one database, so the whole sequence runs under a
/// session-level advisory lock: the second process waits, then finds everything applied.
public enum PostgresMigrations {
    /// `pg_advisory_lock` key of the migration run ("bonsai" in ASCII).
    static let lockKey: Int64 = 0x62_6f_6e_73_61_69

    static func apply(_ session: PGSession, migrations: [(name: String, sql: String)] = embedded) throws {
        try session.execute("SELECT pg_advisory_lock(\(lockKey))")
        defer { _ = try? session.execute("SELECT pg_advisory_unlock(\(lockKey))") }
        try session.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)
            """)
        var applied: [String: String] = [:]
        for row in try session.all("SELECT name, checksum FROM schema_migrations") {
            applied[try row.string("name")] = try row.string("checksum")
        }
        for migration in migrations.sorted(by: { $0.name < $1.name }) {
            let checksum = SHA256.hex(migration.sql)
            if let recorded = applied[migration.name] {
                guard recorded == checksum else { throw StoreError.migrationChanged(name: migration.name) }
                continue
            }
            try session.execute("BEGIN")
            do {
                // postgres-nio speaks only the extended protocol (one statement per query).
                for statement in statements(of: migration.sql) { try session.execute(PostgresQuery(unsafeSQL: statement)) }
                try session.execute("""
                    INSERT INTO schema_migrations (name, checksum, applied_at)
                    VALUES (\(migration.name), \(checksum), EXTRACT(EPOCH FROM clock_timestamp())::float8)
                    """)
                try session.execute("COMMIT")
            } catch {
                _ = try? session.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Applies `migrations` to the database at `url` (tests pass edited lists).
    public static func apply(url: PostgresURL, migrations: [(name: String, sql: String)]) throws {
        let pool = try BlockingPool(url: url, size: 1, logger: Logger(label: "bonsai.postgres"))
        defer { pool.close() }
        try pool.withConnection { try apply(PGSession(connection: $0, logger: pool.logger), migrations: migrations) }
    }

    /// Splits a script into statements at top-level semicolons, skipping `--` and `/* */`
    /// comments and keeping `'…'`, `"…"` and dollar-quoted (`$$…$$`, `$tag$…$tag$`) text whole.
    public static func statements(of sql: String) -> [String] {
        let s = Array(sql.unicodeScalars)
        var out: [String] = [], current = String.UnicodeScalarView(), i = 0
        func flush() {
            let text = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { out.append(text) }
            current = String.UnicodeScalarView()
        }
        while i < s.count {
            let c = s[i]
            if c == "-" && i + 1 < s.count && s[i + 1] == "-" {
                while i < s.count && s[i] != "\n" { i += 1 }
                continue
            }
            if c == "/" && i + 1 < s.count && s[i + 1] == "*" {
                i += 2
                while i + 1 < s.count && !(s[i] == "*" && s[i + 1] == "/") { i += 1 }
                i += 2
                continue
            }
            if c == "'" || c == "\"" {
                current.append(c); i += 1
                while i < s.count { current.append(s[i]); i += 1; if s[i - 1] == c { break } }
                continue
            }
            if c == "$", let tagEnd = dollarTagEnd(s, from: i) {
                let tag = Array(s[i...tagEnd])
                current.append(contentsOf: tag); i = tagEnd + 1
                while i < s.count {
                    if s[i] == "$" && i + tag.count <= s.count && Array(s[i..<(i + tag.count)]) == tag {
                        current.append(contentsOf: tag); i += tag.count
                        break
                    }
                    current.append(s[i]); i += 1
                }
                continue
            }
            if c == ";" { flush(); i += 1; continue }
            current.append(c); i += 1
        }
        flush()
        return out
    }

    /// The index of the closing `$` of a dollar-quote tag starting at `i` (`$$` or `$name$`).
    private static func dollarTagEnd(_ s: [Unicode.Scalar], from i: Int) -> Int? {
        var j = i + 1
        while j < s.count, s[j] == "_" || s[j].properties.isAlphabetic || (j > i + 1 && s[j].properties.numericType != nil) { j += 1 }
        return j < s.count && s[j] == "$" ? j : nil
    }
}
