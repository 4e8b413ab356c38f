import Foundation

extension Compaction {
    public static let recordFile = "compaction.json"
    public static let weightsFile = "model.safetensors"

    /// Builds the compact model described by `record` and loads `stateDict` into it (strictly:
    /// every key present, every shape equal). Throws ``PruningError/invalidSetting(field:detail:)``
    /// for a malformed record and `StateDictError` when the state dict does not fit it.
    public static func rebuild(record: CompactionRecord, stateDict: [String: Tensor], counters: [String: Int] = [:]) throws -> any Model {
        guard record.format == CompactionRecord.currentFormat else {
            throw PruningError.invalidSetting(field: "compaction.format", detail: "unsupported format \(record.format)")
        }
        var layers: [String: any UnaryLayer] = [:]
        for r in record.layers {
            guard layers[r.path] == nil else { throw PruningError.invalidSetting(field: "compaction.layers", detail: "duplicate path '\(r.path)'") }
            layers[r.path] = try r.make()
        }
        func sequence(_ prefix: String) throws -> Sequential {
            let paths = record.layers.map(\.path).filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains(".") }
            for (i, path) in paths.enumerated() where path != prefix + String(i) {
                throw PruningError.invalidSetting(field: "compaction.layers", detail: "expected '\(prefix)\(i)', got '\(path)'")
            }
            return Sequential(paths.map { layers[$0]! })
        }
        func layer<T>(_ path: String, _ type: T.Type) throws -> T {
            guard let l = layers[path] as? T else {
                throw PruningError.invalidSetting(field: "compaction.layers", detail: "missing \(T.self) '\(path)'")
            }
            return l
        }
        let model: any Model
        switch record.architecture {
        case "sequential": model = try sequence("")
        case "convnet": model = ConvNet(features: try sequence("features."), classifier: try sequence("classifier."))
        case "lenet5":
            model = LeNet5(conv1: try layer("conv1", Conv2d.self), conv2: try layer("conv2", Conv2d.self),
                                  fc1: try layer("fc1", Linear.self), fc2: try layer("fc2", Linear.self))
        case "resnet":
            var stages: [Sequential] = []
            for stage in ["layer1", "layer2", "layer3"] {
                var blocks: [any UnaryLayer] = []
                while layers["\(stage).\(blocks.count).conv1"] != nil {
                    let p = "\(stage).\(blocks.count)."
                    let shortcut = layers[p + "shortcut.0"] == nil ? Sequential([])
                        : Sequential([try layer(p + "shortcut.0", Conv2d.self), try layer(p + "shortcut.1", BatchNorm.self)])
                    blocks.append(BasicBlock(conv1: try layer(p + "conv1", Conv2d.self), bn1: try layer(p + "bn1", BatchNorm.self),
                                                    conv2: try layer(p + "conv2", Conv2d.self), bn2: try layer(p + "bn2", BatchNorm.self),
                                                    shortcut: shortcut))
                }
                stages.append(Sequential(blocks))
            }
            model = ResNet(conv1: try layer("conv1", Conv2d.self), bn1: try layer("bn1", BatchNorm.self), stages: stages,
                                  fc: try layer("fc", Linear.self))
        default:
            throw PruningError.invalidSetting(field: "compaction.architecture", detail: "unknown architecture '\(record.architecture)'")
        }
        try model.loadStateDict(stateDict, counters: counters)
        return model
    }

    /// Writes `model.safetensors` and `compaction.json` into `directory` (created if needed).
    public static func save(_ compact: CompactModel, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try compact.model.saveStateDict(to: directory + "/" + weightsFile, metadata: ["compaction": "bonsai"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(compact.record).write(to: URL(fileURLWithPath: directory + "/" + recordFile))
    }

    /// Reads a directory written by ``save(_:to:)`` and rebuilds the model.
    public static func load(from directory: String) throws -> any Model {
        let record = try JSONDecoder().decode(CompactionRecord.self,
                                              from: Data(contentsOf: URL(fileURLWithPath: directory + "/" + recordFile)))
        let file = try SafetensorsFile(path: directory + "/" + weightsFile)
        var tensors: [String: Tensor] = [:], counters: [String: Int] = [:]
        for entry in file.entries {
            if entry.dtype.tensorDType != nil {
                tensors[entry.name] = try file.tensor(entry.name)
            } else {
                counters[entry.name] = try file.integers(entry.name).first ?? 0
            }
        }
        return try rebuild(record: record, stateDict: tensors, counters: counters)
    }
}
