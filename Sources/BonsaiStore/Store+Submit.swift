import Foundation
import GRDB

/// A validated job to insert.
public struct NewJob: Sendable {
    public var tenant: String
    /// The spec as canonical JSON (validated by the caller).
    public var spec: String
    public var priority: Int
    public var maxAttempts: Int
    public init(tenant: String, spec: String, priority: Int = 0, maxAttempts: Int = 3) {
        self.tenant = tenant; self.spec = spec; self.priority = priority; self.maxAttempts = maxAttempts
    }
}

/// The outcome of reserving an Idempotency-Key.
public enum IdempotencyReservation: Sendable, Equatable {
    /// The key is new (or its earlier reservation was abandoned): go on and create the job.
    case reserved
    /// The key already produced this job: answer with it.
    case existing(jobID: String)
}

extension Store {
    /// A reservation older than this is considered abandoned (its request crashed before commit).
    public static let abandonedReservationSeconds = 60.0

    /// Reserves `key` for `requestHash` (the SHA-256 of the canonical request body), or returns the
    /// job it already created. Throws `idempotencyMismatch` for the same key with another body and
    /// `idempotencyInProgress` while the first request has not committed yet.
    public func reserveIdempotencyKey(tenant: String, key: String, requestHash: String, now: Double?) throws -> IdempotencyReservation {
        let now = now ?? Store.now()
        return try immediate { db in
            if let row = try Row.fetchOne(db, sql: "SELECT request_hash, job_id, created_at FROM idempotency_keys WHERE tenant = ? AND key = ?",
                                          arguments: [tenant, key]) {
                let hash: String = row["request_hash"]
                guard hash == requestHash else { throw StoreError.idempotencyMismatch(key: key) }
                if let job: String = row["job_id"] { return .existing(jobID: job) }
                let created: Double = row["created_at"]
                guard now - created > Store.abandonedReservationSeconds else { throw StoreError.idempotencyInProgress(key: key) }
                try db.execute(sql: "UPDATE idempotency_keys SET created_at = ? WHERE tenant = ? AND key = ?", arguments: [now, tenant, key])
                return .reserved
            }
            try db.execute(sql: "INSERT INTO idempotency_keys (tenant, key, request_hash, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [tenant, key, requestHash, now])
            return .reserved
        }
    }

    /// Drops a reservation whose request failed validation (so the key may be used again).
    public func releaseIdempotencyKey(tenant: String, key: String) throws {
        try immediate { db in
            try db.execute(sql: "DELETE FROM idempotency_keys WHERE tenant = ? AND key = ? AND job_id IS NULL", arguments: [tenant, key])
        }
    }

    /// Inserts a queued job (and binds `idempotencyKey` to it) in one transaction. Enforces the
    /// tenant's queue limit. Returns only after commit, so a 202 never names an uncommitted job.
    public func submit(_ job: NewJob, idempotencyKey: String?, now: Double?) throws -> JobRecord {
        let now = now ?? Store.now()
        return try immediate { db in
            guard let limit = try Int.fetchOne(db, sql: "SELECT max_queued FROM tenants WHERE name = ?", arguments: [job.tenant]) else {
                throw StoreError.notFound("tenant \(job.tenant)")
            }
            let queued = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE tenant = ? AND status = 'queued'", arguments: [job.tenant]) ?? 0
            guard queued < limit else { throw StoreError.queueFull(tenant: job.tenant, limit: limit) }
            let id = "job-" + Store.randomHex(10)
            try db.execute(sql: """
                INSERT INTO jobs (id, tenant, status, priority, spec, max_attempts, created_at, updated_at)
                VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)
                """, arguments: [id, job.tenant, job.priority, job.spec, job.maxAttempts, now, now])
            let seq = db.lastInsertedRowID
            if let idempotencyKey {
                try db.execute(sql: "UPDATE idempotency_keys SET job_id = ? WHERE tenant = ? AND key = ?",
                               arguments: [id, job.tenant, idempotencyKey])
            }
            try Store.appendEvent(db, jobSeq: seq, kind: "status", data: ["status": "queued"], now: now)
            return try JobRecord.fetchOne(db, sql: "SELECT * FROM jobs WHERE seq = ?", arguments: [seq])!
        }
    }

    /// Appends to a job's activity feed (the SSE stream).
    static func appendEvent(_ db: Database, jobSeq: Int64, kind: String, data: [String: Any], now: Double) throws {
        // JSON has no NaN or infinity: non-finite numbers become null.
        let json = try jobEventJSON(data, now: now)
        try db.execute(sql: "INSERT INTO job_events (job_seq, kind, data, time) VALUES (?, ?, ?, ?)", arguments: [jobSeq, kind, json, now])
    }
}
