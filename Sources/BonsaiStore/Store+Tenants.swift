import Foundation
import GRDB

/// Who a bearer token belongs to.
public struct Principal: Sendable, Equatable {
    public var tenant: String
    public var admin: Bool
    /// Unix seconds after which the token is refused; nil = never expires.
    public var expiresAt: Double?
    public init(tenant: String, admin: Bool, expiresAt: Double? = nil) {
        self.tenant = tenant; self.admin = admin; self.expiresAt = expiresAt
    }

    /// Whether the token has expired at `now`.
    public func isExpired(now: Double = Store.now()) -> Bool { expiresAt.map { now >= $0 } ?? false }
}

/// Tenants and their tokens. Tokens are random, shown once, and stored as SHA-256 hashes: a copy
/// of the database does not let anyone authenticate.
extension Store {
    public func ensureTenant(_ name: String, maxRunning: Int, maxQueued: Int, now: Double?) throws {
        let now = now ?? Store.now()
        guard name.range(of: "^[A-Za-z0-9_.-]{1,64}$", options: .regularExpression) != nil else {
            throw StoreError.invalid(field: "tenant", detail: "1–64 characters of A–Z, a–z, 0–9, '_', '.', '-'")
        }
        try immediate { db in
            try db.execute(sql: "INSERT OR IGNORE INTO tenants (name, max_running, max_queued, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, maxRunning, maxQueued, now])
        }
    }

    public func setLimits(tenant: String, maxRunning: Int, maxQueued: Int) throws {
        try immediate { db in
            try db.execute(sql: "UPDATE tenants SET max_running = ?, max_queued = ? WHERE name = ?", arguments: [maxRunning, maxQueued, tenant])
        }
    }

    /// Creates a token for `tenant` (creating the tenant if needed) and returns it; only its hash is stored.
    public func createToken(tenant: String, admin: Bool, token given: String?, label: String?, expiresAt: Double?) throws -> String {
        try ensureTenant(tenant)
        let token = given ?? "bns_" + Store.randomHex(24)
        try immediate { db in
            try db.execute(sql: "INSERT OR IGNORE INTO tokens (hash, tenant, admin, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [SHA256.hex(token), tenant, admin, label, Store.now(), expiresAt])
        }
        return token
    }

    public func principal(forToken token: String) throws -> Principal? {
        let hash = SHA256.hex(token)
        return try read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT tenant, admin, expires_at FROM tokens WHERE hash = ?"), arguments: [hash]).map {
                Principal(tenant: $0["tenant"], admin: $0["admin"], expiresAt: $0["expires_at"])
            }
        }
    }

    public func tokenCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tokens") ?? 0 }
    }
}
