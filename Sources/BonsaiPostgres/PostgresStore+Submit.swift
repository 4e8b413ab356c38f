import BonsaiStore
import Foundation
import PostgresNIO

/// Submission and Idempotency-Keys on PostgreSQL.
extension PostgresStore {
    /// Reserves `key` or returns the job it already created (semantics of the SQLite store).
    ///
    /// READ COMMITTED with `INSERT … ON CONFLICT DO NOTHING` is enough: when two requests insert
    /// the same key at once, the second waits for the first's transaction and then inserts nothing,
    /// and its next statement (a fresh snapshot) reads the first's committed row. Taking over an
    /// abandoned reservation is one conditional `UPDATE`, which re-checks its condition on the
    /// row's newest version, so only one request can win it.
    public func reserveIdempotencyKey(tenant: String, key: String, requestHash: String, now: Double?) throws -> IdempotencyReservation {
        try transaction("reserveIdempotencyKey", now: now) { tx in
            let inserted = try tx.session.execute("""
                INSERT INTO idempotency_keys (tenant, key, request_hash, created_at) VALUES (\(tenant), \(key), \(requestHash), \(tx.now))
                ON CONFLICT (tenant, key) DO NOTHING
                """)
            if inserted == 1 { return .reserved }
            guard let row = try tx.session.one("""
                SELECT request_hash, job_id, created_at FROM idempotency_keys WHERE tenant = \(tenant) AND key = \(key) FOR UPDATE
                """) else {
                // The other reservation was released between the two statements: try again.
                throw StoreError.idempotencyInProgress(key: key)
            }
            guard try row.string("request_hash") == requestHash else { throw StoreError.idempotencyMismatch(key: key) }
            if let job = try row.optionalString("job_id") { return .existing(jobID: job) }
            guard tx.now - (try row.double("created_at")) > Store.abandonedReservationSeconds else {
                throw StoreError.idempotencyInProgress(key: key)
            }
            try tx.session.execute("UPDATE idempotency_keys SET created_at = \(tx.now) WHERE tenant = \(tenant) AND key = \(key)")
            return .reserved
        }
    }

    public func releaseIdempotencyKey(tenant: String, key: String) throws {
        try transaction("releaseIdempotencyKey", now: nil) { tx in
            try tx.session.execute("DELETE FROM idempotency_keys WHERE tenant = \(tenant) AND key = \(key) AND job_id IS NULL")
        }
    }

    /// Inserts a queued job (and binds `idempotencyKey` to it) in one transaction, enforcing the
    /// tenant's queue limit. SERIALIZABLE: the limit is a count of other rows followed by an
    /// insert, which two concurrent submissions could both pass under weaker isolation (write skew);
    /// conflicts abort one (40001) and it is retried. Returns only after commit.
    public func submit(_ job: NewJob, idempotencyKey: String?, now: Double?) throws -> JobRecord {
        try transaction("submit", isolation: .serializable, now: now) { tx in
            guard let limits = try tx.session.one("""
                SELECT max_queued, (SELECT COUNT(*) FROM jobs WHERE tenant = \(job.tenant) AND status = 'queued') AS queued
                FROM tenants WHERE name = \(job.tenant)
                """) else { throw StoreError.notFound("tenant \(job.tenant)") }
            let limit = try limits.int("max_queued")
            guard try limits.int("queued") < limit else { throw StoreError.queueFull(tenant: job.tenant, limit: limit) }
            let id = "job-" + Store.randomHex(10)
            // The job, its first feed entry and the key binding in one statement (one round trip).
            let event = try jobEventJSON(["status": "queued"], now: tx.now)
            guard let row = try tx.session.one("""
                WITH job AS (
                    INSERT INTO jobs (id, tenant, status, priority, spec, max_attempts, created_at, updated_at)
                    VALUES (\(id), \(job.tenant), 'queued', \(job.priority), \(job.spec), \(job.maxAttempts), \(tx.now), \(tx.now))
                    RETURNING *),
                event AS (INSERT INTO job_events (job_seq, kind, data, time) SELECT seq, 'status', \(event), \(tx.now) FROM job),
                key AS (UPDATE idempotency_keys SET job_id = \(id) WHERE tenant = \(job.tenant) AND key = \(idempotencyKey))
                SELECT * FROM job
                """) else { throw StoreError.invalid(field: "job", detail: "insert returned no row") }
            tx.wakesQueue = true
            return try Self.jobRecord(row)
        }
    }

    /// Requests cancellation (queued: cancelled now; running: flagged for its worker). The job row
    /// is locked first, so a concurrent claim or finish orders before or after, never between.
    public func requestCancel(id: String, tenant: String, now: Double?) throws -> JobRecord {
        try transaction("requestCancel", now: now) { tx in
            guard let row = try tx.session.one("SELECT * FROM jobs WHERE id = \(id) AND tenant = \(tenant) FOR UPDATE") else {
                throw StoreError.notFound("job \(id)")
            }
            let job = try Self.jobRecord(row)
            switch job.status {
            case .queued:
                try Self.terminate(tx, seq: job.seq, status: .cancelled, error: nil)
            case .running:
                try tx.session.execute("""
                    UPDATE jobs SET cancel_requested = TRUE, updated_at = \(tx.now), version = version + 1 WHERE seq = \(job.seq)
                    """)
                try Self.appendEvent(tx, jobSeq: job.seq, kind: "cancel_requested", data: [:])
            case .succeeded, .failed, .cancelled:
                throw StoreError.illegalState(job: id, status: job.status.rawValue, detail: "only queued or running jobs can be cancelled")
            }
            return try Self.jobRecord(try tx.session.one("SELECT * FROM jobs WHERE seq = \(job.seq)")!)
        }
    }

    /// Deletes a finished job and its rows; returns the files the caller should remove.
    public func delete(id: String, tenant: String) throws -> [String] {
        try transaction("delete", now: nil) { tx in
            guard let row = try tx.session.one("SELECT * FROM jobs WHERE id = \(id) AND tenant = \(tenant) FOR UPDATE") else {
                throw StoreError.notFound("job \(id)")
            }
            let job = try Self.jobRecord(row)
            guard job.status.isTerminal else {
                throw StoreError.illegalState(job: id, status: job.status.rawValue, detail: "cancel the job before deleting it")
            }
            let files = try tx.session.all("""
                SELECT path FROM artifacts WHERE job_seq = \(job.seq) UNION SELECT path FROM snapshots WHERE job_seq = \(job.seq)
                """).map { try $0.string("path") }
            try tx.session.execute("DELETE FROM idempotency_keys WHERE tenant = \(tenant) AND job_id = \(id)")
            try tx.session.execute("DELETE FROM jobs WHERE seq = \(job.seq)")
            return files
        }
    }
}
