import Foundation
import GRDB

/// An uploaded data set's row (its folder lives under the data directory).
public struct UploadedDatasetRow: Sendable, Equatable {
    public var id: String
    public var tenant: String
    public var name: String
    public var format: String
    public var kind: String
    /// The folder's `dataset.json`, as JSON text.
    public var manifest: String
    /// The folder, relative to the data directory.
    public var path: String
    public var bytes: Int64
    /// SHA-256 over the uploaded parts in role order.
    public var sha256: String
    public var createdAt: Double

    init(row: Row) {
        id = row["id"]; tenant = row["tenant"]; name = row["name"]; format = row["format"]; kind = row["kind"]
        manifest = row["manifest"]; path = row["path"]; bytes = row["bytes"]; sha256 = row["sha256"]; createdAt = row["created_at"]
    }
}

extension Store {
    /// Records an uploaded data set whose folder was already validated and moved into place.
    public func insertDataset(id: String, tenant: String, name: String, format: String, kind: String, manifest: String,
                              path: String, bytes: Int64, sha256: String, now: Double?) throws -> UploadedDatasetRow {
        let now = now ?? Store.now()
        return try immediate { db in
            try db.execute(sql: """
                INSERT INTO uploaded_datasets (id, tenant, name, format, kind, manifest, path, bytes, sha256, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, tenant, name, format, kind, manifest, path, bytes, sha256, now])
            return UploadedDatasetRow(row: try Row.fetchOne(db, sql: "SELECT * FROM uploaded_datasets WHERE id = ?", arguments: [id])!)
        }
    }

    /// The tenant's data set `id`; another tenant's id is not found.
    public func dataset(id: String, tenant: String) throws -> UploadedDatasetRow {
        let row = try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM uploaded_datasets WHERE id = ? AND tenant = ?", arguments: [id, tenant])
        }
        guard let row else { throw StoreError.notFound("data set \(id)") }
        return UploadedDatasetRow(row: row)
    }

    /// The tenant's uploaded data sets, newest first.
    public func datasets(tenant: String, limit: Int) throws -> [UploadedDatasetRow] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM uploaded_datasets WHERE tenant = ? ORDER BY seq DESC LIMIT ?",
                             arguments: [tenant, limit]).map(UploadedDatasetRow.init(row:))
        }
    }
}
