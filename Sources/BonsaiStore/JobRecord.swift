import Foundation
import GRDB

public enum JobStatus: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, failed, cancelled
    public var isTerminal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// One row of `jobs`, as the store returns it.
public struct JobRecord: Sendable, Equatable {
    public var seq: Int64
    public var id: String
    public var tenant: String
    public var status: JobStatus
    public var priority: Int
    public var spec: String
    public var phase: String?
    public var progress: Double
    public var plannedSteps: Int
    public var completedSteps: Int
    public var etaSeconds: Double?
    public var latestMetrics: String?
    public var result: String?
    public var error: String?
    public var attempts: Int
    public var maxAttempts: Int
    public var notBefore: Double
    public var leaseOwner: String?
    public var leaseToken: String?
    public var leaseExpiresAt: Double?
    public var cancelRequested: Bool
    public var version: Int
    public var createdAt: Double
    public var updatedAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?

    init(row: Row) throws {
        seq = row["seq"]; id = row["id"]; tenant = row["tenant"]
        let raw: String = row["status"]
        guard let status = JobStatus(rawValue: raw) else { throw StoreError.invalid(field: "status", detail: "unknown status \(raw) in database") }
        self.status = status
        priority = row["priority"]; spec = row["spec"]; phase = row["phase"]; progress = row["progress"]
        plannedSteps = row["planned_steps"]; completedSteps = row["completed_steps"]; etaSeconds = row["eta_seconds"]
        latestMetrics = row["latest_metrics"]; result = row["result"]; error = row["error"]
        attempts = row["attempts"]; maxAttempts = row["max_attempts"]; notBefore = row["not_before"]
        leaseOwner = row["lease_owner"]; leaseToken = row["lease_token"]; leaseExpiresAt = row["lease_expires_at"]
        cancelRequested = row["cancel_requested"]; version = row["version"]
        createdAt = row["created_at"]; updatedAt = row["updated_at"]; startedAt = row["started_at"]; finishedAt = row["finished_at"]
    }

    static func fetchOne(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> JobRecord? {
        try Row.fetchOne(db, sql: sql, arguments: arguments).map(JobRecord.init(row:))
    }

    static func fetchAll(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> [JobRecord] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map(JobRecord.init(row:))
    }
}

/// A job as leased by a worker: the record plus the token every write of its effects must carry.
public struct Lease: Sendable, Equatable {
    public var job: JobRecord
    public var token: String
    public var owner: String
    public init(job: JobRecord, token: String, owner: String) { self.job = job; self.token = token; self.owner = owner }
}
