import Synchronization

/// A flag another thread sets to stop a run; the trainer checks it before every step.
public final class CancellationFlag: Sendable {
    private let state = Atomic<Bool>(false)
    public init() {}
    public func cancel() { state.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { state.load(ordering: .relaxed) }
}

/// What a training run reports as it goes.
public enum TrainingEvent: @unchecked Sendable {
    case step(StepMetrics)
    case epoch(EpochMetrics)
    /// A consistent snapshot to persist (every `checkpoint_every` steps and at every epoch end).
    case checkpoint(Checkpoint)
}

public struct StepMetrics: Codable, Sendable, Equatable {
    public var step: Int, epoch: Int, batchIndex: Int
    public var loss: Double, accuracy: Double, learningRate: Double
    /// Training throughput over this step.
    public var examplesPerSecond: Double
}

public struct EpochMetrics: Codable, Sendable, Equatable {
    public var epoch: Int, step: Int
    public var trainLoss: Double, trainAccuracy: Double
    public var evaluation: EvaluationResult?
}

/// A custom training loss: the value to minimise, and the logits and labels (default: the batch's)
/// that the reported batch accuracy is computed on.
public struct CustomLoss {
    public var loss: Tensor
    public var logits: Tensor
    public var labels: [Int]?

    public init(loss: Tensor, logits: Tensor, labels: [Int]? = nil) {
        self.loss = loss
        self.logits = logits
        self.labels = labels
    }
}

/// Hooks pruning methods attach to a training phase.
public struct TrainingHooks {
    /// A term added to the loss (e.g. the L1 penalty on BN scales of network slimming).
    public var regularizer: ((any Model) -> Tensor?)?
    /// Replaces the cross-entropy of the batch's logits (e.g. an adversarial or masked-language-model
    /// loss); returns the loss, and the logits and labels the batch accuracy is reported on.
    public var loss: ((LabeledBatch, ForwardContext) -> CustomLoss)?
    /// Called after `backward()` and before the optimizer step (e.g. to edit gradients).
    public var afterBackward: ((TrainingPosition) throws -> Void)?
    /// Called after each optimizer step (e.g. gradual pruning updating masks on its schedule).
    public var afterStep: ((TrainingPosition) throws -> Void)?

    public init(regularizer: ((any Model) -> Tensor?)? = nil, afterBackward: ((TrainingPosition) throws -> Void)? = nil,
                afterStep: ((TrainingPosition) throws -> Void)? = nil) {
        self.regularizer = regularizer
        self.afterBackward = afterBackward
        self.afterStep = afterStep
    }
}

/// The training loop: mini-batch SGD-style training with a learning-rate schedule, per-step and
/// per-epoch metrics, evaluation, cooperative cancellation and exact resumption.
///
/// Determinism: batches are a pure function of the position, the dropout stream is one generator
/// saved in checkpoints, and kernels split work identically for a given thread count, so resuming
/// from a checkpoint yields bit-identical weights to an uninterrupted run at the same thread count.
public final class Trainer {
    public let model: any Model
    public let optimizer: any Optimizer
    public let config: TrainingConfig
    public var hooks = TrainingHooks()
    public private(set) var position = TrainingPosition()
    public private(set) var rng: RandomGenerator
    /// The current epoch's running sums (loss·n, correct·n, n), saved in checkpoints so that an epoch
    /// resumed mid-way reports the same train loss and accuracy as an uninterrupted one.
    private var epochLoss = 0.0, epochCorrect = 0.0, epochExamples = 0
    static let epochSumsKey = "trainer.epoch_sums"

    public init(model: any Model, config: TrainingConfig, seed: UInt64, optimizer: (any Optimizer)? = nil) throws {
        try config.validate()
        self.model = model
        self.config = config
        self.optimizer = try optimizer ?? config.optimizer.make(parameters: model.namedParameters().filter { $0.parameter.trainable })
        self.rng = RandomGenerator(seed: seed ^ 0x5EED_D80F)
    }

    /// Continues from `checkpoint` (restoring the model, optimizer, random stream and position).
    public func resume(from checkpoint: Checkpoint) throws {
        rng = try checkpoint.restore(into: model, optimizer: optimizer)
        position = checkpoint.position
        let sums = checkpoint.extra[Self.epochSumsKey]?.split(separator: " ").compactMap { UInt64($0) } ?? []
        (epochLoss, epochCorrect, epochExamples) = sums.count == 3
            ? (Double(bitPattern: sums[0]), Double(bitPattern: sums[1]), Int(sums[2])) : (0, 0, 0)
    }

    public func checkpoint(extra: [String: String] = [:]) -> Checkpoint {
        var extra = extra
        extra[Self.epochSumsKey] = "\(epochLoss.bitPattern) \(epochCorrect.bitPattern) \(epochExamples)"
        return Checkpoint.capture(model: model, optimizer: optimizer, position: position, rng: rng, extra: extra)
    }

    /// Trains until the configured length, reporting through `events`.
    @discardableResult
    public func run(data: any BatchProvider, evaluation: [LabeledBatch]? = nil, cancellation: CancellationFlag? = nil,
                    events: (TrainingEvent) throws -> Void = { _ in }) throws -> [EpochMetrics] {
        let perEpoch = data.batchesPerEpoch
        guard perEpoch > 0 else { throw TrainingError.emptyData }
        let total = config.totalSteps(batchesPerEpoch: perEpoch)
        var epochs: [EpochMetrics] = []
        let clock = ContinuousClock()
        while position.step < total {
            if let cancellation, cancellation.isCancelled { throw TrainingError.cancelled(at: position) }
            let unit = config.schedulePerStep == true ? position.step : position.epoch
            optimizer.learningRateFactor = config.schedule?.factor(at: unit) ?? 1
            let started = clock.now
            let batch = try data.batch(epoch: position.epoch, index: position.batchIndex)
            let (loss, accuracy) = try trainStep(batch)
            let seconds = Swift.max((clock.now - started).seconds, 1e-9)
            epochLoss += loss * Double(batch.count)
            epochCorrect += accuracy * Double(batch.count)
            epochExamples += batch.count
            let lr = (optimizer.groups.first?.learningRate ?? 0) * optimizer.learningRateFactor
            try events(.step(StepMetrics(step: position.step, epoch: position.epoch, batchIndex: position.batchIndex,
                                         loss: loss, accuracy: accuracy, learningRate: lr,
                                         examplesPerSecond: Double(batch.count) / seconds)))
            position.step += 1
            position.batchIndex += 1
            try hooks.afterStep?(position)
            let epochEnded = position.batchIndex == perEpoch
            if epochEnded || position.step == total {
                let result = evaluation.map { Evaluation.run(model, batches: $0) }
                let metrics = EpochMetrics(epoch: position.epoch, step: position.step,
                                           trainLoss: epochLoss / Double(Swift.max(epochExamples, 1)),
                                           trainAccuracy: epochCorrect / Double(Swift.max(epochExamples, 1)), evaluation: result)
                epochs.append(metrics)
                try events(.epoch(metrics))
                epochLoss = 0; epochCorrect = 0; epochExamples = 0
            }
            if epochEnded {
                position.epoch += 1
                position.batchIndex = 0
            }
            if epochEnded || (config.checkpointEvery.map { position.step % $0 == 0 } ?? false) {
                try events(.checkpoint(checkpoint()))
            }
        }
        return epochs
    }

    /// One forward, backward and optimizer step; returns the batch loss and accuracy.
    public func trainStep(_ batch: LabeledBatch) throws -> (loss: Double, accuracy: Double) {
        let context = ForwardContext(training: true, rng: rng)
        var loss: Tensor, logits: Tensor, labels = batch.labels
        if let custom = hooks.loss {
            let result = Engine.withGrad { custom(batch, context) }
            (loss, logits, labels) = (result.loss, result.logits, result.labels ?? batch.labels)
        } else {
            logits = Engine.withGrad { model.forward(batch.input, context: context) }
            loss = crossEntropy(logits: logits, labels: batch.labels, labelSmoothing: config.labelSmoothing ?? 0)
        }
        rng = context.rng
        let lossValue = loss.item
        if let penalty = hooks.regularizer?(model) { loss = loss + penalty }
        let total = loss.item
        guard total.isFinite else { throw TrainingError.diverged(step: position.step, loss: total) }
        optimizer.zeroGrad()
        loss.backward()
        let accuracy = Evaluation.accuracy(logits: logits.detached(), labels: labels)
        // Release the forward graph before the update: it references the parameters' storage,
        // which the optimizer would otherwise have to copy before updating it in place.
        (loss, logits) = (Tensor.zeros([]), Tensor.zeros([]))
        try hooks.afterBackward?(position)
        optimizer.step()
        return (lossValue, accuracy)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
