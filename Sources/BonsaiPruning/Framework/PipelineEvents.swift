/// One application of a mask during a pipeline, with the generalization–stability measure of
/// Bartoldson et al. (METHODS.md §15): `instability = (acc_pre − acc_post) / acc_pre`, where the
/// accuracies are measured on the evaluation set right before and right after the masks change.
public struct PruningEvent: Codable, Sendable, Equatable {
    public var name: String
    public var phase: String
    /// Optimizer steps completed in the pipeline when the event happened.
    public var step: Int
    /// Sparsity of the prunable set after the event.
    public var sparsity: Double
    public var accuracyBefore: Double
    public var accuracyAfter: Double

    /// `(acc_pre − acc_post) / acc_pre` (0 when acc_pre is 0).
    public var instability: Double { PruningEvent.instability(before: accuracyBefore, after: accuracyAfter) }
    /// `100 · (1 − instability)`.
    public var stability: Double { 100 * (1 - instability) }

    public static func instability(before: Double, after: Double) -> Double {
        before > 0 ? (before - after) / before : 0
    }

    enum CodingKeys: String, CodingKey {
        case name, phase, step, sparsity, instability
        case accuracyBefore = "accuracy_before"
        case accuracyAfter = "accuracy_after"
    }

    public init(name: String, phase: String, step: Int, sparsity: Double, accuracyBefore: Double, accuracyAfter: Double) {
        self.name = name; self.phase = phase; self.step = step; self.sparsity = sparsity
        self.accuracyBefore = accuracyBefore; self.accuracyAfter = accuracyAfter
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), phase: try c.decode(String.self, forKey: .phase),
                  step: try c.decode(Int.self, forKey: .step), sparsity: try c.decode(Double.self, forKey: .sparsity),
                  accuracyBefore: try c.decode(Double.self, forKey: .accuracyBefore),
                  accuracyAfter: try c.decode(Double.self, forKey: .accuracyAfter))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name); try c.encode(phase, forKey: .phase); try c.encode(step, forKey: .step)
        try c.encode(sparsity, forKey: .sparsity); try c.encode(accuracyBefore, forKey: .accuracyBefore)
        try c.encode(accuracyAfter, forKey: .accuracyAfter); try c.encode(instability, forKey: .instability)
    }
}

/// What a pipeline reports while it runs (the job server records these as phases, metrics and events).
public enum PipelineEvent: @unchecked Sendable {
    case phaseStarted(name: String, plannedSteps: Int)
    /// A training step; `pipelineStep` counts steps over all phases (for progress and ETA).
    case step(phase: String, pipelineStep: Int, metrics: StepMetrics)
    case epoch(phase: String, metrics: EpochMetrics)
    case pruned(PruningEvent)
    case phaseCompleted(name: String)
    /// A snapshot was persisted; metrics of `phase` after `step` must be dropped on resume.
    case checkpointed(phase: String?, step: Int)
    case message(String)
}
