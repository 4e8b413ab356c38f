import Foundation
import GRDB

/// An uploaded model's row (the file lives under the data directory).
public struct UploadedModelRow: Sendable, Equatable {
    public var id: String
    public var tenant: String
    public var architecture: String
    public var dataset: String
    public var options: String?
    public var path: String
    public var bytes: Int64
    public var sha256: String
    public var tensors: Int
    public var createdAt: Double

    init(row: Row) {
        id = row["id"]; tenant = row["tenant"]; architecture = row["architecture"]; dataset = row["dataset"]
        options = row["options"]; path = row["path"]; bytes = row["bytes"]; sha256 = row["sha256"]
        tensors = row["tensors"]; createdAt = row["created_at"]
    }
}

extension Store {
    /// Records an uploaded model whose file was already validated and moved into place.
    public func insertModel(id: String, tenant: String, architecture: String, dataset: String, options: String?,
                            path: String, bytes: Int64, sha256: String, tensors: Int, now: Double?) throws -> UploadedModelRow {
        let now = now ?? Store.now()
        return try immediate { db in
            try db.execute(sql: """
                INSERT INTO uploaded_models (id, tenant, architecture, dataset, options, path, bytes, sha256, tensors, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, tenant, architecture, dataset, options, path, bytes, sha256, tensors, now])
            return UploadedModelRow(row: try Row.fetchOne(db, sql: "SELECT * FROM uploaded_models WHERE id = ?", arguments: [id])!)
        }
    }

    public func model(id: String, tenant: String) throws -> UploadedModelRow {
        let row = try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM uploaded_models WHERE id = ? AND tenant = ?", arguments: [id, tenant])
        }
        guard let row else { throw StoreError.notFound("model \(id)") }
        return UploadedModelRow(row: row)
    }
}
