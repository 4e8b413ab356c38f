import BonsaiStore
import Foundation
import PostgresNIO

/// Reads (every tenant-facing one filters by tenant), tenants, tokens and upload rows.
extension PostgresStore {
    public func job(id: String, tenant: String) throws -> JobRecord {
        guard let row = try read({ try $0.one("SELECT * FROM jobs WHERE id = \(id) AND tenant = \(tenant)") }) else {
            throw StoreError.notFound("job \(id)")
        }
        return try Self.jobRecord(row)
    }

    public func job(id: String) throws -> JobRecord? {
        try read { try $0.one("SELECT * FROM jobs WHERE id = \(id)") }.map(Self.jobRecord)
    }

    public func jobs(tenant: String, status: JobStatus?, before: Int64?, limit: Int) throws -> [JobRecord] {
        try read { s in
            try s.all("""
                SELECT * FROM jobs WHERE tenant = \(tenant) AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                  AND (\(before)::int8 IS NULL OR seq < \(before))
                ORDER BY seq DESC LIMIT \(limit)
                """).map(Self.jobRecord)
        }
    }

    public func metrics(jobSeq: Int64, key: String?, sinceStep: Int?, limit: Int) throws -> [MetricSample] {
        try read { s in
            try s.all("""
                SELECT key, step, value, time FROM metrics
                WHERE job_seq = \(jobSeq) AND (\(key)::text IS NULL OR key = \(key)) AND (\(sinceStep)::int8 IS NULL OR step >= \(sinceStep))
                ORDER BY step, key LIMIT \(limit)
                """).map { MetricSample(key: try $0.string("key"), step: try $0.int("step"), value: try $0.optionalDouble("value"), time: try $0.double("time")) }
        }
    }

    public func pruningEvents(jobSeq: Int64) throws -> [PruningEventRow] {
        try read { s in
            try s.all("SELECT * FROM pruning_events WHERE job_seq = \(jobSeq) ORDER BY ordinal").map {
                PruningEventRow(name: try $0.string("name"), phase: try $0.string("phase"), step: try $0.int("step"),
                                sparsity: try $0.double("sparsity"), accuracyBefore: try $0.double("accuracy_before"),
                                accuracyAfter: try $0.double("accuracy_after"), instability: try $0.double("instability"))
            }
        }
    }

    public func events(jobSeq: Int64, after id: Int64, limit: Int) throws -> [JobEventRow] {
        try read { s in
            try s.all("SELECT * FROM job_events WHERE job_seq = \(jobSeq) AND id > \(id) ORDER BY id LIMIT \(limit)").map {
                JobEventRow(id: try $0.int64("id"), kind: try $0.string("kind"), data: try $0.string("data"), time: try $0.double("time"))
            }
        }
    }

    public func artifact(jobSeq: Int64, kind: String) throws -> ArtifactRow? {
        try read { s in
            try s.one("SELECT * FROM artifacts WHERE job_seq = \(jobSeq) AND kind = \(kind)").map {
                ArtifactRow(kind: try $0.string("kind"), path: try $0.string("path"), bytes: try $0.int64("bytes"), sha256: try $0.string("sha256"))
            }
        }
    }

    public func countsByStatus() throws -> [JobStatus: Int] {
        try read { s in
            var counts = Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { ($0, 0) })
            for row in try s.all("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status") {
                if let status = JobStatus(rawValue: try row.string("status")) { counts[status] = try row.int("n") }
            }
            return counts
        }
    }

    // MARK: Tenants and tokens (tokens are stored as SHA-256 hashes)

    public func ensureTenant(_ name: String, maxRunning: Int, maxQueued: Int, now: Double?) throws {
        guard name.range(of: "^[A-Za-z0-9_.-]{1,64}$", options: .regularExpression) != nil else {
            throw StoreError.invalid(field: "tenant", detail: "1–64 characters of A–Z, a–z, 0–9, '_', '.', '-'")
        }
        try transaction("ensureTenant", now: now) { tx in
            try tx.session.execute("""
                INSERT INTO tenants (name, max_running, max_queued, created_at) VALUES (\(name), \(maxRunning), \(maxQueued), \(tx.now))
                ON CONFLICT (name) DO NOTHING
                """)
        }
    }

    public func setLimits(tenant: String, maxRunning: Int, maxQueued: Int) throws {
        try transaction("setLimits", now: nil) { tx in
            try tx.session.execute("UPDATE tenants SET max_running = \(maxRunning), max_queued = \(maxQueued) WHERE name = \(tenant)")
            tx.wakesQueue = true
        }
    }

    public func createToken(tenant: String, admin: Bool, token given: String?, label: String?, expiresAt: Double?) throws -> String {
        try ensureTenant(tenant)
        let token = given ?? "bns_" + Store.randomHex(24)
        try transaction("createToken", now: nil) { tx in
            try tx.session.execute("""
                INSERT INTO tokens (hash, tenant, admin, label, created_at, expires_at)
                VALUES (\(SHA256.hex(token)), \(tenant), \(admin), \(label), \(tx.now), \(expiresAt))
                ON CONFLICT (hash) DO NOTHING
                """)
        }
        return token
    }

    public func principal(forToken token: String) throws -> Principal? {
        try read { s in
            try s.one("SELECT tenant, admin, expires_at FROM tokens WHERE hash = \(SHA256.hex(token))").map {
                Principal(tenant: try $0.string("tenant"), admin: try $0.bool("admin"), expiresAt: try $0.optionalDouble("expires_at"))
            }
        }
    }

    public func tokenCount() throws -> Int {
        try read { try $0.one("SELECT COUNT(*) AS n FROM tokens")?.int("n") ?? 0 }
    }

    // MARK: Uploads

    public func insertModel(id: String, tenant: String, architecture: String, dataset: String, options: String?,
                            path: String, bytes: Int64, sha256: String, tensors: Int, now: Double?) throws -> UploadedModelRow {
        try transaction("insertModel", now: now) { tx in
            let row = try tx.session.one("""
                INSERT INTO uploaded_models (id, tenant, architecture, dataset, options, path, bytes, sha256, tensors, created_at)
                VALUES (\(id), \(tenant), \(architecture), \(dataset), \(options), \(path), \(bytes), \(sha256), \(tensors), \(tx.now))
                RETURNING *
                """)!
            return try Self.model(row)
        }
    }

    public func model(id: String, tenant: String) throws -> UploadedModelRow {
        guard let row = try read({ try $0.one("SELECT * FROM uploaded_models WHERE id = \(id) AND tenant = \(tenant)") }) else {
            throw StoreError.notFound("model \(id)")
        }
        return try Self.model(row)
    }

    public func insertDataset(id: String, tenant: String, name: String, format: String, kind: String, manifest: String,
                              path: String, bytes: Int64, sha256: String, now: Double?) throws -> UploadedDatasetRow {
        try transaction("insertDataset", now: now) { tx in
            let row = try tx.session.one("""
                INSERT INTO uploaded_datasets (id, tenant, name, format, kind, manifest, path, bytes, sha256, created_at)
                VALUES (\(id), \(tenant), \(name), \(format), \(kind), \(manifest), \(path), \(bytes), \(sha256), \(tx.now))
                RETURNING *
                """)!
            return try Self.dataset(row)
        }
    }

    public func dataset(id: String, tenant: String) throws -> UploadedDatasetRow {
        guard let row = try read({ try $0.one("SELECT * FROM uploaded_datasets WHERE id = \(id) AND tenant = \(tenant)") }) else {
            throw StoreError.notFound("data set \(id)")
        }
        return try Self.dataset(row)
    }

    public func datasets(tenant: String, limit: Int) throws -> [UploadedDatasetRow] {
        try read { s in
            try s.all("SELECT * FROM uploaded_datasets WHERE tenant = \(tenant) ORDER BY seq DESC LIMIT \(limit)").map(Self.dataset)
        }
    }

    static func model(_ r: PGRow) throws -> UploadedModelRow {
        UploadedModelRow(id: try r.string("id"), tenant: try r.string("tenant"), architecture: try r.string("architecture"),
                         dataset: try r.string("dataset"), options: try r.optionalString("options"), path: try r.string("path"),
                         bytes: try r.int64("bytes"), sha256: try r.string("sha256"), tensors: try r.int("tensors"),
                         createdAt: try r.double("created_at"))
    }

    static func dataset(_ r: PGRow) throws -> UploadedDatasetRow {
        UploadedDatasetRow(id: try r.string("id"), tenant: try r.string("tenant"), name: try r.string("name"),
                           format: try r.string("format"), kind: try r.string("kind"), manifest: try r.string("manifest"),
                           path: try r.string("path"), bytes: try r.int64("bytes"), sha256: try r.string("sha256"),
                           createdAt: try r.double("created_at"))
    }
}
