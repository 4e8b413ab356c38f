import BonsaiNN
import BonsaiPruning
import BonsaiStore
import Foundation

/// Validates an uploaded data set and files it under the data directory.
///
/// The parts (named by role, see ``UploadedDataset``) are written to a private incoming folder,
/// loaded completely with the same hardened readers as the built-in sets (magic bytes, sizes,
/// label ranges, UTF-8, decompression limits), and only then moved into place and recorded. A
/// rejected upload leaves nothing behind. Error messages name the part, never a server path.
public enum DatasetUpload {
    /// The largest label text accepted for `name`.
    public static let maxNameLength = 200

    public static func accept(parts: [String: Data], name: String?, format: String, pixelMax: Int?, tenant: String,
                              store: any JobStore, layout: DataLayout, limits: DataLimits = .standard) throws -> UploadedDatasetRow {
        guard let format = UploadedDataset.Manifest.Format(rawValue: format) else {
            throw StoreError.invalid(field: "format", detail: "must be one of \(UploadedDataset.Manifest.Format.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let (required, optional) = UploadedDataset.roles(for: format)
        if let unknown = parts.keys.sorted().first(where: { !(required + optional).contains($0) }) {
            throw StoreError.invalid(field: unknown, detail: "not a part of format '\(format.rawValue)' (parts: \((required + optional).joined(separator: ", ")))")
        }
        if let missing = required.first(where: { parts[$0] == nil }) {
            throw StoreError.invalid(field: missing, detail: "required for format '\(format.rawValue)'")
        }
        let label = name ?? "uploaded \(format.rawValue) set"
        guard !label.isEmpty, label.count <= maxNameLength, !label.contains(where: \.isNewline) else {
            throw StoreError.invalid(field: "name", detail: "must be 1–\(maxNameLength) characters on one line")
        }
        if let pixelMax, !(1...255).contains(pixelMax) { throw StoreError.invalid(field: "pixel_max", detail: "must be in 1…255") }
        let id = "dataset-" + Store.randomHex(10)
        let root = layout.absolute("uploads/datasets")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let incoming = "\(root)/.incoming-\(id)"
        try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: false)
        var moved = false
        defer { if !moved { try? FileManager.default.removeItem(atPath: incoming) } }
        var digest = Data()
        var total: Int64 = 0
        for role in required + optional {
            guard let bytes = parts[role] else { continue }
            try bytes.write(to: URL(fileURLWithPath: "\(incoming)/\(role)"))
            digest.append(Data(SHA256.hex(bytes).utf8))
            total += Int64(bytes.count)
        }
        let manifest: UploadedDataset.Manifest
        do {
            manifest = try UploadedDataset.inspect(folder: incoming, format: format, name: label, pixelMax: pixelMax ?? 255, limits: limits)
        } catch let error as DataError {
            throw StoreError.invalid(field: "body", detail: error.description.replacingOccurrences(of: incoming + "/", with: ""))
        }
        let relative = "uploads/datasets/\(id)"
        try FileManager.default.moveItem(atPath: incoming, toPath: layout.absolute(relative))
        moved = true
        let manifestJSON = String(decoding: try Data(contentsOf: URL(fileURLWithPath: layout.absolute(relative) + "/" + UploadedDataset.manifestFile)),
                                  as: UTF8.self)
        do {
            return try store.insertDataset(id: id, tenant: tenant, name: label, format: format.rawValue, kind: manifest.kind.rawValue,
                                           manifest: manifestJSON, path: relative, bytes: total, sha256: SHA256.hex(digest))
        } catch {
            try? FileManager.default.removeItem(atPath: layout.absolute(relative))
            throw error
        }
    }
}

/// Resolves the upload ids a job spec names to files, for one tenant (another tenant's id is not found).
public enum Uploads {
    public static func resolver(store: any JobStore, layout: DataLayout, tenant: String) -> UploadResolver {
        UploadResolver(
            datasetFolder: { id in layout.absolute(try store.dataset(id: id, tenant: tenant).path) },
            weightsFile: { id in layout.absolute(try store.model(id: id, tenant: tenant).path) })
    }

    /// Checks at submission that the spec's uploads exist for `tenant` and fit it: the weights were
    /// validated for the same architecture and data set. Throws ``StoreError/invalid(field:detail:)``.
    public static func check(_ spec: PipelineSpec, tenant: String, store: any JobStore) throws {
        if let id = spec.dataset.upload {
            do { _ = try store.dataset(id: id, tenant: tenant) } catch StoreError.notFound {
                throw StoreError.invalid(field: "dataset.upload", detail: "no uploaded data set '\(id)'")
            }
        }
        if let id = spec.weights {
            let row: UploadedModelRow
            do { row = try store.model(id: id, tenant: tenant) } catch StoreError.notFound {
                throw StoreError.invalid(field: "weights", detail: "no uploaded model '\(id)'")
            }
            guard row.architecture == spec.model.architecture else {
                throw StoreError.invalid(field: "weights", detail: "model '\(id)' is a \(row.architecture), the spec asks for \(spec.model.architecture)")
            }
            let dataset = spec.dataset.upload ?? spec.dataset.name
            guard row.dataset == dataset else {
                throw StoreError.invalid(field: "weights", detail: "model '\(id)' was validated for data set '\(row.dataset)', the spec uses '\(dataset)'")
            }
        }
    }
}
