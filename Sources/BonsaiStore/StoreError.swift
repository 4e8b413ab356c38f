import Foundation

/// What the store refuses. The server maps these to HTTP (and nothing below it does).
public enum StoreError: Error, Equatable, CustomStringConvertible, Sendable {
    /// No such row visible to the caller (another tenant's job is "not found" too).
    case notFound(String)
    /// The write carried a lease token that no longer owns the job: a stale worker.
    case leaseLost(job: String)
    /// The requested change is not allowed from the job's current state.
    case illegalState(job: String, status: String, detail: String)
    /// Same Idempotency-Key with a different request body.
    case idempotencyMismatch(key: String)
    /// Same Idempotency-Key while the first request is still being processed.
    case idempotencyInProgress(key: String)
    /// The tenant has too many queued jobs.
    case queueFull(tenant: String, limit: Int)
    /// A shipped migration's SQL changed after it was applied.
    case migrationChanged(name: String)
    case invalid(field: String, detail: String)

    public var description: String {
        switch self {
        case let .notFound(what): return "\(what) not found"
        case let .leaseLost(job): return "job \(job): the lease is no longer held by this worker"
        case let .illegalState(job, status, detail): return "job \(job) is \(status): \(detail)"
        case let .idempotencyMismatch(key): return "Idempotency-Key '\(key)' was used with a different request body"
        case let .idempotencyInProgress(key): return "a request with Idempotency-Key '\(key)' is still being processed"
        case let .queueFull(tenant, limit): return "tenant '\(tenant)' already has \(limit) queued jobs"
        case let .migrationChanged(name): return "migration \(name) differs from the one applied to this database (shipped migrations must never be edited)"
        case let .invalid(field, detail): return "\(field): \(detail)"
        }
    }
}
