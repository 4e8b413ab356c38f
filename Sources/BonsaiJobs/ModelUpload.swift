import BonsaiPruning
import BonsaiStore
import Foundation

/// Validates an uploaded safetensors state dict against an architecture built for a data set:
/// the file must parse (header bounds, dtypes, offsets — the hardened reader rejects truncated or
/// hostile files) and hold exactly the architecture's parameter and buffer names with their shapes
/// (PyTorch's `strict=True`). Valid files are moved under the data directory and recorded.
public enum ModelUpload {
    public static func accept(_ bytes: Data, tenant: String, architecture: String, dataset: String, optionsJSON: String?,
                              store: Store, layout: DataLayout) throws -> UploadedModelRow {
        guard ModelZoo.architectures.contains(architecture) else {
            throw PruningError.invalidSetting(field: "architecture", detail: "unknown architecture '\(architecture)' (known: \(ModelZoo.architectures.joined(separator: ", ")))")
        }
        guard let info = BuiltinDatasets.all.first(where: { $0.name == dataset }) else {
            throw PruningError.invalidSetting(field: "dataset", detail: "unknown data set '\(dataset)' (known: \(BuiltinDatasets.names.joined(separator: ", ")))")
        }
        guard info.kind == .image, info.inputShape.count == 3 else {
            throw PruningError.invalidSetting(field: "dataset", detail: "uploads are validated for image data sets only")
        }
        var options = ArchitectureOptions()
        if let optionsJSON {
            do { options = try JSONDecoder().decode(ArchitectureOptions.self, from: Data(optionsJSON.utf8)) } catch {
                throw PruningError.invalidSetting(field: "options", detail: "not valid architecture options JSON")
            }
        }
        var rng = RandomGenerator(seed: 0)
        let model = try ModelZoo.make(architecture, input: .image(channels: info.inputShape[0], height: info.inputShape[1], width: info.inputShape[2]),
                                      classes: info.classNames.count, options: options, rng: &rng)
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
}
