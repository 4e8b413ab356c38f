import Foundation

/// Overrides of a training phase relative to the `train` phase, e.g. `"finetune": {"epochs": 1}`:
/// fields left out are inherited.
public struct PhaseOverrides: Codable, Sendable, Equatable {
    public var epochs: Int?
    public var steps: Int?
    public var batchSize: Int?
    public var optimizer: OptimizerConfig?
    public var schedule: LearningRateSchedule?
    public var labelSmoothing: Double?

    enum CodingKeys: String, CodingKey {
        case epochs, steps, optimizer, schedule
        case batchSize = "batch_size"
        case labelSmoothing = "label_smoothing"
    }

    public init(epochs: Int? = nil, steps: Int? = nil, batchSize: Int? = nil, optimizer: OptimizerConfig? = nil,
                schedule: LearningRateSchedule? = nil, labelSmoothing: Double? = nil) {
        self.epochs = epochs; self.steps = steps; self.batchSize = batchSize
        self.optimizer = optimizer; self.schedule = schedule; self.labelSmoothing = labelSmoothing
    }

    /// `base` with these overrides applied (`steps` replaces `epochs` and vice versa).
    public func applied(to base: TrainingConfig) -> TrainingConfig {
        var result = base
        if let epochs { result.epochs = epochs; result.steps = steps }
        else if let steps { result.steps = steps; result.epochs = nil }
        if let batchSize { result.batchSize = batchSize }
        if let optimizer { result.optimizer = optimizer }
        if let schedule { result.schedule = schedule }
        if let labelSmoothing { result.labelSmoothing = labelSmoothing }
        return result
    }
}

/// A pruning job as submitted:
///
/// ```json
/// {"model": {"architecture": "lenet300"}, "dataset": {"name": "mnist"},
///  "method": {"name": "magnitude", "sparsity": 0.9, "scope": "global"},
///  "train": {"epochs": 2, "batch_size": 128, "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}},
///  "finetune": {"epochs": 1}, "seed": 1}
/// ```
public struct PipelineSpec: Sendable {
    public var model: ModelSpec
    public var dataset: DatasetSpec
    /// The method object as given (decoded by ``PruningRegistry``).
    public var methodJSON: Data
    public var train: TrainingConfig
    public var finetune: PhaseOverrides?
    public var seed: UInt64
    public var threads: Int?
    /// Pretrained starting weights: the server's uploaded-model id (`POST /v1/models`), or for the
    /// CLI a safetensors path. They replace the seeded initialisation before the first phase (so
    /// "reset to init" methods rewind to them); `"train": {"epochs": 0}` then skips pretraining.
    public var weights: String?

    public init(model: ModelSpec, dataset: DatasetSpec, methodJSON: Data, train: TrainingConfig,
                finetune: PhaseOverrides? = nil, seed: UInt64 = 0, threads: Int? = nil, weights: String? = nil) {
        self.model = model; self.dataset = dataset; self.methodJSON = methodJSON; self.train = train
        self.finetune = finetune; self.seed = seed; self.threads = threads; self.weights = weights
    }

    /// The fine-tuning phase: `train` with the `finetune` overrides (default: same as train).
    public var finetuneConfig: TrainingConfig { (finetune ?? PhaseOverrides()).applied(to: train) }

    /// The configured method.
    public func method() throws -> any PruningMethod { try PruningRegistry.decode(methodJSON) }

    /// Parses a whole spec, naming the offending field on error.
    public static func decode(_ json: Data) throws -> PipelineSpec {
        guard let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
            throw PruningError.invalidSetting(field: "", detail: "the spec must be a JSON object")
        }
        let known: Set<String> = ["model", "dataset", "method", "train", "finetune", "seed", "threads", "weights", "priority"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw PruningError.invalidSetting(field: unknown, detail: "unknown field")
        }
        func part<T: Decodable>(_ key: String, _ type: T.Type, required: Bool = true) throws -> T? {
            guard let value = object[key], !(value is NSNull) else {
                if required { throw PruningError.invalidSetting(field: key, detail: "required") }
                return nil
            }
            do {
                let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
                return try JSONDecoder().decode(T.self, from: data)
            } catch let DecodingError.keyNotFound(k, context) {
                throw PruningError.invalidSetting(field: ([key] + (context.codingPath + [k]).map(\.stringValue)).joined(separator: "."), detail: "required")
            } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
                throw PruningError.invalidSetting(field: ([key] + context.codingPath.map(\.stringValue)).joined(separator: "."), detail: "wrong type")
            } catch let DecodingError.dataCorrupted(context) {
                throw PruningError.invalidSetting(field: ([key] + context.codingPath.map(\.stringValue)).joined(separator: "."), detail: context.debugDescription)
            }
        }
        guard let methodObject = object["method"] as? [String: Any] else {
            throw PruningError.invalidSetting(field: "method", detail: "required: an object with a name")
        }
        let spec = PipelineSpec(
            model: try part("model", ModelSpec.self)!, dataset: try part("dataset", DatasetSpec.self)!,
            methodJSON: try JSONSerialization.data(withJSONObject: methodObject, options: [.sortedKeys]),
            train: try part("train", TrainingConfig.self)!, finetune: try part("finetune", PhaseOverrides.self, required: false),
            seed: try part("seed", UInt64.self, required: false) ?? 0, threads: try part("threads", Int.self, required: false),
            weights: try part("weights", String.self, required: false))
        try spec.validate()
        return spec
    }

    /// Checks everything that can be checked without loading data, naming fields.
    public func validate() throws {
        guard ModelZoo.architectures.contains(model.architecture) else {
            throw PruningError.invalidSetting(field: "model.architecture", detail: "unknown architecture '\(model.architecture)' (known: \(ModelZoo.architectures.joined(separator: ", ")))")
        }
        if let upload = dataset.upload {
            guard !upload.isEmpty, upload.count <= 4096 else {
                throw PruningError.invalidSetting(field: "dataset.upload", detail: "must name an uploaded data set")
            }
        } else if !BuiltinDatasets.names.contains(dataset.name) {
            throw PruningError.invalidSetting(field: "dataset.name", detail: "unknown data set '\(dataset.name)' (known: \(BuiltinDatasets.names.joined(separator: ", ")))")
        }
        if let v = dataset.validation, !(v >= 0 && v <= 0.5) {
            throw PruningError.invalidSetting(field: "dataset.validation", detail: "must be in [0, 0.5]")
        }
        for (name, config) in [("train", train), ("finetune", finetuneConfig)] {
            do { try config.validate() } catch let TrainingError.invalidConfig(field, detail) {
                throw PruningError.invalidSetting(field: "\(name).\(field)", detail: detail)
            }
        }
        if let weights, weights.isEmpty || weights.count > 4096 {
            throw PruningError.invalidSetting(field: "weights", detail: "must name uploaded weights")
        }
        if let threads, !(1...64).contains(threads) { throw PruningError.invalidSetting(field: "threads", detail: "must be in 1…64") }
        _ = try method()
    }
}
