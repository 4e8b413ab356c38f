/// The outcome of a pipeline.
public struct PipelineResult: @unchecked Sendable {
    public var test: EvaluationResult
    public var masks: MaskSet
    public var events: [PruningEvent]
    public var history: [(phase: String, metrics: EpochMetrics)]
    public var phases: [String]
    /// The method's notes (e.g. HYDRA's robust accuracy).
    public var notes: [String: String]
    /// The method's stashed tensors (e.g. the runtime gates and agents of `runtime-channel-rl`).
    public var stash: [String: Tensor] = [:]
}

/// Runs a configured method over a spec: restores any snapshot, plans, runs, and evaluates on the
/// test set.
public enum PipelineRunner {
    /// Runs `spec` on already prepared data and a built model.
    public static func run(spec: PipelineSpec, model: any Model, data: PreparedData, store: PipelineStore? = nil,
                           cancellation: CancellationFlag? = nil, prunable: PrunableSet? = nil,
                           events: @escaping (PipelineEvent) -> Void = { _ in }) throws -> PipelineResult {
        let method = try spec.method()
        let context = try PipelineContext(model: model, data: data, spec: spec, prunable: prunable ?? method.prunableSet,
                                          store: store, cancellation: cancellation, events: events)
        try context.restore()
        context.setPlan(method.plan(context))
        try method.run(context)
        return PipelineResult(test: context.evaluateTest(), masks: context.currentMasks, events: context.events,
                              history: context.history, phases: context.completedPhases, notes: context.notes,
                              stash: context.stash)
    }

    /// Loads the data and builds the model of `spec` (with its starting weights), then runs it.
    /// `resolve` maps an uploaded data set's id and a `weights` id to file paths (default: they are
    /// paths already, as in the CLI).
    public static func run(spec: PipelineSpec, directory: DataDirectory? = nil, store: PipelineStore? = nil,
                           cancellation: CancellationFlag? = nil, resolve: UploadResolver = UploadResolver(),
                           events: @escaping (PipelineEvent) -> Void = { _ in }) throws -> (model: any Model, data: PreparedData, result: PipelineResult) {
        let (model, data) = try prepare(spec, directory: directory, resolve: resolve)
        let result = try run(spec: spec, model: model, data: data, store: store, cancellation: cancellation, events: events)
        return (model, data, result)
    }
}

/// Maps the ids of uploaded data sets and weights named in a spec to paths.
public struct UploadResolver: Sendable {
    public var datasetFolder: @Sendable (String) throws -> String
    public var weightsFile: @Sendable (String) throws -> String

    public init(datasetFolder: @escaping @Sendable (String) throws -> String = { $0 },
                weightsFile: @escaping @Sendable (String) throws -> String = { $0 }) {
        self.datasetFolder = datasetFolder
        self.weightsFile = weightsFile
    }
}

extension PipelineRunner {
    /// The data of `spec` and its model: seeded initialisation, then the starting weights if the
    /// spec names any (strict: every name and shape must match, as PyTorch's `strict=True`).
    public static func prepare(_ spec: PipelineSpec, directory: DataDirectory? = nil,
                               resolve: UploadResolver = UploadResolver()) throws -> (model: any Model, data: PreparedData) {
        let data = try PreparedData.load(spec.dataset, batchSize: spec.train.batchSize, seed: spec.seed, directory: directory,
                                         uploadFolder: resolve.datasetFolder)
        let model = try data.makeModel(spec.model, seed: spec.seed)
        if let weights = spec.weights { try model.loadStateDict(from: resolve.weightsFile(weights)) }
        return (model, data)
    }
}

extension PruningMethod {
    /// The method's prunable set (from its settings when they have a `prunable` field).
    public var prunableSet: PrunableSet { (settings as? HasPrunableSet)?.prunable ?? PrunableSet() }
}

/// Settings that let the user choose the prunable set.
public protocol HasPrunableSet {
    var prunable: PrunableSet? { get }
}

extension PipelineContext {
    /// Optimizer steps of a training config on this context's data.
    public func steps(_ config: TrainingConfig) -> Int {
        let perEpoch = (data.loader.dataset.count + config.batchSize - 1) / config.batchSize
        return config.totalSteps(batchesPerEpoch: perEpoch)
    }
}
