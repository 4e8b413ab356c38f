import Foundation

/// The job store as the rest of Bonsai sees it: jobs, leases, progress, tenants, tokens and
/// uploads. Two implementations: ``Store`` (SQLite, one machine) and `PostgresStore`
/// (`BonsaiPostgres`, several `bonsai serve` processes on several machines sharing one queue).
///
/// The API is synchronous on purpose: workers call it from their own Dispatch threads and the
/// HTTP routes hop to a blocking Dispatch queue (`Blocking.run`) first, so a call may block its
/// thread on I/O. It must never be called on a SwiftNIO event loop.
///
/// Times are Unix seconds. Every `now:` parameter is optional: `nil` means "the store's clock"
/// (the local clock for SQLite, the database server's clock for PostgreSQL, so that lease expiry
/// compares times from one clock however skewed the machines are); tests pass explicit times.
///
/// Semantics every implementation keeps (the shared store tests check them against both):
/// a claim is atomic (two workers never hold one job), honours priority then age, `not_before`,
/// the tenant's running limit and cancellation, and counts an attempt; every write of a running
/// job's effects names its lease token and changes nothing (`StoreError.leaseLost`) once the lease
/// is gone; `changes` rings after every committed write.
public protocol JobStore: AnyObject, Sendable {
    /// Rung after every committed write (for PostgreSQL also after other processes' writes).
    var changes: ChangeBell { get }

    // Leases (see Store+Lease.swift for the semantics).
    func claim(owner: String, leaseSeconds: Double, now: Double?) throws -> Lease?
    func heartbeat(_ lease: Lease, leaseSeconds: Double, now: Double?) throws -> Bool
    @discardableResult func requeueExpired(now: Double?) throws -> [String]
    func succeed(_ lease: Lease, result: String, artifacts: [ArtifactRow], now: Double?) throws
    @discardableResult func fail(_ lease: Lease, error: String, retryable: Bool, backoff: Double, now: Double?) throws -> JobStatus
    func cancelled(_ lease: Lease, now: Double?) throws
    func release(_ lease: Lease, now: Double?) throws
    /// Re-queues after a full or read-only data directory: attempt refunded, runnable after `retryAfter` s.
    func deferAfterInfrastructureFault(_ lease: Lease, reason: String, retryAfter: Double, now: Double?) throws

    // Progress of a running job (lease-checked).
    func record(_ lease: Lease, _ update: ProgressUpdate, now: Double?) throws
    func recordPruningEvent(_ lease: Lease, ordinal: Int, _ event: PruningEventRow, now: Double?) throws
    func rollback(_ lease: Lease, afterStep step: Int, keepEvents: Int) throws
    func saveSnapshot(_ lease: Lease, path: String, pipelineStep: Int, phase: String?, bytes: Int64, now: Double?) throws -> String?
    func snapshot(jobSeq: Int64) throws -> SnapshotRow?

    // Submission.
    func reserveIdempotencyKey(tenant: String, key: String, requestHash: String, now: Double?) throws -> IdempotencyReservation
    func releaseIdempotencyKey(tenant: String, key: String) throws
    func submit(_ job: NewJob, idempotencyKey: String?, now: Double?) throws -> JobRecord

    // Reads and tenant-facing changes.
    func job(id: String, tenant: String) throws -> JobRecord
    func job(id: String) throws -> JobRecord?
    func jobs(tenant: String, status: JobStatus?, before: Int64?, limit: Int) throws -> [JobRecord]
    func metrics(jobSeq: Int64, key: String?, sinceStep: Int?, limit: Int) throws -> [MetricSample]
    func pruningEvents(jobSeq: Int64) throws -> [PruningEventRow]
    func events(jobSeq: Int64, after id: Int64, limit: Int) throws -> [JobEventRow]
    func artifact(jobSeq: Int64, kind: String) throws -> ArtifactRow?
    func countsByStatus() throws -> [JobStatus: Int]
    func requestCancel(id: String, tenant: String, now: Double?) throws -> JobRecord
    func delete(id: String, tenant: String) throws -> [String]

    // Tenants and tokens.
    func ensureTenant(_ name: String, maxRunning: Int, maxQueued: Int, now: Double?) throws
    func setLimits(tenant: String, maxRunning: Int, maxQueued: Int) throws
    func createToken(tenant: String, admin: Bool, token: String?, label: String?, expiresAt: Double?) throws -> String
    func principal(forToken token: String) throws -> Principal?
    func tokenCount() throws -> Int

    // Uploads (files under the data directory; these are their rows).
    func insertModel(id: String, tenant: String, architecture: String, dataset: String, options: String?,
                     path: String, bytes: Int64, sha256: String, tensors: Int, now: Double?) throws -> UploadedModelRow
    func model(id: String, tenant: String) throws -> UploadedModelRow
    func insertDataset(id: String, tenant: String, name: String, format: String, kind: String, manifest: String,
                       path: String, bytes: Int64, sha256: String, now: Double?) throws -> UploadedDatasetRow
    func dataset(id: String, tenant: String) throws -> UploadedDatasetRow
    func datasets(tenant: String, limit: Int) throws -> [UploadedDatasetRow]
}

/// The defaults callers use (protocol requirements cannot have default arguments).
extension JobStore {
    public func claim(owner: String, leaseSeconds: Double) throws -> Lease? { try claim(owner: owner, leaseSeconds: leaseSeconds, now: nil) }
    public func heartbeat(_ lease: Lease, leaseSeconds: Double) throws -> Bool { try heartbeat(lease, leaseSeconds: leaseSeconds, now: nil) }
    @discardableResult public func requeueExpired() throws -> [String] { try requeueExpired(now: nil) }
    public func succeed(_ lease: Lease, result: String, artifacts: [ArtifactRow]) throws {
        try succeed(lease, result: result, artifacts: artifacts, now: nil)
    }
    @discardableResult public func fail(_ lease: Lease, error: String, retryable: Bool, backoff: Double) throws -> JobStatus {
        try fail(lease, error: error, retryable: retryable, backoff: backoff, now: nil)
    }
    public func cancelled(_ lease: Lease) throws { try cancelled(lease, now: nil) }
    public func release(_ lease: Lease) throws { try release(lease, now: nil) }
    public func deferAfterInfrastructureFault(_ lease: Lease, reason: String, retryAfter: Double) throws {
        try deferAfterInfrastructureFault(lease, reason: reason, retryAfter: retryAfter, now: nil)
    }
    public func record(_ lease: Lease, _ update: ProgressUpdate) throws { try record(lease, update, now: nil) }
    public func recordPruningEvent(_ lease: Lease, ordinal: Int, _ event: PruningEventRow) throws {
        try recordPruningEvent(lease, ordinal: ordinal, event, now: nil)
    }
    public func saveSnapshot(_ lease: Lease, path: String, pipelineStep: Int, phase: String?, bytes: Int64) throws -> String? {
        try saveSnapshot(lease, path: path, pipelineStep: pipelineStep, phase: phase, bytes: bytes, now: nil)
    }
    public func reserveIdempotencyKey(tenant: String, key: String, requestHash: String) throws -> IdempotencyReservation {
        try reserveIdempotencyKey(tenant: tenant, key: key, requestHash: requestHash, now: nil)
    }
    public func submit(_ job: NewJob, idempotencyKey: String? = nil) throws -> JobRecord { try submit(job, idempotencyKey: idempotencyKey, now: nil) }
    public func jobs(tenant: String, limit: Int = 50) throws -> [JobRecord] {
        try jobs(tenant: tenant, status: nil, before: nil, limit: limit)
    }
    public func jobs(tenant: String, before: Int64?, limit: Int = 50) throws -> [JobRecord] {
        try jobs(tenant: tenant, status: nil, before: before, limit: limit)
    }
    public func metrics(jobSeq: Int64, key: String? = nil, sinceStep: Int? = nil) throws -> [MetricSample] {
        try metrics(jobSeq: jobSeq, key: key, sinceStep: sinceStep, limit: 10_000)
    }
    public func metrics(jobSeq: Int64, limit: Int) throws -> [MetricSample] {
        try metrics(jobSeq: jobSeq, key: nil, sinceStep: nil, limit: limit)
    }
    public func metrics(jobSeq: Int64, key: String?, limit: Int) throws -> [MetricSample] {
        try metrics(jobSeq: jobSeq, key: key, sinceStep: nil, limit: limit)
    }
    public func events(jobSeq: Int64, after id: Int64) throws -> [JobEventRow] { try events(jobSeq: jobSeq, after: id, limit: 500) }
    public func requestCancel(id: String, tenant: String) throws -> JobRecord { try requestCancel(id: id, tenant: tenant, now: nil) }
    public func ensureTenant(_ name: String, maxRunning: Int = 2, maxQueued: Int = 100) throws {
        try ensureTenant(name, maxRunning: maxRunning, maxQueued: maxQueued, now: nil)
    }
    public func createToken(tenant: String, admin: Bool = false, label: String? = nil, expiresAt: Double? = nil) throws -> String {
        try createToken(tenant: tenant, admin: admin, token: nil, label: label, expiresAt: expiresAt)
    }
    public func createToken(tenant: String, admin: Bool, token: String?, label: String?) throws -> String {
        try createToken(tenant: tenant, admin: admin, token: token, label: label, expiresAt: nil)
    }
    public func insertModel(id: String, tenant: String, architecture: String, dataset: String, options: String?,
                            path: String, bytes: Int64, sha256: String, tensors: Int) throws -> UploadedModelRow {
        try insertModel(id: id, tenant: tenant, architecture: architecture, dataset: dataset, options: options,
                        path: path, bytes: bytes, sha256: sha256, tensors: tensors, now: nil)
    }
    public func insertDataset(id: String, tenant: String, name: String, format: String, kind: String, manifest: String,
                              path: String, bytes: Int64, sha256: String) throws -> UploadedDatasetRow {
        try insertDataset(id: id, tenant: tenant, name: name, format: format, kind: kind, manifest: manifest,
                          path: path, bytes: bytes, sha256: sha256, now: nil)
    }
    public func datasets(tenant: String) throws -> [UploadedDatasetRow] { try datasets(tenant: tenant, limit: 100) }
}
