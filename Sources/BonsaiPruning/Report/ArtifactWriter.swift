import Foundation

/// Writes a finished pipeline's downloadable artifacts into a folder:
///
/// - `weights.safetensors`: the state dict with masks applied, under the PyTorch reference names,
///   with the preprocessing in its metadata (loads with `model.load_state_dict(load_file(path))`);
/// - `masks.safetensors`: one U8 0/1 tensor per pruned parameter, same names;
/// - `report.json`: the ``PruningReport``;
/// - `compact.safetensors` (structured methods on compactable architectures): the physically smaller
///   model's state dict with its ``CompactionRecord`` as JSON in the `compaction` metadata entry (the
///   recipe to rebuild it in PyTorch is on ``Compaction``);
/// - `runtime.safetensors` (`runtime-channel-rl`): the gates, agents and static masks runtime
///   inference needs (``RuntimeArtifact``; docs/runtime-pruning.md).
public enum ArtifactWriter {
    /// Methods whose masks remove whole channels, so a compact model exists.
    public static let structuredMethods: Set<String> = ["filter-l1", "network-slimming", "polarization", "runtime-channel-rl"]
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
        if structuredMethods.contains(report.method) {
            try writeCompact(model: model, spec: spec, to: path(directory, "compact.safetensors"))
        }
        if report.method == RuntimeChannelRL.id {
            try RuntimeArtifact.write(stash: result.stash, notes: result.notes, to: path(directory, "runtime.safetensors"))
        }
    }

    /// Compacts `model` (its dead channels removed) into one safetensors file with the record.
    public static func writeCompact(model: any Model, spec: PipelineSpec, to file: String) throws {
        let compact = try Compaction.compact(model)
        var values: [String: SafetensorsValue] = compact.tensors.mapValues { .tensor($0) }
        for (key, count) in compact.counters { values[key] = .int64([count], shape: []) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let record = String(decoding: try encoder.encode(compact.record), as: UTF8.self)
        try SafetensorsWriter.write(values, metadata: ["architecture": spec.model.architecture, "compaction": record, "format": "pt"],
                                    to: file)
    }

    /// The names of the artifact files a folder holds, by download kind. (`runtime.safetensors` is
    /// not a download kind yet: the store's `artifacts.kind` CHECK lists only these four, so it
    /// needs a migration first; the CLI's output folder has it.)
    public static func files(in directory: String) -> [(kind: String, file: String)] {
        [("weights", "weights.safetensors"), ("masks", "masks.safetensors"), ("report", "report.json"),
         ("compact", "compact.safetensors"), ("runtime", "runtime.safetensors")].filter { FileManager.default.fileExists(atPath: path(directory, $0.1)) }
    }

    static func path(_ directory: String, _ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
}
