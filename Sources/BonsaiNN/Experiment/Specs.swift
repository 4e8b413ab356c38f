/// The model part of a job or training spec: `{"architecture": "lenet300", "options": {...}}`.
public struct ModelSpec: Codable, Sendable, Equatable {
    public var architecture: String
    public var options: ArchitectureOptions?

    public init(architecture: String, options: ArchitectureOptions? = nil) {
        self.architecture = architecture
        self.options = options
    }
}

/// The data part: `{"name": "mnist", "validation": 0.1, "augment": true}`.
public struct DatasetSpec: Codable, Sendable, Equatable {
    /// A built-in set (``BuiltinDatasets/names``); empty when ``upload`` names the data.
    public var name: String
    /// An uploaded set: the server's data-set id (`POST /v1/datasets`), or for the CLI the path of a
    /// folder made by ``UploadedDataset/inspect(folder:format:name:pixelMax:limits:)``.
    public var upload: String?
    /// Fraction of the training split held out for validation (default 0.1; 0 evaluates on test only).
    public var validation: Double?
    /// Random crop and flip for image sets (default: on for cifar10, off otherwise).
    public var augment: Bool?
    /// Text sets: tokens per sample.
    public var sequenceLength: Int?

    enum CodingKeys: String, CodingKey {
        case name, upload, validation, augment
        case sequenceLength = "sequence_length"
    }

    public init(name: String, upload: String? = nil, validation: Double? = nil, augment: Bool? = nil, sequenceLength: Int? = nil) {
        self.name = name
        self.upload = upload
        self.validation = validation
        self.augment = augment
        self.sequenceLength = sequenceLength
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        upload = try c.decodeIfPresent(String.self, forKey: .upload)
        name = try upload == nil ? c.decode(String.self, forKey: .name) : (c.decodeIfPresent(String.self, forKey: .name) ?? "")
        validation = try c.decodeIfPresent(Double.self, forKey: .validation)
        augment = try c.decodeIfPresent(Bool.self, forKey: .augment)
        sequenceLength = try c.decodeIfPresent(Int.self, forKey: .sequenceLength)
    }
}

/// `bonsai train`'s input: one dense training run.
public struct TrainSpec: Codable, Sendable, Equatable {
    public var model: ModelSpec
    public var dataset: DatasetSpec
    public var train: TrainingConfig
    public var seed: UInt64?
    public var threads: Int?

    public init(model: ModelSpec, dataset: DatasetSpec, train: TrainingConfig, seed: UInt64? = nil, threads: Int? = nil) {
        self.model = model
        self.dataset = dataset
        self.train = train
        self.seed = seed
        self.threads = threads
    }

    public func validate() throws {
        try train.validate()
        if let threads, !(1...256).contains(threads) {
            throw TrainingError.invalidConfig(field: "threads", detail: "must be in 1…256")
        }
    }
}
