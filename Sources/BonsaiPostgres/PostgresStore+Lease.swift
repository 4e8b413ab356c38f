import BonsaiStore
import Foundation
import PostgresNIO

/// Leases on PostgreSQL (semantics as in the SQLite `Store+Lease.swift`).
extension PostgresStore {
    /// Claims the most urgent runnable job in one statement:
    /// `UPDATE jobs … WHERE seq = (SELECT … ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE OF j SKIP LOCKED) RETURNING *`.
    ///
    /// `SKIP LOCKED`: a job another claimer has locked is passed over instead of waited for, so
    /// concurrent claimers take different jobs without queueing behind each other.
    ///
    /// SERIALIZABLE, because the tenant's running limit is a count over other rows: two claimers
    /// could each count `max_running - 1` running jobs of a tenant and each start another one (write
    /// skew). Under READ COMMITTED the count comes from the statement's snapshot and no row lock
    /// covers "the set of running jobs", so nothing stops that; serializable snapshot isolation
    /// detects the read/write dependency cycle and aborts one claim (40001), which is retried
    /// with a fresh snapshot. A claimer that loses the race for the same job row aborts the same way
    /// (or skips it) and retries; exactly one wins. Counts an attempt.
    public func claim(owner: String, leaseSeconds: Double, now: Double?) throws -> Lease? {
        let token = Store.randomHex(16)
        return try transaction("claim", isolation: .serializable, now: now) { tx in
            let now = tx.now
            guard let row = try tx.session.one("""
                UPDATE jobs SET status = 'running', lease_owner = \(owner), lease_token = \(token), lease_expires_at = \(now + leaseSeconds),
                    attempts = attempts + 1, started_at = COALESCE(started_at, \(now)), updated_at = \(now), version = version + 1
                WHERE seq = (
                    SELECT j.seq FROM jobs j JOIN tenants t ON t.name = j.tenant
                    WHERE j.status = 'queued' AND j.not_before <= \(now) AND NOT j.cancel_requested
                      AND (SELECT COUNT(*) FROM jobs r WHERE r.tenant = j.tenant AND r.status = 'running') < t.max_running
                    ORDER BY j.priority DESC, j.seq ASC LIMIT 1
                    FOR UPDATE OF j SKIP LOCKED)
                RETURNING *
                """) else { tx.notify = false; return nil }
            let job = try Self.jobRecord(row)
            try Self.appendEvent(tx, jobSeq: job.seq, kind: "status", data: ["status": "running", "attempt": job.attempts])
            return Lease(job: job, token: token, owner: owner)
        }
    }

    /// Extends the lease (from the database clock); returns whether cancellation was requested.
    public func heartbeat(_ lease: Lease, leaseSeconds: Double, now: Double?) throws -> Bool {
        try transaction("heartbeat", now: now) { tx in
            tx.notify = false
            guard let row = try tx.session.one("""
                UPDATE jobs SET lease_expires_at = \(tx.now + leaseSeconds)
                WHERE seq = \(lease.job.seq) AND lease_token = \(lease.token) AND status = 'running'
                RETURNING cancel_requested
                """) else { throw StoreError.leaseLost(job: lease.job.id) }
            return try row.bool("cancel_requested")
        }
    }

    /// Re-queues running jobs whose lease expired (attempt stays counted); a job out of attempts
    /// fails. `FOR UPDATE SKIP LOCKED`: a row being heartbeated or finished right now is left to
    /// that transaction (READ COMMITTED re-checks the expiry against the row's newest version for
    /// the rows it does lock), and two servers sweeping at once split the work.
    @discardableResult
    public func requeueExpired(now: Double?) throws -> [String] {
        try transaction("requeueExpired", now: now) { tx in
            let expired = try tx.session.all("""
                SELECT * FROM jobs WHERE status = 'running' AND lease_expires_at < \(tx.now) ORDER BY seq FOR UPDATE SKIP LOCKED
                """).map(Self.jobRecord)
            if expired.isEmpty { tx.notify = false }
            for job in expired {
                if job.cancelRequested {
                    try Self.terminate(tx, seq: job.seq, status: .cancelled, error: nil)
                } else if job.attempts >= job.maxAttempts {
                    try Self.terminate(tx, seq: job.seq, status: .failed, error: "lease expired (worker lost) after \(job.attempts) attempt(s)")
                } else {
                    try Self.requeue(tx, seq: job.seq, notBefore: tx.now, refundAttempt: false, reason: "lease expired")
                }
            }
            return expired.map(\.id)
        }
    }

    public func succeed(_ lease: Lease, result: String, artifacts: [ArtifactRow], now: Double?) throws {
        try transaction("succeed", now: now) { tx in
            try Self.checkLease(tx, lease)
            for a in artifacts {
                try tx.session.execute("""
                    INSERT INTO artifacts (job_seq, kind, path, bytes, sha256, created_at)
                    VALUES (\(lease.job.seq), \(a.kind), \(a.path), \(a.bytes), \(a.sha256), \(tx.now))
                    ON CONFLICT (job_seq, kind) DO UPDATE SET path = EXCLUDED.path, bytes = EXCLUDED.bytes,
                        sha256 = EXCLUDED.sha256, created_at = EXCLUDED.created_at
                    """)
            }
            try tx.session.execute("UPDATE jobs SET result = \(result), progress = 1, eta_seconds = 0 WHERE seq = \(lease.job.seq)")
            try Self.terminate(tx, seq: lease.job.seq, status: .succeeded, error: nil)
        }
    }

    @discardableResult
    public func fail(_ lease: Lease, error: String, retryable: Bool, backoff: Double, now: Double?) throws -> JobStatus {
        try transaction("fail", now: now) { tx in
            try Self.checkLease(tx, lease)
            let attempts = try tx.session.one("SELECT attempts FROM jobs WHERE seq = \(lease.job.seq)")?.int("attempts") ?? 0
            if retryable && attempts < lease.job.maxAttempts {
                try tx.session.execute("UPDATE jobs SET error = \(error) WHERE seq = \(lease.job.seq)")
                try Self.requeue(tx, seq: lease.job.seq, notBefore: tx.now + backoff, refundAttempt: false, reason: error)
                return .queued
            }
            try Self.terminate(tx, seq: lease.job.seq, status: .failed, error: error)
            return .failed
        }
    }

    public func cancelled(_ lease: Lease, now: Double?) throws {
        try transaction("cancelled", now: now) { tx in
            try Self.checkLease(tx, lease)
            try Self.terminate(tx, seq: lease.job.seq, status: .cancelled, error: nil)
        }
    }

    /// Gives a job back after an infrastructure fault (full or read-only data directory): re-queued
    /// with its attempt refunded, not runnable for `retryAfter` seconds, the cause kept in `error`.
    public func deferAfterInfrastructureFault(_ lease: Lease, reason: String, retryAfter: Double, now: Double?) throws {
        try transaction("deferAfterInfrastructureFault", now: now) { tx in
            try Self.checkLease(tx, lease)
            try tx.session.execute("UPDATE jobs SET error = \(reason) WHERE seq = \(lease.job.seq)")
            try Self.requeue(tx, seq: lease.job.seq, notBefore: tx.now + retryAfter, refundAttempt: true, reason: reason)
        }
    }

    /// Graceful shutdown: gives the job back without counting the attempt.
    public func release(_ lease: Lease, now: Double?) throws {
        try transaction("release", now: now) { tx in
            try Self.checkLease(tx, lease)
            try Self.requeue(tx, seq: lease.job.seq, notBefore: tx.now, refundAttempt: true, reason: "server shutting down")
        }
    }
}
