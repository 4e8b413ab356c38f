import Foundation

/// Writes a finished pipeline's downloadable artifacts into a folder:
///
/// - `weights.safetensors`: the state dict with masks applied, under the PyTorch reference names,
///   with the preprocessing in its metadata (loads with `model.load_state_dict(load_file(path))`);
/// - `masks.safetensors`: one U8 0/1 tensor per pruned parameter, same names;
/// - `report.json`: the ``PruningReport``.
public enum ArtifactWriter {
    public static func write(model: any Model, result: PipelineResult, report: PruningReport, spec: PipelineSpec,
                             to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var metadata = ["architecture": spec.model.architecture, "method": report.method, "format": "pt",
                        "test_accuracy": "\(report.testAccuracy)"]
        if let p = report.preprocessing {
            metadata["dataset"] = p.dataset
            metadata["preprocessing"] = p.formula
            if let mean = p.mean, let std = p.std { metadata["normalize_mean"] = "\(mean)"; metadata["normalize_std"] = "\(std)" }
        }
        try model.saveStateDict(to: path(directory, "weights.safetensors"), applyingMasks: true, metadata: metadata)
        var masks: [String: SafetensorsValue] = [:]
        for (name, mask) in result.masks.masks {
            masks[name] = .uint8(mask.floats.map { $0 != 0 ? 1 : 0 }, shape: mask.shape)
        }
        try SafetensorsWriter.write(masks, metadata: ["architecture": spec.model.architecture], to: path(directory, "masks.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: path(directory, "report.json")), options: .atomic)
    }

    static func path(_ directory: String, _ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
}
