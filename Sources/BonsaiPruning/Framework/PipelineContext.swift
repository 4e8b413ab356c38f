/// Everything a pruning method works with, and the bookkeeping that makes its pipeline durable.
///
/// A method's `run` is a sequence of named ``phase(_:_:)`` blocks. When a job resumes from a
/// snapshot, phases already completed are skipped (their effects are in the restored model, masks
/// and stash), and the training run that was in progress continues from its checkpoint, so the
/// final result equals that of an uninterrupted run. Phase names must be unique within a run and a
/// phase may contain at most one ``train(_:hooks:optimizer:)`` call.
public final class PipelineContext {
    public let model: any Model
    public let data: PreparedData
    public let spec: PipelineSpec
    public let cancellation: CancellationFlag?
    /// Method state that must survive a resume (e.g. a lottery ticket's initial weights).
    public var stash: [String: Tensor] = [:]
    /// Small method state (strings) that must survive a resume.
    public var notes: [String: String] = [:]
    /// Called right before every snapshot, so a method can copy live state (e.g. score tensors that
    /// its optimizer updates in place) into ``stash``.
    public var beforeSnapshot: (() -> Void)?
    public private(set) var events: [PruningEvent] = []
    public private(set) var completedPhases: [String] = []
    public private(set) var currentPhase: String?
    /// Steps completed over all phases.
    public private(set) var pipelineStep = 0
    /// Epoch metrics of every training phase, by phase.
    public private(set) var history: [(phase: String, metrics: EpochMetrics)] = []
    /// The prunable parameters (resolved once, in registration order).
    public let prunablePaths: [String]

    private let report: (PipelineEvent) -> Void
    private let store: PipelineStore?
    private var resumeCheckpoint: Checkpoint?
    private var phasePlan: [String: Int] = [:]

    public init(model: any Model, data: PreparedData, spec: PipelineSpec, prunable: PrunableSet = PrunableSet(),
                store: PipelineStore? = nil, cancellation: CancellationFlag? = nil,
                events: @escaping (PipelineEvent) -> Void = { _ in }) throws {
        self.model = model
        self.data = data
        self.spec = spec
        self.cancellation = cancellation
        self.report = events
        self.store = store
        self.prunablePaths = try prunable.resolve(in: model)
    }

    // MARK: Phases

    /// Runs `body` as the phase `name` unless a restored snapshot says it is already done.
    public func phase(_ name: String, _ body: () throws -> Void) throws {
        precondition(currentPhase == nil, "PipelineContext.phase(\(name)): phases do not nest (inside \(currentPhase!))")
        if completedPhases.contains(name) { return }
        if let cancellation, cancellation.isCancelled { throw TrainingError.cancelled(at: TrainingPosition(step: pipelineStep)) }
        currentPhase = name
        defer { currentPhase = nil }
        report(.phaseStarted(name: name, plannedSteps: phasePlan[name] ?? 0))
        try body()
        completedPhases.append(name)
        currentPhase = nil
        try saveSnapshot(inProgress: nil, trainer: nil)
        report(.phaseCompleted(name: name))
    }

    /// Trains the model with `config` inside the current phase, reporting metrics and saving
    /// resumable checkpoints (every `checkpoint_every` steps and every epoch).
    ///
    /// `variant` can start the run part-way through `config` (at `startStep`, so the learning-rate
    /// schedule and data order are at their state of that step, as rewinding needs), replay another
    /// phase's data order (`dataSeed`), or train on other samples (`dataset`, e.g. random labels).
    @discardableResult
    public func train(_ config: TrainingConfig, hooks: TrainingHooks = TrainingHooks(),
                      optimizer: (any Optimizer)? = nil, variant: TrainingVariant = TrainingVariant()) throws -> [EpochMetrics] {
        guard let phase = currentPhase else { preconditionFailure("PipelineContext.train outside a phase") }
        // Each phase shuffles with its own seed, so fine-tuning does not replay pretraining's order.
        let phaseSeed = variant.dataSeed ?? (spec.seed &+ UInt64(completedPhases.count) &* 1_000_003)
        var loaderConfig = data.loader.config
        loaderConfig.batchSize = config.batchSize
        loaderConfig.seed = phaseSeed
        let loader = try DataLoader(dataset: variant.dataset ?? data.loader.dataset, config: loaderConfig)
        let trainer = try Trainer(model: model, config: config, seed: phaseSeed, optimizer: optimizer)
        trainer.hooks = hooks
        if let checkpoint = resumeCheckpoint {
            try trainer.resume(from: checkpoint)
            resumeCheckpoint = nil
        } else if variant.startStep > 0 {
            let perEpoch = loader.batchesPerEpoch
            let start = TrainingPosition(epoch: variant.startStep / perEpoch, batchIndex: variant.startStep % perEpoch,
                                         step: variant.startStep)
            try trainer.resume(from: Checkpoint.capture(model: model, optimizer: trainer.optimizer, position: start, rng: trainer.rng))
        }
        let startStep = pipelineStep - trainer.position.step
        let epochs = try trainer.run(data: loader, evaluation: data.validation ?? data.test, cancellation: cancellation) { event in
            switch event {
            case let .step(metrics):
                pipelineStep = startStep + metrics.step + 1
                report(.step(phase: phase, pipelineStep: pipelineStep, metrics: metrics))
            case let .epoch(metrics):
                history.append((phase, metrics))
                report(.epoch(phase: phase, metrics: metrics))
            case let .checkpoint(checkpoint):
                try saveSnapshot(inProgress: phase, trainer: checkpoint)
            }
        }
        return epochs
    }

    // MARK: Masks and evaluation

    /// Accuracy and loss on the evaluation set (validation when held out, else test).
    public func evaluate() -> EvaluationResult { Evaluation.run(model, batches: data.validation ?? data.test) }

    /// Accuracy and loss on the test set.
    public func evaluateTest() -> EvaluationResult { Evaluation.run(model, batches: data.test) }

    /// The masks currently on the model, over the prunable set (all ones where none is set).
    public var currentMasks: MaskSet {
        var masks = MaskSet.dense(model, paths: prunablePaths).masks
        for (path, mask) in MaskSet(model: model).masks { masks[path] = mask }
        return MaskSet(masks)
    }

    /// Sparsity of the prunable set.
    public var sparsity: Double { currentMasks.sparsity }

    /// Applies `masks` on top of the current ones (never reviving a weight), measuring the
    /// accuracy right before and after: the pruning event's instability (§15).
    @discardableResult
    public func prune(_ masks: MaskSet, event name: String) throws -> PruningEvent {
        let before = evaluate().accuracy
        try masks.apply(to: model)
        let after = evaluate().accuracy
        let event = PruningEvent(name: name, phase: currentPhase ?? "", step: pipelineStep, sparsity: sparsity,
                                 accuracyBefore: before, accuracyAfter: after)
        events.append(event)
        report(.pruned(event))
        return event
    }

    /// The prunable tensors' values as flat Double arrays (for scorers).
    public func weights() -> ScoreSet {
        ScoreSet(prunablePaths.map { ($0, model.parameter(at: $0)!.value.doubles) })
    }

    public func message(_ text: String) { report(.message(text)) }

    // MARK: Snapshots

    /// Restores the newest snapshot of the store, if any. Called once before `run`.
    public func restore() throws {
        guard let snapshot = try store?.latest() else { return }
        let c = snapshot.checkpoint
        try model.loadStateDict(c.model, counters: c.counters)
        for (path, parameter) in model.namedParameters() { parameter.mask = c.masks[path] }
        stash = c.attachments
        notes = snapshot.notes
        events = snapshot.events
        completedPhases = snapshot.completedPhases
        pipelineStep = snapshot.pipelineStep
        if snapshot.phaseInProgress != nil { resumeCheckpoint = c }
        report(.checkpointed(phase: snapshot.phaseInProgress, step: snapshot.pipelineStep))
        report(.message("resumed after \(completedPhases.count) completed phase(s) at pipeline step \(pipelineStep)"))
    }

    func setPlan(_ plan: [PlannedPhase]) {
        phasePlan = Dictionary(plan.map { ($0.name, $0.steps) }, uniquingKeysWith: +)
    }

    private func saveSnapshot(inProgress phase: String?, trainer checkpoint: Checkpoint?) throws {
        guard let store else { return }
        beforeSnapshot?()
        var c = checkpoint ?? Checkpoint.capture(model: model, optimizer: NoOptimizer(), position: TrainingPosition(),
                                                 rng: RandomGenerator(seed: spec.seed))
        c.attachments = stash
        let snapshot = PipelineSnapshot(completedPhases: completedPhases, phaseInProgress: phase, pipelineStep: pipelineStep,
                                        events: events, notes: notes, checkpoint: c)
        try store.save(snapshot)
        report(.checkpointed(phase: phase, step: pipelineStep))
    }
}

/// A stand-in optimizer for snapshots taken between training runs (no state to save).
final class NoOptimizer: Optimizer {
    var groups: [ParameterGroup] = []
    var learningRateFactor = 1.0
    var stepCount = 0
    func step() {}
    func state() -> OptimizerState { OptimizerState(step: 0, tensors: [:]) }
    func load(_ state: OptimizerState) throws {}
}
