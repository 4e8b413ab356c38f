import Foundation
import PostgresNIO

/// A `postgres://user:password@host:port/database` URL (also `postgresql://`), parsed into a
/// connection configuration. Query options: `sslmode=disable` (default) or `sslmode=require`
/// (TLS with the system's trust roots and host-name verification); `host=/dir` connects through
/// the Unix socket `/dir/.s.PGSQL.<port>` instead of TCP. The password may be percent-encoded.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool
    public var socketDirectory: String?

    public init(_ text: String) throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw StoreURLError(detail: "not a postgres:// URL")
        }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        socketDirectory = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        guard let host = url.host, !host.isEmpty || socketDirectory != nil else { throw StoreURLError(detail: "the URL names no host") }
        self.host = host
        port = url.port ?? 5432
        guard let user = url.user?.removingPercentEncoding, !user.isEmpty else { throw StoreURLError(detail: "the URL names no user") }
        username = user
        password = url.password?.removingPercentEncoding
        let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        guard !path.isEmpty, !path.contains("/") else { throw StoreURLError(detail: "the URL names no database (…/DBNAME)") }
        database = path
        switch query["sslmode"] ?? "disable" {
        case "disable": requireTLS = false
        case "require", "verify-full": requireTLS = true
        case let other: throw StoreURLError(detail: "sslmode=\(other) is not supported (use disable or require)")
        }
    }

    /// The URL without its password (for logs and errors).
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" + (requireTLS ? "?sslmode=require" : "") }

    /// The full URL, password included (percent-encoded), e.g. for another process's config.
    public var connectionString: String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let user = username.addingPercentEncoding(withAllowedCharacters: allowed) ?? username
        let secret = password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0) } ?? ""
        var query: [String] = []
        if requireTLS { query.append("sslmode=require") }
        if let socketDirectory { query.append("host=\(socketDirectory)") }
        return "postgres://\(user)\(secret)@\(host):\(port)/\(database)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// The same server with another database (tests create one database per test).
    public func with(database: String) -> PostgresURL { var copy = self; copy.database = database; return copy }

    func configuration() throws -> PostgresConnection.Configuration {
        if let socketDirectory {
            return .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password, database: database)
        }
        let tls: PostgresConnection.Configuration.TLS = requireTLS
            ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable
        return .init(host: host, port: port, username: username, password: password, database: database, tls: tls)
    }
}

public struct StoreURLError: Error, CustomStringConvertible, Sendable {
    public var detail: String
    public var description: String { "store URL: \(detail)" }
}

extension PostgresURL {
    /// Creates database `name` (letters, digits, `_`) on this URL's server, connecting to this
    /// URL's database, and returns the URL of the new one (tests use one scratch database each).
    public func createDatabase(named name: String) throws -> PostgresURL {
        guard name.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw StoreURLError(detail: "database name \(name) must be 1–63 of a–z, 0–9, _")
        }
        let pool = try BlockingPool(url: self, size: 1, logger: Logger(label: "bonsai.postgres"))
        defer { pool.close() }
        _ = try pool.withConnection { try PGSession(connection: $0, logger: pool.logger).execute("CREATE DATABASE \(unescaped: name)") }
        return with(database: name)
    }

    /// Drops database `name` on this URL's server (closing its other sessions first).
    public func dropDatabase(named name: String) throws {
        guard name.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw StoreURLError(detail: "database name \(name) must be 1–63 of a–z, 0–9, _")
        }
        let pool = try BlockingPool(url: self, size: 1, logger: Logger(label: "bonsai.postgres"))
        defer { pool.close() }
        _ = try pool.withConnection { try PGSession(connection: $0, logger: pool.logger).execute("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)") }
    }
}
