import Foundation
import GRDB

/// Leases: a worker claims a job, holds it by heartbeating, and every write of the job's effects
/// names the lease token. When the lease expires (the worker died or hung) the job is re-queued
/// and a later write with the old token changes nothing (`StoreError.leaseLost`).
extension Store {
    /// Claims the most urgent runnable job: highest priority, then oldest; skips tenants already
    /// at their running limit and jobs backing off. One `UPDATE … RETURNING` inside `BEGIN
    /// IMMEDIATE`, so two workers (even in two processes) never claim the same job. Counts an attempt.
    public func claim(owner: String, leaseSeconds: Double, now: Double?) throws -> Lease? {
        let now = now ?? Store.now()
        let token = Store.randomHex(16)
        return try immediate { db in
            let row = try Row.fetchOne(db, sql: """
                UPDATE jobs SET status = 'running', lease_owner = ?, lease_token = ?, lease_expires_at = ?,
                    attempts = attempts + 1, started_at = COALESCE(started_at, ?), updated_at = ?, version = version + 1
                WHERE seq = (
                    SELECT j.seq FROM jobs j JOIN tenants t ON t.name = j.tenant
                    WHERE j.status = 'queued' AND j.not_before <= ? AND j.cancel_requested = 0
                      AND (SELECT COUNT(*) FROM jobs r WHERE r.tenant = j.tenant AND r.status = 'running') < t.max_running
                    ORDER BY j.priority DESC, j.seq ASC LIMIT 1)
                RETURNING *
                """, arguments: [owner, token, now + leaseSeconds, now, now, now])
            guard let row else { return nil }
            let job = try JobRecord(row: row)
            try Store.appendEvent(db, jobSeq: job.seq, kind: "status", data: ["status": "running", "attempt": job.attempts], now: now)
            return Lease(job: job, token: token, owner: owner)
        }
    }

    /// Throws `leaseLost` unless `lease` still owns its running job.
    static func checkLease(_ db: Database, _ lease: Lease) throws {
        let held = try Bool.fetchOne(db, sql: "SELECT 1 FROM jobs WHERE seq = ? AND lease_token = ? AND status = 'running'",
                                     arguments: [lease.job.seq, lease.token]) ?? false
        guard held else { throw StoreError.leaseLost(job: lease.job.id) }
    }

    /// Extends the lease; returns whether cancellation was requested.
    public func heartbeat(_ lease: Lease, leaseSeconds: Double, now: Double?) throws -> Bool {
        let now = now ?? Store.now()
        return try immediate { db in
            try db.execute(sql: "UPDATE jobs SET lease_expires_at = ? WHERE seq = ? AND lease_token = ? AND status = 'running'",
                           arguments: [now + leaseSeconds, lease.job.seq, lease.token])
            guard db.changesCount == 1 else { throw StoreError.leaseLost(job: lease.job.id) }
            return try Bool.fetchOne(db, sql: "SELECT cancel_requested FROM jobs WHERE seq = ?", arguments: [lease.job.seq]) ?? false
        }
    }

    /// Re-queues running jobs whose lease expired (their attempt stays counted); a job out of
    /// attempts fails instead. Returns the ids affected.
    @discardableResult
    public func requeueExpired(now: Double?) throws -> [String] {
        let now = now ?? Store.now()
        return try immediate { db in
            let expired = try JobRecord.fetchAll(db, sql: "SELECT * FROM jobs WHERE status = 'running' AND lease_expires_at < ?", arguments: [now])
            for job in expired {
                if job.cancelRequested {
                    try Store.terminate(db, seq: job.seq, status: .cancelled, error: nil, now: now)
                } else if job.attempts >= job.maxAttempts {
                    try Store.terminate(db, seq: job.seq, status: .failed,
                                        error: "lease expired (worker lost) after \(job.attempts) attempt(s)", now: now)
                } else {
                    try Store.requeue(db, seq: job.seq, notBefore: now, refundAttempt: false, now: now, reason: "lease expired")
                }
            }
            return expired.map(\.id)
        }
    }

    /// The worker finished the job: stores the result and artifact rows, releases the lease.
    public func succeed(_ lease: Lease, result: String, artifacts: [ArtifactRow], now: Double?) throws {
        let now = now ?? Store.now()
        return try immediate { db in
            try Store.checkLease(db, lease)
            for a in artifacts {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO artifacts (job_seq, kind, path, bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [lease.job.seq, a.kind, a.path, a.bytes, a.sha256, now])
            }
            try db.execute(sql: "UPDATE jobs SET result = ?, progress = 1, eta_seconds = 0 WHERE seq = ?", arguments: [result, lease.job.seq])
            try Store.terminate(db, seq: lease.job.seq, status: .succeeded, error: nil, now: now)
        }
    }

    /// The job failed with `error`. When `retryable` and attempts remain, it is re-queued to run
    /// after `backoff` seconds; otherwise it fails for good. Returns the new status.
    @discardableResult
    public func fail(_ lease: Lease, error: String, retryable: Bool, backoff: Double, now: Double?) throws -> JobStatus {
        let now = now ?? Store.now()
        return try immediate { db in
            try Store.checkLease(db, lease)
            let attempts = try Int.fetchOne(db, sql: "SELECT attempts FROM jobs WHERE seq = ?", arguments: [lease.job.seq]) ?? 0
            if retryable && attempts < lease.job.maxAttempts {
                try db.execute(sql: "UPDATE jobs SET error = ? WHERE seq = ?", arguments: [error, lease.job.seq])
                try Store.requeue(db, seq: lease.job.seq, notBefore: now + backoff, refundAttempt: false, now: now, reason: error)
                return .queued
            }
            try Store.terminate(db, seq: lease.job.seq, status: .failed, error: error, now: now)
            return .failed
        }
    }

    /// The worker stopped because cancellation was requested.
    public func cancelled(_ lease: Lease, now: Double?) throws {
        let now = now ?? Store.now()
        return try immediate { db in
            try Store.checkLease(db, lease)
            try Store.terminate(db, seq: lease.job.seq, status: .cancelled, error: nil, now: now)
        }
    }

    /// Graceful shutdown: gives the job back without counting the attempt (it resumes from its snapshot).
    public func release(_ lease: Lease, now: Double?) throws {
        let now = now ?? Store.now()
        return try immediate { db in
            try Store.checkLease(db, lease)
            try Store.requeue(db, seq: lease.job.seq, notBefore: now, refundAttempt: true, now: now, reason: "server shutting down")
        }
    }

    static func requeue(_ db: Database, seq: Int64, notBefore: Double, refundAttempt: Bool, now: Double, reason: String) throws {
        try db.execute(sql: """
            UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
                not_before = ?, attempts = attempts - ?, eta_seconds = NULL, updated_at = ?, version = version + 1
            WHERE seq = ?
            """, arguments: [notBefore, refundAttempt ? 1 : 0, now, seq])
        try appendEvent(db, jobSeq: seq, kind: "status", data: ["status": "queued", "reason": reason], now: now)
    }

    static func terminate(_ db: Database, seq: Int64, status: JobStatus, error: String?, now: Double) throws {
        try db.execute(sql: """
            UPDATE jobs SET status = ?, error = COALESCE(?, error), lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
                eta_seconds = NULL, finished_at = ?, updated_at = ?, version = version + 1
            WHERE seq = ?
            """, arguments: [status.rawValue, error, now, now, seq])
        var data: [String: Any] = ["status": status.rawValue]
        if let error { data["error"] = error }
        try appendEvent(db, jobSeq: seq, kind: "status", data: data, now: now)
    }
}

/// A downloadable file of a finished job (path relative to the data directory).
public struct ArtifactRow: Sendable, Equatable {
    public var kind: String
    public var path: String
    public var bytes: Int64
    public var sha256: String
    public init(kind: String, path: String, bytes: Int64, sha256: String) {
        self.kind = kind; self.path = path; self.bytes = bytes; self.sha256 = sha256
    }
}
