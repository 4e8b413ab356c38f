/// One training phase as a job spec states it:
/// `{"epochs": 2, "batch_size": 128, "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}}`.
public struct TrainingConfig: Codable, Sendable, Equatable {
    /// Length in epochs, or in optimizer steps when `steps` is set (steps win).
    public var epochs: Int?
    public var steps: Int?
    public var batchSize: Int
    public var optimizer: OptimizerConfig
    public var schedule: LearningRateSchedule?
    /// Whether the schedule counts epochs (default) or steps.
    public var schedulePerStep: Bool?
    public var labelSmoothing: Double?
    /// A checkpoint every this many steps (also one at every epoch end).
    public var checkpointEvery: Int?

    enum CodingKeys: String, CodingKey {
        case epochs, steps, optimizer, schedule
        case batchSize = "batch_size"
        case schedulePerStep = "schedule_per_step"
        case labelSmoothing = "label_smoothing"
        case checkpointEvery = "checkpoint_every"
    }

    public init(epochs: Int? = 1, steps: Int? = nil, batchSize: Int = 128, optimizer: OptimizerConfig = .init(),
                schedule: LearningRateSchedule? = nil, schedulePerStep: Bool? = nil, labelSmoothing: Double? = nil,
                checkpointEvery: Int? = nil) {
        self.epochs = epochs; self.steps = steps; self.batchSize = batchSize; self.optimizer = optimizer
        self.schedule = schedule; self.schedulePerStep = schedulePerStep; self.labelSmoothing = labelSmoothing
        self.checkpointEvery = checkpointEvery
    }

    /// Checks every field, naming the offending one.
    public func validate() throws {
        guard epochs != nil || steps != nil else { throw TrainingError.invalidConfig(field: "epochs", detail: "give epochs or steps") }
        if let epochs, !(0...10_000).contains(epochs) { throw TrainingError.invalidConfig(field: "epochs", detail: "must be in 0…10000") }
        if let steps, !(0...100_000_000).contains(steps) { throw TrainingError.invalidConfig(field: "steps", detail: "must be in 0…10⁸") }
        guard (1...65_536).contains(batchSize) else { throw TrainingError.invalidConfig(field: "batch_size", detail: "must be in 1…65536") }
        if let labelSmoothing, !(0..<1).contains(labelSmoothing) {
            throw TrainingError.invalidConfig(field: "label_smoothing", detail: "must be in [0, 1)")
        }
        if let checkpointEvery, checkpointEvery < 1 { throw TrainingError.invalidConfig(field: "checkpoint_every", detail: "must be ≥ 1") }
        do { try optimizer.validate(); try schedule?.validate() } catch let error as OptimizerError {
            if case let .invalidSetting(field, detail) = error { throw TrainingError.invalidConfig(field: "optimizer.\(field)", detail: detail) }
            throw error
        }
    }

    /// Total optimizer steps for a data source with `batchesPerEpoch` batches.
    public func totalSteps(batchesPerEpoch: Int) -> Int {
        steps ?? (epochs ?? 0) * batchesPerEpoch
    }
}

public enum TrainingError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidConfig(field: String, detail: String)
    case cancelled(at: TrainingPosition)
    case diverged(step: Int, loss: Double)
    case emptyData

    public var description: String {
        switch self {
        case let .invalidConfig(field, detail): return "training config \(field): \(detail)"
        case let .cancelled(position): return "cancelled at epoch \(position.epoch), step \(position.step)"
        case let .diverged(step, loss): return "training diverged at step \(step): loss is \(loss)"
        case .emptyData: return "the training data has no batches"
        }
    }
}
