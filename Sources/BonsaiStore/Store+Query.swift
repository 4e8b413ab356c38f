import Foundation
import GRDB

/// One activity-feed entry (an SSE event).
public struct JobEventRow: Sendable, Equatable {
    public var id: Int64
    public var kind: String
    public var data: String
    public var time: Double
    public init(id: Int64, kind: String, data: String, time: Double) { self.id = id; self.kind = kind; self.data = data; self.time = time }
}

/// Reads. Every tenant-facing query filters by tenant: another tenant's job is simply not found.
/// The hot ones (status polls, SSE) use GRDB's per-connection statement cache: compiling a statement
/// each time ran SQLite's authorizer callback per column and was ~7 % of a poll's CPU.
extension Store {
    public func job(id: String, tenant: String) throws -> JobRecord {
        let job = try read { db in try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ? AND tenant = ?"), arguments: [id, tenant]).map(JobRecord.init(row:)) }
        guard let job else { throw StoreError.notFound("job \(id)") }
        return job
    }

    /// Any tenant's job (workers and tests).
    public func job(id: String) throws -> JobRecord? {
        try read { db in try JobRecord.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]) }
    }

    /// Jobs of `tenant`, newest first; `before` is the cursor (a `seq` from the previous page).
    public func jobs(tenant: String, status: JobStatus?, before: Int64?, limit: Int) throws -> [JobRecord] {
        try read { db in
            try JobRecord.fetchAll(db, sql: """
                SELECT * FROM jobs WHERE tenant = ? AND (? IS NULL OR status = ?) AND (? IS NULL OR seq < ?)
                ORDER BY seq DESC LIMIT ?
                """, arguments: [tenant, status?.rawValue, status?.rawValue, before, before, limit])
        }
    }

    public func metrics(jobSeq: Int64, key: String?, sinceStep: Int?, limit: Int) throws -> [MetricSample] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT key, step, value, time FROM metrics WHERE job_seq = ? AND (? IS NULL OR key = ?) AND (? IS NULL OR step >= ?)
                ORDER BY step, key LIMIT ?
                """, arguments: [jobSeq, key, key, sinceStep, sinceStep, limit])
                .map { MetricSample(key: $0["key"], step: $0["step"], value: $0["value"], time: $0["time"]) }
        }
    }

    public func pruningEvents(jobSeq: Int64) throws -> [PruningEventRow] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM pruning_events WHERE job_seq = ? ORDER BY ordinal"), arguments: [jobSeq]).map {
                PruningEventRow(name: $0["name"], phase: $0["phase"], step: $0["step"], sparsity: $0["sparsity"],
                                accuracyBefore: $0["accuracy_before"], accuracyAfter: $0["accuracy_after"], instability: $0["instability"])
            }
        }
    }

    public func events(jobSeq: Int64, after id: Int64, limit: Int) throws -> [JobEventRow] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM job_events WHERE job_seq = ? AND id > ? ORDER BY id LIMIT ?"),
                             arguments: [jobSeq, id, limit])
                .map { JobEventRow(id: $0["id"], kind: $0["kind"], data: $0["data"], time: $0["time"]) }
        }
    }

    public func artifact(jobSeq: Int64, kind: String) throws -> ArtifactRow? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM artifacts WHERE job_seq = ? AND kind = ?", arguments: [jobSeq, kind]).map {
                ArtifactRow(kind: $0["kind"], path: $0["path"], bytes: $0["bytes"], sha256: $0["sha256"])
            }
        }
    }

    /// Jobs by status over all tenants (for /metrics).
    public func countsByStatus() throws -> [JobStatus: Int] {
        try read { db in
            var counts = Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status") {
                if let s = JobStatus(rawValue: row["status"]) { counts[s] = row["n"] }
            }
            return counts
        }
    }

    /// Requests cancellation: a queued job is cancelled at once; a running one is flagged and its
    /// worker stops at the next step. Cancelling a finished job is an illegal state change.
    public func requestCancel(id: String, tenant: String, now: Double?) throws -> JobRecord {
        let now = now ?? Store.now()
        return try immediate { db in
            guard let job = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ? AND tenant = ?"), arguments: [id, tenant]).map(JobRecord.init(row:)) else {
                throw StoreError.notFound("job \(id)")
            }
            switch job.status {
            case .queued:
                try Store.terminate(db, seq: job.seq, status: .cancelled, error: nil, now: now)
            case .running:
                try db.execute(sql: "UPDATE jobs SET cancel_requested = 1, updated_at = ?, version = version + 1 WHERE seq = ?",
                               arguments: [now, job.seq])
                try Store.appendEvent(db, jobSeq: job.seq, kind: "cancel_requested", data: [:], now: now)
            case .succeeded, .failed, .cancelled:
                throw StoreError.illegalState(job: id, status: job.status.rawValue, detail: "only queued or running jobs can be cancelled")
            }
            return try JobRecord.fetchOne(db, sql: "SELECT * FROM jobs WHERE seq = ?", arguments: [job.seq])!
        }
    }

    /// Deletes a finished job and its rows; returns the file paths (relative to the data
    /// directory) the caller should remove. A queued or running job must be cancelled first.
    public func delete(id: String, tenant: String) throws -> [String] {
        try immediate { db in
            guard let job = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ? AND tenant = ?"), arguments: [id, tenant]).map(JobRecord.init(row:)) else {
                throw StoreError.notFound("job \(id)")
            }
            guard job.status.isTerminal else {
                throw StoreError.illegalState(job: id, status: job.status.rawValue, detail: "cancel the job before deleting it")
            }
            let files = try String.fetchAll(db, sql: "SELECT path FROM artifacts WHERE job_seq = ? UNION SELECT path FROM snapshots WHERE job_seq = ?",
                                            arguments: [job.seq, job.seq])
            try db.execute(sql: "DELETE FROM idempotency_keys WHERE tenant = ? AND job_id = ?", arguments: [tenant, id])
            try db.execute(sql: "DELETE FROM jobs WHERE seq = ?", arguments: [job.seq])
            return files
        }
    }
}
