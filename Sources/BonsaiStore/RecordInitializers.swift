import Foundation

// Memberwise initializers, public so another store implementation (BonsaiPostgres) can build the
// same records from its own rows.

extension JobRecord {
    public init(seq: Int64, id: String, tenant: String, status: JobStatus, priority: Int, spec: String, phase: String?,
                progress: Double, plannedSteps: Int, completedSteps: Int, etaSeconds: Double?, latestMetrics: String?,
                result: String?, error: String?, attempts: Int, maxAttempts: Int, notBefore: Double, leaseOwner: String?,
                leaseToken: String?, leaseExpiresAt: Double?, cancelRequested: Bool, version: Int, createdAt: Double,
                updatedAt: Double, startedAt: Double?, finishedAt: Double?) {
        self.seq = seq; self.id = id; self.tenant = tenant; self.status = status; self.priority = priority; self.spec = spec
        self.phase = phase; self.progress = progress; self.plannedSteps = plannedSteps; self.completedSteps = completedSteps
        self.etaSeconds = etaSeconds; self.latestMetrics = latestMetrics; self.result = result; self.error = error
        self.attempts = attempts; self.maxAttempts = maxAttempts; self.notBefore = notBefore; self.leaseOwner = leaseOwner
        self.leaseToken = leaseToken; self.leaseExpiresAt = leaseExpiresAt; self.cancelRequested = cancelRequested
        self.version = version; self.createdAt = createdAt; self.updatedAt = updatedAt; self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

extension UploadedModelRow {
    public init(id: String, tenant: String, architecture: String, dataset: String, options: String?, path: String,
                bytes: Int64, sha256: String, tensors: Int, createdAt: Double) {
        self.id = id; self.tenant = tenant; self.architecture = architecture; self.dataset = dataset; self.options = options
        self.path = path; self.bytes = bytes; self.sha256 = sha256; self.tensors = tensors; self.createdAt = createdAt
    }
}

extension UploadedDatasetRow {
    public init(id: String, tenant: String, name: String, format: String, kind: String, manifest: String, path: String,
                bytes: Int64, sha256: String, createdAt: Double) {
        self.id = id; self.tenant = tenant; self.name = name; self.format = format; self.kind = kind; self.manifest = manifest
        self.path = path; self.bytes = bytes; self.sha256 = sha256; self.createdAt = createdAt
    }
}

/// The JSON text of an activity-feed entry: keys sorted, non-finite numbers as null, and a `time`
/// (Unix seconds) added when absent so subscribers can measure delivery delay. Both stores use it.
public func jobEventJSON(_ data: [String: Any], now: Double) throws -> String {
    var clean = data.mapValues { value -> Any in
        if let d = value as? Double, !d.isFinite { return NSNull() }
        return value
    }
    if clean["time"] == nil { clean["time"] = now }
    return String(decoding: try JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys]), as: UTF8.self)
}
