import BonsaiNN
import BonsaiPruning
import BonsaiStore
import Foundation

/// Validates an uploaded safetensors state dict against an architecture built for a data set:
/// the file must parse (header bounds, dtypes, offsets — the hardened reader rejects truncated or
/// hostile files) and hold exactly the architecture's parameter and buffer names with their shapes
/// (PyTorch's `strict=True`). Valid files are moved under the data directory and recorded.
public enum ModelUpload {
    public static func accept(_ bytes: Data, tenant: String, architecture: String, dataset: String, optionsJSON: String?,
                              store: any JobStore, layout: DataLayout) throws -> UploadedModelRow {
        guard ModelZoo.architectures.contains(architecture) else {
            throw PruningError.invalidSetting(field: "architecture", detail: "unknown architecture '\(architecture)' (known: \(ModelZoo.architectures.joined(separator: ", ")))")
        }
        let (inputShape, classes) = try shapeOf(dataset: dataset, tenant: tenant, store: store)
        var options = ArchitectureOptions()
        if let optionsJSON {
            do { options = try JSONDecoder().decode(ArchitectureOptions.self, from: Data(optionsJSON.utf8)) } catch {
                throw PruningError.invalidSetting(field: "options", detail: "not valid architecture options JSON")
            }
        }
        var rng = RandomGenerator(seed: 0)
        let model = try ModelZoo.make(architecture, input: .image(channels: inputShape[0], height: inputShape[1], width: inputShape[2]),
                                      classes: classes, options: options, rng: &rng)
        let id = "model-" + Store.randomHex(10)
        let folder = layout.absolute("uploads")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = "\(folder)/.incoming-\(id)"
        try bytes.write(to: URL(fileURLWithPath: temporary), options: .atomic)
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        try model.loadStateDict(from: temporary)
        let tensors = try SafetensorsFile(path: temporary).entries.count
        let relative = "uploads/\(id).safetensors"
        try FileManager.default.moveItem(atPath: temporary, toPath: layout.absolute(relative))
        return try store.insertModel(id: id, tenant: tenant, architecture: architecture, dataset: dataset, options: optionsJSON,
                                     path: relative, bytes: Int64(bytes.count), sha256: SHA256.hex(bytes), tensors: tensors)
    }

    /// Sample shape and class count of a built-in or the tenant's uploaded image data set.
    static func shapeOf(dataset: String, tenant: String, store: any JobStore) throws -> (shape: [Int], classes: Int) {
        var shape: [Int], classes: Int
        if dataset.hasPrefix("dataset-") {
            let row: UploadedDatasetRow
            do { row = try store.dataset(id: dataset, tenant: tenant) } catch StoreError.notFound {
                throw PruningError.invalidSetting(field: "dataset", detail: "no uploaded data set '\(dataset)'")
            }
            let manifest = try JSONDecoder().decode(UploadedDataset.Manifest.self, from: Data(row.manifest.utf8))
            (shape, classes) = (manifest.inputShape, manifest.classNames.count)
        } else {
            guard let info = BuiltinDatasets.all.first(where: { $0.name == dataset }) else {
                throw PruningError.invalidSetting(field: "dataset", detail: "unknown data set '\(dataset)' (known: \(BuiltinDatasets.names.joined(separator: ", ")) or an uploaded data set's id)")
            }
            (shape, classes) = (info.inputShape, info.classNames.count)
        }
        guard shape.count == 3 else {
            throw PruningError.invalidSetting(field: "dataset", detail: "uploads are validated for image data sets only")
        }
        return (shape, classes)
    }
}
